"""A rule run's report (objects, each change and its outcome, counts) and its history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from dirguard.core.rules import Rule
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard.store.models_rules import RuleRun, RuleRunObject

CHANGED = ("changed", "would-change")


@dataclass(kw_only=True)
class Change:
    action: str
    """The rule's action (``suspend in entra:contoso``)."""
    key: str = ""
    """The web action's catalog key, or ``notify`` / ``webhook`` / ``meetings.<mode>``."""
    target: str = ""
    status: str = "unchanged"
    """``would-change`` (dry run), ``changed``, ``unchanged`` or ``failed``."""
    edits: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    audit_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "key": self.key,
            "target": self.target,
            "status": self.status,
            "edits": self.edits,
            "notes": self.notes,
            "error": self.error,
            "audit_id": self.audit_id,
        }


@dataclass(kw_only=True)
class ObjectResult:
    source: str
    path: str
    name: str
    changes: list[Change] = field(default_factory=list)

    @property
    def status(self) -> str:
        if any(c.status == "failed" for c in self.changes):
            return "failed"
        if any(c.status == "changed" for c in self.changes):
            return "changed"
        if any(c.status == "would-change" for c in self.changes):
            return "would-change"
        return "unchanged"

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "path": self.path,
            "name": self.name,
            "status": self.status,
            "changes": [c.as_dict() for c in self.changes],
        }


@dataclass(kw_only=True)
class RunReport:
    run_id: int
    rule: str
    version: int
    dry_run: bool
    started_by: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    error: str | None = None
    objects: list[ObjectResult] = field(default_factory=list)
    memberships: list[dict[str, Any]] = field(default_factory=list)
    """One entry per keep-members action: the group, its counts (members, desired, add,
    remove) and its status (``held`` with the reason when the guard stopped it)."""

    @property
    def counts(self) -> dict[str, int]:
        statuses = [o.status for o in self.objects]
        return {
            "objects": len(self.objects),
            "changed": statuses.count("changed") + statuses.count("would-change"),
            "unchanged": statuses.count("unchanged"),
            "failed": statuses.count("failed"),
            "changes": sum(1 for o in self.objects for c in o.changes if c.status in CHANGED),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "rule": self.rule,
            "version": self.version,
            "dry_run": self.dry_run,
            "started_by": self.started_by,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "status": self.status,
            "error": self.error,
            "counts": self.counts,
            "memberships": self.memberships,
            "objects": [o.as_dict() for o in self.objects],
        }


def start(runtime: Runtime, rule: Rule, version: int, dry_run: bool, by: str) -> RunReport:
    now = runtime.clock()
    with runtime.sessions.begin() as session:
        row = RuleRun(
            rule_name=rule.name,
            version=version,
            dry_run=dry_run,
            started_by=by,
            started_at=now,
            status="running",
            counts={},
        )
        session.add(row)
        session.flush()
        run_id = row.id
    return RunReport(
        run_id=run_id,
        rule=rule.name,
        version=version,
        dry_run=dry_run,
        started_by=by,
        started_at=now,
    )


def finish(runtime: Runtime, report: RunReport, *, error: str | None = None) -> None:
    report.finished_at = runtime.clock()
    counts = report.counts
    report.error = error
    if error is not None:
        report.status = "failed"
    else:
        stopped = any(m.get("status") in ("held", "failed") for m in report.memberships)
        report.status = "partial" if counts["failed"] or stopped else "succeeded"
    with runtime.sessions.begin() as session:
        row = session.get(RuleRun, report.run_id)
        assert row is not None
        stored: dict[str, Any] = dict(counts)
        if report.memberships:
            stored["memberships"] = report.memberships
        row.finished_at, row.status, row.counts, row.error = (
            report.finished_at,
            report.status,
            stored,
            error,
        )
        for result in report.objects:
            session.add(
                RuleRunObject(
                    run_id=report.run_id,
                    source=result.source,
                    path=result.path,
                    name=result.name,
                    status=result.status,
                    changes=[c.as_dict() for c in result.changes],
                )
            )


def _report(row: RuleRun, objects: list[RuleRunObject] | None) -> RunReport:
    report = RunReport(
        run_id=row.id,
        rule=row.rule_name,
        version=row.version,
        dry_run=row.dry_run,
        started_by=row.started_by,
        started_at=row.started_at,
        finished_at=row.finished_at,
        status=row.status,
        error=row.error,
    )
    for stored in objects or []:
        result = ObjectResult(source=stored.source, path=stored.path, name=stored.name)
        result.changes = [Change(**c) for c in stored.changes]
        report.objects.append(result)
    return report


def run_history(
    runtime: Runtime, name: str | None = None, *, limit: int = 50
) -> list[dict[str, Any]]:
    """The latest runs (of one rule, or of all), newest first, without their objects."""
    with runtime.sessions() as session:
        query = select(RuleRun).order_by(RuleRun.id.desc()).limit(limit)
        if name is not None:
            query = query.where(RuleRun.rule_name == name)
        return [
            {**_report(row, None).as_dict(), "counts": row.counts, "objects": None}
            for row in session.scalars(query)
        ]


def run_details(runtime: Runtime, run_id: int) -> RunReport:
    """One run with its per-object results."""
    with runtime.sessions() as session:
        row = session.get(RuleRun, run_id)
        if row is None:
            raise ServiceError(f"no rule run {run_id}", Problem.NOT_FOUND)
        objects = list(
            session.scalars(
                select(RuleRunObject)
                .where(RuleRunObject.run_id == run_id)
                .order_by(RuleRunObject.id)
            )
        )
        return _report(row, objects)
