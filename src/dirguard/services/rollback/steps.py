"""The step loop: applying a stored plan of any provider, one step at a time.

For each pending step, in order: a step that depends on one that failed or was skipped is
skipped (so is one naming an id no earlier step produced); otherwise every reference to a
produced id is resolved (:func:`dirguard.core.plan.resolved`), the provider performs the step
(:meth:`dirguard.providers.base.StepWriter.apply`: it checks the expected value itself) and
reads it back (:meth:`~dirguard.providers.base.StepWriter.verify`). A writer that can write
several steps at once (:class:`~dirguard.providers.base.BatchStepWriter`: AD sets an object's
attributes in one modify) gets consecutive steps of one batch key together, none depending on
another of them, and reads them back together. The status, outcome and produced id of each
step and an audit record (dirguard acting on behalf of the person who asked) are committed
together after every step or batch, once it was read back, so a partial failure is visible per
step, also after a crash (steps written but not yet recorded are found already as intended when
the plan is applied again). The rights check and elevation around the loop are in
:mod:`dirguard.services.rollback.guarded_apply`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.core.plan import Step, UnresolvedReference, resolved
from dirguard.providers.base import BatchStepWriter, StepResult, StepWriter
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


def _batch(
    writer: StepWriter,
    plan: PendingPlan,
    order: list[int],
    produced: dict[str, str],
    statuses: dict[int, str],
) -> list[tuple[int, Step]]:
    """The steps from ``order[0]`` on that go to the writer as one batch, references resolved:
    consecutive, runnable now, of one batch key, none depending on another of them; empty when
    the first goes alone."""
    if not isinstance(writer, BatchStepWriter):
        return []
    batch: list[tuple[int, Step]] = []
    key: object | None = None
    for position in order:
        step = plan.steps[position][1]
        if _blocked(step, statuses) is not None or any(
            earlier in dict(batch) for earlier in step.depends_on
        ):
            break
        try:
            ready = resolved(step, produced)
        except UnresolvedReference:
            break
        this = writer.batch_key(ready)
        if this is None or (batch and this != key):
            break
        key = this
        batch.append((position, ready))
    return batch if len(batch) > 1 else []


def _record(
    sessions: sessionmaker[Session],
    plan: PendingPlan,
    done: list[tuple[int, Step, StepResult]],
    requested_by: str,
    started: datetime,
) -> None:
    """Record the steps' outcomes and their audit records, in one transaction. ``applied_at``
    is when the write began (``started``), not when it was recorded: a monitor capturing beside
    the apply may store the write's event in between, and that event must still count as
    observed after the step (:mod:`dirguard.services.rollback.own_writes`)."""
    with sessions.begin() as session:
        for position, step, result in done:
            row = session.get_one(RestoreStep, plan.steps[position][0])
            row.status, row.outcome, row.applied_at = result.status, result.outcome, started
            row.produced_id = result.produced_id
            if result.status != "skipped":
                _audit(session, plan, row, step, result, requested_by)


def apply_plan(
    sessions: sessionmaker[Session], writer: StepWriter, plan_id: int, *, requested_by: str
) -> ApplyReport:
    """Apply every pending step of plan ``plan_id`` in order; one commit per step or batch."""
    plan = pending_plan(sessions, plan_id)
    statuses = dict(plan.settled)
    produced = dict(plan.produced)
    order = sorted(plan.steps)
    while order:
        started = utcnow()
        batch = _batch(writer, plan, order, produced, statuses)
        if batch:
            assert isinstance(writer, BatchStepWriter)
            steps = [step for _position, step in batch]
            results = writer.apply_batch(steps, produced, force=plan.force)
            done = [(p, s, r) for (p, s), r in zip(batch, results, strict=True)]
        else:
            step = plan.steps[order[0]][1]
            done = [(order[0], step, run_step(writer, step, produced, statuses, plan.force))]
        for position, step, result in done:
            statuses[position] = result.status
            if step.produces is not None and result.produced_id is not None:
                produced[step.produces] = result.produced_id
        _record(sessions, plan, done, requested_by, started)
        del order[: len(done)]
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
