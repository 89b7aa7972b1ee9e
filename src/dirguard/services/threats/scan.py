"""Looking back: ``dirguard threats scan`` matches the stored history (and, for exposure
checks, every object's current state) and stores the alerts, once per rule and event like the
monitor; ``dirguard threats test FILE`` dry-runs a rule file over the history and stores
nothing."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dirguard.core.threats.evaluate import Hit, match_events, match_object
from dirguard.core.threats.incidents import Action, OpenAlert, decide
from dirguard.core.threats.model import Rule, RuleKind
from dirguard.services.runtime import Runtime
from dirguard.services.threats.alert_store import record_event_hits, record_exposures, summary
from dirguard.services.threats.definitions import read_rule_file
from dirguard.services.threats.detect import own_write, respond
from dirguard.services.threats.store_facts import StoreContext, current_objects, events_between
from dirguard.store.models import DirectoryObject


@dataclass(frozen=True, kw_only=True)
class ScanRequest:
    since: datetime | None = None
    until: datetime | None = None
    source: str | None = None
    """A store key (``ad:corp.example.com``); ``None``: every source."""
    changes: bool = True
    exposure: bool = False
    notify: bool = False


@dataclass(kw_only=True)
class ScanReport:
    events: int = 0
    hits: int = 0
    new_alerts: list[int] = field(default_factory=list)
    joined_alerts: list[int] = field(default_factory=list)
    exposures: int = 0
    resolved: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "hits": self.hits,
            "new_alerts": self.new_alerts,
            "joined_alerts": self.joined_alerts,
            "exposures": self.exposures,
            "resolved": self.resolved,
        }


def _sources(runtime: Runtime, source: str | None) -> list[str]:
    if source is not None:
        return [source]
    with runtime.sessions() as session:
        return sorted(session.scalars(select(DirectoryObject.source).distinct()))


def scan(runtime: Runtime, rules: Sequence[Rule], request: ScanRequest) -> ScanReport:
    report = ScanReport()
    now = runtime.clock()
    raised = []
    if request.changes:
        with runtime.sessions.begin() as session:
            events = [
                e
                for e in events_between(session, request.source, request.since, request.until)
                if not own_write(e)
            ]
            report.events = len(events)
            hits = match_events(rules, events, StoreContext(session), now)
            report.hits = len(hits)
            raised = record_event_hits(session, hits, now)
    if request.exposure:
        exposure_rules = [r for r in rules if r.enabled and r.kind is RuleKind.EXPOSURE]
        sources = _sources(runtime, request.source)
        with runtime.sessions.begin() as session:
            ctx = StoreContext(session)
            found: list[Hit] = []
            for obj in current_objects(session, request.source):
                for rule in exposure_rules:
                    if (hit := match_object(rule, obj, ctx, now)) is not None:
                        found.append(hit)
            report.exposures = len(found)
            more, report.resolved = record_exposures(session, exposure_rules, found, sources, now)
        raised = [*raised, *more]
    report.new_alerts = sorted({r.alert_id for r in raised if r.new})
    report.joined_alerts = sorted(
        {r.alert_id for r in raised if not r.new} - set(report.new_alerts)
    )
    if request.notify:
        respond(runtime, raised, now, undo=False)
    return report


@dataclass(kw_only=True)
class _Group:
    alert: dict[str, Any] | None = None
    pending: list[datetime] = field(default_factory=list)


def dry_run(
    runtime: Runtime, path: Path, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """What the rules of ``path`` would raise over the stored history (nothing is stored):
    thresholds and dedup applied as the monitor applies them."""
    rules = read_rule_file(path)
    now = runtime.clock()
    alerts: list[dict[str, Any]] = []
    groups: dict[tuple[str, str, str], _Group] = defaultdict(_Group)
    counts = {"events": 0, "hits": 0}
    exposures: list[dict[str, Any]] = []
    with runtime.sessions() as session:
        events = [e for e in events_between(session, None, since, until) if not own_write(e)]
        counts["events"] = len(events)
        ctx = StoreContext(session)
        every = [dataclasses.replace(r, enabled=True) for r in rules]  # noisy ones too
        hits = match_events(every, events, ctx, now)
        counts["hits"] = len(hits)
        for hit in hits:
            assert hit.event is not None
            group = groups[(hit.rule.id, hit.event.source, hit.group_key)]
            current = None
            if group.alert is not None:
                current = OpenAlert(id=0, last_seen=group.alert["_last"], last_notified=None)
            decision = decide(hit.rule, hit.at, group.pending, current, now)
            if decision.action is Action.PENDING:
                group.pending.append(hit.at)
            elif decision.action is Action.NEW:
                group.alert = {
                    "rule": hit.rule.id,
                    "severity": hit.rule.severity.value,
                    "summary": summary(hit),
                    "actor": hit.event.actor,
                    "actor_address": hit.event.actor_address,
                    "events": [hit.event.sequence],
                    "count": len(group.pending) + 1,
                    "_last": hit.at,
                }
                group.pending = []
                alerts.append(group.alert)
            else:
                assert group.alert is not None
                group.alert["count"] += 1
                group.alert["events"].append(hit.event.sequence)
                group.alert["_last"] = hit.at
        exposure_rules = [r for r in rules if r.kind is RuleKind.EXPOSURE]
        if exposure_rules:
            for obj in current_objects(session, None):
                for rule in exposure_rules:
                    if (found := match_object(rule, obj, ctx, now)) is not None:
                        exposures.append({"rule": rule.id, "summary": summary(found)})
    for alert in alerts:
        alert.pop("_last", None)
    return {
        "file": str(path),
        "rules": [r.id for r in rules],
        **counts,
        "alerts": alerts,
        "exposures": exposures,
    }
