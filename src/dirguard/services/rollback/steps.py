"""The step loop: applying a stored plan of any provider, one step at a time.

For each pending step, in order: a step that depends on one that failed or was skipped is
skipped (so is one naming an id no earlier step produced); otherwise every reference to a
produced id is resolved (:func:`dirguard.core.plan.resolved`), the provider performs the step
(:meth:`dirguard.providers.base.StepWriter.apply`: it checks the expected value itself) and
reads it back (:meth:`~dirguard.providers.base.StepWriter.verify`). The step's status, outcome
and produced id and an audit record (dirguard acting on behalf of the person who asked) are
committed together after every step, so a partial failure is visible per step, also after a
crash. The rights check and elevation around the loop are in
:mod:`dirguard.services.rollback.guarded_apply`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.core.plan import Step, UnresolvedReference, resolved
from dirguard.providers.base import StepResult, StepWriter
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rollback.plan_store import (
    PLANNED,
    StoredStep,
    load_plan,
    no_plan,
    stored_step,
)
from dirguard.store.audit import SELF, AuditOutcome, record_audit
from dirguard.store.column_types import utcnow
from dirguard.store.models import DirectoryObject, RestorePlan, RestoreStep

DONE = frozenset({"succeeded", "unchanged"})
"""Statuses a dependant may go on from."""


@dataclass(frozen=True, kw_only=True)
class ApplyReport:
    """How applying a plan ended: ``applied``, ``partial`` (a step failed or was skipped, some
    succeeded) or ``failed``, with every step as it stands now."""

    plan_id: int
    status: str
    counts: Counter[str] = field(default_factory=Counter)
    steps: tuple[StoredStep, ...] = ()


@dataclass(frozen=True, kw_only=True)
class PendingPlan:
    """A stored plan that may be applied: its steps as planned, by position."""

    plan_id: int
    source: str
    force: bool
    requested_by: str
    steps: dict[int, tuple[int, Step]]
    """position -> (row id, step) of the steps still ``planned``."""
    settled: dict[int, str]
    """position -> status of the steps already settled (skipped when planning, or done by an
    apply that was interrupted)."""
    produced: dict[str, str] = field(default_factory=dict)
    """The ids settled steps produced, by name (an interrupted apply resumes with them)."""


def pending_plan(sessions: sessionmaker[Session], plan_id: int) -> PendingPlan:
    """Plan ``plan_id`` with its pending steps; an error when there is none or it was applied."""
    with sessions() as session:
        plan = session.get(RestorePlan, plan_id)
        if plan is None:
            raise no_plan(plan_id)
        if plan.status != PLANNED:
            raise ServiceError(
                f"plan {plan_id} was already applied ({plan.status}); make a new plan",
                Problem.CONFLICT,
            )
        rows = [s for s in plan.steps if s.status == PLANNED]
        types = stored_types(session, plan.source, {r.object_external_id for r in rows})
        return PendingPlan(
            plan_id=plan_id,
            source=plan.source,
            force=plan.force,
            requested_by=plan.requested_by,
            steps={r.position: (r.id, stored_step(r, types)) for r in rows},
            settled={s.position: s.status for s in plan.steps if s.status != PLANNED},
            produced={
                s.produces: s.produced_id
                for s in plan.steps
                if s.status != PLANNED and s.produces and s.produced_id
            },
        )


def stored_types(session: Session, source: str, ids: set[str]) -> dict[str, str]:
    """The resource-type key of each stored object of ``source`` among ``ids``."""
    if not ids:
        return {}
    found = session.execute(
        select(DirectoryObject.external_id, DirectoryObject.resource_type).where(
            DirectoryObject.source == source, DirectoryObject.external_id.in_(ids)
        )
    )
    return {external_id: key for external_id, key in found}


def _blocked(step: Step, statuses: dict[int, str]) -> str | None:
    for earlier in step.depends_on:
        status = statuses.get(earlier)
        if status not in DONE:
            return f"skipped: it depends on step {earlier}, which {status or 'did not run'}"
    return None


def run_step(
    writer: StepWriter, step: Step, produced: dict[str, str], statuses: dict[int, str], force: bool
) -> StepResult:
    """One step's result: skipped when a dependency did not succeed, else performed and read
    back with every reference resolved."""
    blocked = _blocked(step, statuses)
    if blocked is not None:
        return StepResult(status="skipped", outcome=blocked)
    try:
        ready = resolved(step, produced)
    except UnresolvedReference as error:
        return StepResult(status="skipped", outcome=f"skipped: {error}")
    result = writer.apply(ready, produced, force=force)
    if result.status in DONE and (problem := writer.verify(ready, produced)) is not None:
        return StepResult(status="failed", outcome=problem, produced_id=result.produced_id)
    return result


def _audit(
    session: Session, plan: PendingPlan, row: RestoreStep, step: Step, result: StepResult, by: str
) -> None:
    details: dict[str, Any] = {
        "by": SELF,
        "on_behalf_of": by,
        "plan": plan.plan_id,
        "position": row.position,
        "source": plan.source,
        "object_guid": row.object_external_id,
        "attribute": step.attribute,
        "values": list(step.payload.get("values") or ()),
        "description": step.description,
        "result": result.outcome,
    }
    if result.produced_id is not None:
        details["produced_id"] = result.produced_id
    outcome = AuditOutcome.FAILED if result.status == "failed" else AuditOutcome.SUCCEEDED
    record_audit(session, by, f"rollback.{step.op}", step.target.label, details, outcome)


def apply_plan(
    sessions: sessionmaker[Session], writer: StepWriter, plan_id: int, *, requested_by: str
) -> ApplyReport:
    """Apply every pending step of plan ``plan_id`` in order; one commit per step."""
    plan = pending_plan(sessions, plan_id)
    statuses = dict(plan.settled)
    produced = dict(plan.produced)
    for position in sorted(plan.steps):
        row_id, step = plan.steps[position]
        result = run_step(writer, step, produced, statuses, plan.force)
        statuses[position] = result.status
        if step.produces is not None and result.produced_id is not None:
            produced[step.produces] = result.produced_id
        with sessions.begin() as session:
            row = session.get_one(RestoreStep, row_id)
            row.status, row.outcome, row.applied_at = result.status, result.outcome, utcnow()
            row.produced_id = result.produced_id
            if result.status != "skipped":
                _audit(session, plan, row, step, result, requested_by)
    return _finish(sessions, plan_id)


def _finish(sessions: sessionmaker[Session], plan_id: int) -> ApplyReport:
    with sessions.begin() as session:
        plan = session.get_one(RestorePlan, plan_id)
        counts = Counter(s.status for s in plan.steps)
        status = "applied"
        if counts["failed"] and not (counts["succeeded"] + counts["unchanged"]):
            status = "failed"
        elif counts["failed"] or counts["skipped"]:
            status = "partial"
        plan.status, plan.applied_at = status, utcnow()
        session.flush()
        stored = load_plan(session, plan_id)
    return ApplyReport(plan_id=plan_id, status=status, counts=counts, steps=stored.steps)
