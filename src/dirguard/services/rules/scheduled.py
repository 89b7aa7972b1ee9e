"""Rules as scheduled jobs (kind ``rule``, key: the rule's name) and rules run by triggers.

A rule with a ``schedule`` is due when a firing time of its cron expression has passed since it
last started (before its first run: since it was saved). Triggers are fed from the capture pass:
:func:`run_triggered` takes the changes one pass stored and runs each enabled rule whose trigger
matches on just the objects those changes touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from dirguard.core.delegation import dn_within
from dirguard.core.rules_schedule import due
from dirguard.services.rules.rule_store import list_rules
from dirguard.services.runtime import Runtime
from dirguard.services.scheduler.jobs import last_started, register_job_kind

KIND = "rule"


def rules_due(runtime: Runtime, now: datetime) -> list[str]:
    found = []
    for saved in list_rules(runtime):
        rule = saved.rule
        if not rule.enabled or rule.schedule is None:
            continue
        if due(rule.schedule, last_started(runtime, KIND, rule.name), now, saved.updated_at):
            found.append(rule.name)
    return found


def run_scheduled(runtime: Runtime, name: str) -> Mapping[str, Any]:
    from dirguard.services.rules.engine import run_rule

    report = run_rule(runtime, name, dry_run=False, started_by="schedule")
    return {"run_id": report.run_id, "status": report.status, **report.counts}


register_job_kind(KIND, due=rules_due, run=run_scheduled)


def run_triggered(runtime: Runtime, source: str, changes: Iterable[Mapping[str, Any]]) -> list[int]:
    """Run the rules whose trigger matches some of ``changes`` (each: ``op`` —
    ``add``/``modify``/``delete`` as the guardian records them —, ``path`` (DN or id), and
    ``object_kind``), on those objects only; the run ids."""
    from dirguard.services.rules.engine import run_rule

    events = {"add": "created", "created": "created", "delete": "deleted", "deleted": "deleted"}
    seen = list(changes)
    runs: list[int] = []
    for saved in list_rules(runtime):
        rule = saved.rule
        if not rule.enabled or rule.trigger is None or rule.scope.store_source != source:
            continue
        paths = sorted(
            {
                str(c["path"])
                for c in seen
                if events.get(str(c.get("op")), "changed") == rule.trigger.event
                and c.get("object_kind", rule.scope.object_kind) == rule.scope.object_kind
                and (rule.trigger.under is None or dn_within(str(c["path"]), rule.trigger.under))
            }
        )
        if paths:
            report = run_rule(runtime, rule.name, dry_run=False, started_by="trigger", only=paths)
            runs.append(report.run_id)
    return runs
