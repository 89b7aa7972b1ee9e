"""Turning hits into stored alerts: a hit is recorded once per rule and event, below the
threshold it waits (``alert_id`` empty), and the decision of
:func:`dirguard.core.threats.incidents.decide` makes a new alert or joins the group's open one.
Exposure hits keep one open alert per rule and object, resolved by dirguard once the object is
no longer exposed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dirguard.core.threats.checks import items_of
from dirguard.core.threats.evaluate import Hit
from dirguard.core.threats.incidents import Action, OpenAlert, decide
from dirguard.core.threats.model import EventFacts, ObjectFacts, Rule
from dirguard.store.models_alerts import Alert, ThreatHit

SELF = "dirguard"


@dataclass(kw_only=True)
class Raised:
    """An alert a pass made or added to, for the notifications and auto-undo after commit."""

    alert_id: int
    rule: Rule
    hit: Hit
    new: bool
    notify: bool


def _shown(value: Any) -> str:
    items = items_of(value)
    if not items:
        return ""
    text = str(items[0]) if len(items) == 1 else f"{items[0]} (+{len(items) - 1})"
    if isinstance(value, dict) and "sddl" in value:
        added = (value.get("difference") or {}).get("aces_added") or []
        text = ", ".join(str(a.get("ace")) for a in added) or "security descriptor"
    return text[:300]


def shown_object(e: EventFacts) -> str | None:
    """What the alert names the object by: its DN in AD; elsewhere (a Graph item path such as
    ``applications/<id>``) its name — display name, UPN — when it has one."""
    if e.directory != "ad" and e.object_name:
        return e.object_name
    return e.shown_path or e.object_name


def shown_state(obj: ObjectFacts) -> str | None:
    """:func:`shown_object` for an exposure check's object."""
    if obj.directory != "ad" and obj.name:
        return obj.name
    return obj.path or obj.name


def summary(hit: Hit) -> str:
    if hit.event is None:
        assert hit.obj is not None
        return f"{hit.rule.title}: {shown_state(hit.obj)}"
    e = hit.event
    what = f"{e.op} {e.attribute or ''}".strip()
    value = _shown(e.new_value if e.new_value is not None else e.old_value)
    if e.op == "delete":  # the values are the DN before and the tombstone's
        what, value = "deleted", ""
    who = e.actor or "an unknown actor"
    where = f" from {e.actor_address}" if e.actor_address else ""
    shown = f" {value}" if value else ""
    return f"{hit.rule.title}: {shown_object(e)} ({what}{shown}) by {who}{where}"


def rule_details(rule: Rule) -> dict[str, Any]:
    return {
        "mitre": list(rule.mitre),
        "rationale": rule.rationale,
        "remediation": rule.remediation,
        "references": list(rule.references),
        "origin": rule.origin,
    }


def _open_alert(session: Session, rule: Rule, key: str, source: str) -> Alert | None:
    return session.scalars(
        select(Alert)
        .where(
            Alert.rule_id == rule.id,
            Alert.group_key == key,
            Alert.source == source,
            Alert.status == "open",
        )
        .order_by(Alert.last_seen.desc())
        .limit(1)
    ).first()


def _new_alert(session: Session, hit: Hit, source: str, now: datetime) -> Alert:
    rule, e = hit.rule, hit.event
    alert = Alert(
        rule_id=rule.id,
        title=rule.title,
        severity=rule.severity.value,
        directory=rule.directory.value,
        source=source,
        group_key=hit.group_key[:1024],
        status="open",
        actor=e.actor if e else None,
        actor_address=e.actor_address if e else None,
        target=shown_object(e) if e else (shown_state(hit.obj) if hit.obj else None),
        summary=summary(hit),
        details=rule_details(rule),
        first_seen=hit.at,
        last_seen=hit.at,
        hit_count=0,
        created_at=now,
        notifications={},
    )
    session.add(alert)
    session.flush()
    return alert


def record_event_hits(session: Session, hits: Sequence[Hit], now: datetime) -> list[Raised]:
    """Store each event hit once; the alerts made or joined (flushes, does not commit)."""
    raised: list[Raised] = []
    for hit in hits:
        e = hit.event
        assert e is not None
        known = session.scalar(
            select(ThreatHit.id).where(
                ThreatHit.rule_id == hit.rule.id, ThreatHit.event_id == e.event_id
            )
        )
        if known is not None:
            continue
        rule = hit.rule
        row = ThreatHit(
            rule_id=rule.id,
            source=e.source,
            group_key=hit.group_key[:1024],
            event_id=e.event_id,
            object_id=e.object_id,
            at=hit.at,
        )
        current = _open_alert(session, rule, row.group_key, e.source)
        pending = list(
            session.scalars(
                select(ThreatHit).where(
                    ThreatHit.rule_id == rule.id,
                    ThreatHit.group_key == row.group_key,
                    ThreatHit.source == e.source,
                    ThreatHit.alert_id.is_(None),
                    ThreatHit.at >= hit.at - rule.threshold.window,
                    ThreatHit.at <= hit.at,
                )
            )
        )
        opened = None
        if current is not None:
            opened = OpenAlert(
                id=current.id, last_seen=current.last_seen, last_notified=current.last_notified
            )
        decision = decide(rule, hit.at, [p.at for p in pending], opened, now)
        session.add(row)
        if decision.action is Action.PENDING:
            session.flush()
            continue
        if decision.action is Action.NEW:
            alert = _new_alert(session, hit, e.source, now)
            members = [*pending, row]
            first = min(m.at for m in members)
            alert.first_seen = first
        else:
            assert current is not None
            alert, members = current, [row]
        for member in members:
            member.alert_id = alert.id
        alert.hit_count += len(members)
        alert.last_seen = max(alert.last_seen, hit.at)
        session.flush()
        raised.append(
            Raised(
                alert_id=alert.id,
                rule=rule,
                hit=hit,
                new=decision.action is Action.NEW,
                notify=decision.notify,
            )
        )
    return raised


def record_exposures(
    session: Session,
    rules: Sequence[Rule],
    hits: Sequence[Hit],
    sources: Sequence[str],
    now: datetime,
) -> tuple[list[Raised], list[int]]:
    """One open alert per exposed (rule, object); open exposure alerts of these rules and
    sources whose object no longer matches are resolved by dirguard. The new alerts and the
    ids resolved."""
    raised: list[Raised] = []
    seen: set[tuple[str, str, str]] = set()
    for hit in hits:
        assert hit.obj is not None
        source = hit.obj.source
        key = hit.group_key[:1024]
        seen.add((hit.rule.id, source, key))
        current = _open_alert(session, hit.rule, key, source)
        if current is not None:
            current.last_seen = now
            continue
        alert = _new_alert(session, hit, source, now)
        alert.hit_count = 1
        session.add(
            ThreatHit(
                rule_id=hit.rule.id,
                source=source,
                group_key=key,
                object_id=hit.obj.object_id,
                at=now,
                alert_id=alert.id,
            )
        )
        raised.append(Raised(alert_id=alert.id, rule=hit.rule, hit=hit, new=True, notify=True))
    resolved: list[int] = []
    ids = [r.id for r in rules]
    for alert in session.scalars(
        select(Alert).where(
            Alert.rule_id.in_(ids), Alert.status == "open", Alert.source.in_(sources)
        )
    ):
        if (alert.rule_id, alert.source, alert.group_key) not in seen:
            alert.status = "resolved"
            alert.state_by = SELF
            alert.state_reason = "no longer exposed (exposure check)"
            alert.state_at = now
            resolved.append(alert.id)
    session.flush()
    return raised, resolved
