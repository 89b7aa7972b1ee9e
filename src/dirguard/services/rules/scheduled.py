"""Rules as scheduled jobs (kind ``rule``, key: the rule's name).

A rule with a ``schedule`` is due when a firing time of its cron expression has passed since it
last started (before its first run: since it was saved). Rules run by a captured change are in
:mod:`dirguard.services.rules.triggers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

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
