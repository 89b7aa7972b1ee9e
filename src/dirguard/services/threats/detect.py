"""Detection right after each ingest: the source's change events the rules have not seen yet
are matched, the hits stored as alerts, and the detection cursor (stream ``threats``) advanced
in the same transaction. Then, after the commit, auto-undo of protected objects and the
notifications (so the notification says what was undone).

An event without an actor waits up to ``threats.actor_grace`` seconds for its audit record
(exclusions and allow-lists go by actor), so the cursor stops before the first such event; the
attributed events after it are matched already, and a hit is stored once per rule and event,
so seeing them again later adds nothing. dirguard's own writes (rollback, auto-undo) are never
matched. A source with no detection cursor yet starts at ``start`` (the monitor's start):
the history before it is for ``dirguard threats scan``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dirguard.core.threats.evaluate import match_events
from dirguard.core.threats.model import EventFacts, Rule
from dirguard.services.rollback.own_writes import ACTOR_SOURCE
from dirguard.services.runtime import Runtime
from dirguard.services.threats.alert_store import Raised, record_event_hits
from dirguard.services.threats.auto_undo import auto_undo, skip_reason
from dirguard.services.threats.notify import notify
from dirguard.services.threats.store_facts import StoreContext, events_after
from dirguard.store.cursors import get_cursor, save_cursor
from dirguard.store.models import ChangeEvent
from dirguard.store.models_alerts import Alert

log = logging.getLogger(__name__)

STREAM = "threats"


@dataclass(kw_only=True)
class DetectReport:
    source: str
    events: int = 0
    held: int = 0
    hits: int = 0
    alerts: list[int] = field(default_factory=list)
    """Alerts made or added to in this pass."""
    new_alerts: list[int] = field(default_factory=list)
    undone: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "events": self.events,
            "held": self.held,
            "hits": self.hits,
            "alerts": self.alerts,
            "new_alerts": self.new_alerts,
            "undone": self.undone,
        }


def own_write(event: EventFacts) -> bool:
    return event.actor_source == ACTOR_SOURCE


def ready_events(
    events: Sequence[EventFacts], grace: timedelta, now: datetime, position: int
) -> tuple[list[EventFacts], int, int]:
    """The events to match now, the new cursor position, and how many wait for their actor."""
    ready: list[EventFacts] = []
    held = 0
    new_position = position
    blocked = False
    for event in events:
        waiting = event.actor is None and now - event.observed_at < grace
        if waiting:
            held += 1
            blocked = True
            continue
        if not blocked:
            new_position = event.sequence
        if not own_write(event):
            ready.append(event)
    return ready, new_position, held


def _start_position(session: Session, source: str, start: datetime | None) -> int:
    query = select(func.max(ChangeEvent.sequence)).where(ChangeEvent.source == source)
    if start is not None:
        query = query.where(ChangeEvent.observed_at < start)
    return session.scalar(query) or 0


def respond(
    runtime: Runtime, raised: Sequence[Raised], now: datetime, *, undo: bool = True
) -> list[int]:
    """Notify, then auto-undo, then notify what the undo did; the alerts that were undone.

    The alert leaves dirguard before the undo starts (the undo takes a plan, a write and its
    read-back: seconds), saying ``undo in progress``; the outcome follows as an update, throttle
    or not (a stopped or failed undo must be heard)."""
    undone: list[int] = []
    for item in raised:
        event = item.hit.event
        will_undo = (
            undo
            and event is not None
            and item.rule.auto_undo.enabled
            and skip_reason(item.rule, event, item.hit.protected) is None
        )
        started = time.perf_counter()
        with runtime.sessions.begin() as session:
            alert = session.get(Alert, item.alert_id)
            if alert is None:
                continue
            if will_undo:
                alert.undo = {"status": "undo in progress"}
            if item.notify:
                notify(runtime, alert, now)
        sent = time.perf_counter()
        result = None
        if undo and event is not None:
            result = auto_undo(
                runtime, item.rule, event, item.alert_id, runtime.clock(), item.hit.protected
            )
        log.debug(
            "alert %d: notified in %.0f ms, undo %.0f ms",
            item.alert_id,
            (sent - started) * 1000,
            (time.perf_counter() - sent) * 1000,
        )
        if result is None:
            continue
        with runtime.sessions.begin() as session:
            alert = session.get(Alert, item.alert_id)
            if alert is None:
                continue
            alert.undo = result
            if result.get("status") == "undone":
                undone.append(alert.id)
                alert.summary = f"{alert.summary} — undone by dirguard"
            if will_undo or result.get("status") == "loop stopped":
                notify(runtime, alert, runtime.clock())
    return undone


def detect_source(
    runtime: Runtime,
    source: str,
    rules: Sequence[Rule],
    *,
    start: datetime | None = None,
    undo: bool = True,
) -> DetectReport:
    """One detection pass over ``source``'s new events (see the module docstring)."""
    report = DetectReport(source=source)
    started = time.perf_counter()
    now = runtime.clock()
    grace = timedelta(seconds=runtime.config.threats.actor_grace)
    with runtime.sessions.begin() as session:
        stored = get_cursor(session, source, STREAM)
        position = int(stored.decode()) if stored else _start_position(session, source, start)
        events = events_after(session, source, position)
        ready, new_position, report.held = ready_events(events, grace, now, position)
        report.events = len(ready)
        hits = match_events(rules, ready, StoreContext(session), now)
        report.hits = len(hits)
        raised = record_event_hits(session, hits, now)
        if new_position != position or stored is None:
            save_cursor(session, source, STREAM, str(new_position).encode())
    log.debug(
        "%s: %d event(s) matched in %.0f ms (%d held for their actor)",
        source,
        report.events,
        (time.perf_counter() - started) * 1000,
        report.held,
    )
    report.alerts = sorted({r.alert_id for r in raised})
    report.new_alerts = sorted({r.alert_id for r in raised if r.new})
    report.undone = respond(runtime, raised, now, undo=undo)
    for item in raised:
        if item.new:
            log.warning(
                "alert %d (%s, %s): %s",
                item.alert_id,
                item.rule.severity.value,
                item.rule.id,
                item.hit.event.object_path if item.hit.event else "",
            )
    return report
