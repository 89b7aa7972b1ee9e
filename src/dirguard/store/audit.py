"""dirguard's own audit log: what it did, on whose behalf, and how it ended.

Like the other repository functions, :func:`record_audit` flushes but does not commit: record an
action in the same transaction as the action's own writes, so one is never stored without the
other.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from dirguard.store.column_types import utcnow
from dirguard.store.models import AuditRecord

SELF = "dirguard"
"""The actor for what dirguard does on its own schedule (snapshots, monitoring)."""


class AuditOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DENIED = "denied"
    """Refused before doing anything (missing permission, approval, consent)."""


def record_audit(
    session: Session,
    actor: str,
    action: str,
    target: str | None,
    details: Mapping[str, Any] | None,
    outcome: AuditOutcome | str,
) -> AuditRecord:
    """Append one audit record. ``details`` may hold bytes; it must not hold secrets."""
    if not actor.strip():
        raise ValueError(f"audit actor is empty; use the person's name or {SELF!r}")
    if not action.strip():
        raise ValueError("audit action is empty; name what was done, e.g. 'rollback.execute'")
    try:
        result = AuditOutcome(outcome)
    except ValueError:
        raise ValueError(
            f"audit outcome {outcome!r}: use one of {', '.join(o.value for o in AuditOutcome)}"
        ) from None
    record = AuditRecord(
        at=utcnow(),
        actor=actor,
        action=action,
        target=target,
        details=dict(details or {}),
        outcome=result.value,
    )
    session.add(record)
    session.flush()
    return record
