"""The alert use cases the CLI and the console call: list, show (with the changes, actor and
source of each hit), resolve and dismiss (who, why and when are kept, and audited)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dirguard.core.threats.model import Severity
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard.services.threats.store_facts import events_query, facts_of
from dirguard.store.audit import record_audit
from dirguard.store.models import ChangeEvent
from dirguard.store.models_alerts import ALERT_STATES, Alert, ThreatHit


def alert_dict(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "rule": alert.rule_id,
        "title": alert.title,
        "severity": alert.severity,
        "directory": alert.directory,
        "source": alert.source,
        "status": alert.status,
        "summary": alert.summary,
        "actor": alert.actor,
        "actor_address": alert.actor_address,
        "target": alert.target,
        "group": alert.group_key,
        "count": alert.hit_count,
        "first_seen": alert.first_seen.isoformat(),
        "last_seen": alert.last_seen.isoformat(),
        "undo": alert.undo,
        "notifications": alert.notifications,
        "state_by": alert.state_by,
        "state_reason": alert.state_reason,
        "state_at": None if alert.state_at is None else alert.state_at.isoformat(),
        **alert.details,
    }


@dataclass(frozen=True, kw_only=True)
class AlertQuery:
    status: str | None = "open"
    """``open``, ``resolved``, ``dismissed`` or ``None`` for all."""
    min_severity: str | None = None
    rule: str | None = None
    limit: int = 200


def list_alerts(runtime: Runtime, query: AlertQuery) -> list[dict[str, Any]]:
    if query.status is not None and query.status not in ALERT_STATES:
        raise ServiceError(f"status {query.status!r}: one of {', '.join(ALERT_STATES)}")
    chosen = None
    if query.min_severity is not None:
        try:
            chosen = Severity(query.min_severity)
        except ValueError:
            names = ", ".join(s.value for s in Severity)
            raise ServiceError(f"severity {query.min_severity!r}: one of {names}") from None
    statement = select(Alert).order_by(Alert.last_seen.desc(), Alert.id.desc())
    if query.status is not None:
        statement = statement.where(Alert.status == query.status)
    if query.rule is not None:
        statement = statement.where(Alert.rule_id == query.rule)
    if chosen is not None:
        wanted = [s.value for s in Severity if s.rank >= chosen.rank]
        statement = statement.where(Alert.severity.in_(wanted))
    with runtime.sessions() as session:
        rows = session.scalars(statement.limit(max(1, min(query.limit, 10000))))
        return [alert_dict(a) for a in rows]


def _alert(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise ServiceError(
            f"no alert {alert_id}; `dirguard alerts list` shows them", Problem.NOT_FOUND
        )
    return alert


def show_alert(runtime: Runtime, alert_id: int) -> dict[str, Any]:
    """The alert with each change that makes it up (old and new value, actor, address)."""
    with runtime.sessions() as session:
        alert = _alert(session, alert_id)
        rows = session.execute(
            events_query()
            .join(ThreatHit, ThreatHit.event_id == ChangeEvent.id)
            .where(ThreatHit.alert_id == alert_id)
            .order_by(ChangeEvent.sequence)
        ).all()
        return {**alert_dict(alert), "changes": [facts_of(e, o).as_dict() for e, o in rows]}


def set_state(runtime: Runtime, alert_id: int, status: str, reason: str) -> dict[str, Any]:
    """Resolve or dismiss an open alert on behalf of the runtime's principal (audited)."""
    if status not in ("resolved", "dismissed"):
        raise ServiceError(f"status {status!r}: resolved or dismissed")
    if not reason.strip():
        raise ServiceError("give a reason (--reason): it is kept with the alert")
    with runtime.sessions.begin() as session:
        alert = _alert(session, alert_id)
        if alert.status != "open":
            raise ServiceError(
                f"alert {alert_id} is already {alert.status} (by {alert.state_by})",
                Problem.CONFLICT,
            )
        alert.status = status
        alert.state_by = runtime.principal
        alert.state_reason = reason.strip()
        alert.state_at = runtime.clock()
        record_audit(
            session,
            runtime.principal,
            f"alerts.{status.removesuffix('d').removesuffix('e')}",
            f"alert {alert_id}",
            {"rule": alert.rule_id, "reason": alert.state_reason},
            "succeeded",
        )
        session.flush()
        return alert_dict(alert)
