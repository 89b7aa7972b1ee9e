"""Auto-undo of protected objects: a change matching a rule with ``auto_undo`` is put back at
once through the normal rollback path — a plan for that one event, applied step by step with
the rights check, just-in-time elevation in read-only mode and a read-back of each step
(:func:`dirguard.services.rollback.apply_cases.apply_stored`) — and audited.

Never undone: dirguard's own writes (``actor_source = dirguard``, see
:mod:`dirguard.services.rollback.own_writes`), changes by an actor on the rule's allow-list,
and an object's attribute (for a link, the same value) dirguard already put back
``loop_limit`` times within ``loop_window`` (another tool writes the opposite): then dirguard
stops and says so on the alert instead of looping.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from dirguard.core.threats.checks import glob_match
from dirguard.core.threats.model import EventFacts, Rule
from dirguard.providers.base import source_name
from dirguard.services.errors import ServiceError
from dirguard.services.rollback.own_writes import ACTOR_SOURCE
from dirguard.services.runtime import Runtime
from dirguard.store.audit import record_audit
from dirguard.store.models import AuditRecord

log = logging.getLogger(__name__)

ACTION = "threats.auto-undo"


def undo_principal(rule: Rule) -> str:
    return f"auto-undo ({rule.id})"


def _target(event: EventFacts) -> str:
    """What the loop guard counts undos of: the object's attribute, and for a link value the
    value too (undoing three different members' additions is no loop; the same member written
    back again and again is)."""
    target = f"{event.source}#{event.object_id}:{event.attribute or ''}"
    if event.op in ("add-value", "remove-value"):
        value = event.new_value if event.op == "add-value" else event.old_value
        target = f"{target}={value}"
    return target[:1024]


def skip_reason(rule: Rule, event: EventFacts, protected: bool) -> str | None:
    """Why this match is not undone, or ``None`` when it is to be. ``protected``: the object
    is one the rule's auto-undo protects (by name, first name or SID, see
    :func:`dirguard.core.threats.evaluate.protects`)."""
    undo = rule.auto_undo
    if event.actor_source == ACTOR_SOURCE:
        return "dirguard's own write"
    if not protected:
        return "not a protected object of the rule"
    if event.actor and undo.allow_actors and glob_match(event.actor, undo.allow_actors):
        return f"actor {event.actor} is on the rule's allow-list"
    if event.directory not in ("ad", "entra"):
        return f"auto-undo of {event.directory} changes is not available"
    return None


def _recent_undos(runtime: Runtime, rule: Rule, event: EventFacts, now: datetime) -> int:
    with runtime.sessions() as session:
        return (
            session.scalar(
                select(func.count(AuditRecord.id)).where(
                    AuditRecord.action == ACTION,
                    AuditRecord.target == _target(event),
                    AuditRecord.outcome == "succeeded",
                    AuditRecord.at >= now - rule.auto_undo.loop_window,
                )
            )
            or 0
        )


def _audit(
    runtime: Runtime, rule: Rule, event: EventFacts, details: dict[str, Any], ok: bool
) -> None:
    with runtime.sessions.begin() as session:
        record_audit(
            session,
            undo_principal(rule),
            ACTION,
            _target(event),
            {"rule": rule.id, "event": event.sequence, **details},
            "succeeded" if ok else "failed",
        )


def auto_undo(
    runtime: Runtime, rule: Rule, event: EventFacts, alert_id: int, now: datetime, protected: bool
) -> dict[str, Any] | None:
    """Put ``event`` back if ``rule`` protects it; what happened (stored on the alert), or
    ``None`` when the rule does not auto-undo."""
    from dirguard.services.rollback.apply_cases import ApplyRequest, apply_stored
    from dirguard.services.rollback.plan_cases import ByEvent, PlanRequest, make_plan

    if not rule.auto_undo.enabled:
        return None
    if (reason := skip_reason(rule, event, protected)) is not None:
        return {"status": "not undone", "reason": reason}
    if _recent_undos(runtime, rule, event, now) >= rule.auto_undo.loop_limit:
        reason = (
            f"already put back {rule.auto_undo.loop_limit} times within "
            f"{rule.auto_undo.loop_window}: another tool or person writes it again; "
            "dirguard stopped undoing it"
        )
        log.warning("alert %d: auto-undo stopped: %s", alert_id, reason)
        return {"status": "loop stopped", "reason": reason}
    worker = runtime.acting_as(undo_principal(rule))
    name = source_name(event.source)
    entra = event.directory == "entra"
    started = time.perf_counter()
    try:
        plan = make_plan(
            worker,
            PlanRequest(
                selection=ByEvent(sequence=event.sequence),
                domain=None if entra else name,
                tenant=name if entra else None,
                refresh=False,
                given={"auto_undo": rule.id, "alert": alert_id, "event": event.sequence},
            ),
        )
        if not plan.steps:
            return {"status": "nothing to undo", "plan_id": plan.id}
        planned = time.perf_counter()
        # apply_stored captures right after the write: the store must hold dirguard's
        # removal before the next pass, or the same value written back again between the two
        # would look unchanged to the next DirSync round (measured: skipping it saves ~0.3 s
        # and loses exactly that re-add).
        applied = apply_stored(worker, ApplyRequest(plan_id=plan.id))
        log.debug(
            "alert %d: undo planned in %.0f ms, applied and read back in %.0f ms",
            alert_id,
            (planned - started) * 1000,
            (time.perf_counter() - planned) * 1000,
        )
    except ServiceError as error:
        failed: dict[str, Any] = {"status": "failed", "reason": str(error)}
        _audit(runtime, rule, event, failed, ok=False)
        log.warning("alert %d: auto-undo failed: %s", alert_id, error)
        return failed
    details: dict[str, Any] = {
        "status": "undone" if applied.ok else applied.status,
        "plan_id": plan.id,
        "steps": [s.description for s in plan.steps],
        "elevations": applied.elevations,
        "problems": applied.problems,
    }
    _audit(runtime, rule, event, details, ok=applied.ok)
    return details
