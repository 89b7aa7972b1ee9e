"""Planning security descriptor steps from the store (no LDAP: python-ldap is not needed).

A change event of ``nTSecurityDescriptor`` holds SDDL text; :func:`with_descriptor_bytes` adds
the binary descriptors before and after it from dirguard's stored versions of the object (the
newest version captured before the event was observed, and the first one captured with or after
it), which is what :mod:`dirguard.providers.ad.sd.sd_restore` restores from and
:mod:`dirguard.providers.ad.sd.sd_apply` writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.plan.restore_plan import HistoryEvent
from dirguard.providers.ad.sd.sd_restore import ATTRIBUTE
from dirguard.store.models import ChangeEvent, ObjectVersion


def _descriptor(version: ObjectVersion | None) -> bytes | None:
    if version is None:
        return None
    value = next(iter(version.content.get(ATTRIBUTE, [])), None)
    return value if isinstance(value, bytes) else None


def with_descriptor_bytes(
    session: Session, rows: Sequence[tuple[ChangeEvent, Any]], events: Sequence[HistoryEvent]
) -> list[HistoryEvent]:
    """``events`` with the stored binary descriptors around each security descriptor change."""
    by_id = {event.id: event for event, _obj in rows}
    out = []
    for history in events:
        event = by_id.get(history.id)
        if (
            event is None
            or history.op != ChangeOp.MODIFY
            or (history.attribute or "").lower() != ATTRIBUTE.lower()
        ):
            out.append(history)
            continue
        versions = select(ObjectVersion).where(ObjectVersion.object_id == event.object_id)
        before = session.scalars(
            versions.where(ObjectVersion.captured_at < event.observed_at)
            .order_by(ObjectVersion.version.desc())
            .limit(1)
        ).first()
        after = session.scalars(
            versions.where(ObjectVersion.captured_at >= event.observed_at)
            .order_by(ObjectVersion.version)
            .limit(1)
        ).first()
        out.append(replace(history, old_bytes=_descriptor(before), new_bytes=_descriptor(after)))
    return out
