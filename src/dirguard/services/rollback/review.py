"""Reviewing, approving and following rollback plans: what the console's Rollback pages and the
``/api/v1/plans`` routes call, over the planning and applying use cases the CLI calls.

- :func:`list_plans`: the stored plans, newest first, with their step counts and approvals.
- :func:`preview`: one plan as a person decides on it: steps in order, conflicts, what cannot be
  restored and why (steps skipped at planning, the planner's warnings), the rights or the
  just-in-time elevation applying it needs (:func:`apply_cases.check`, which writes nothing),
  and whether it still needs a second person's approval.
- :func:`approve`: four-eyes (``[rollback] four_eyes``): someone other than the person who made
  the plan approves it; stored and in the audit log.
- :func:`apply_reviewed`: apply, refused (and audited) while an approval is still needed.
- :func:`progress`: the plan's steps as they stand (the apply commits after every step), for a
  live view; the verification report is the same once the plan is no longer ``planned``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rollback import apply_cases
from dirguard.services.rollback.guarded_apply import CheckResult
from dirguard.services.rollback.plan_cases import show_plan
from dirguard.services.rollback.plan_store import PLANNED, StoredPlan, no_plan
from dirguard.services.runtime import Runtime
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.column_types import utcnow
from dirguard.store.models import PlanApproval, RestorePlan

FINAL_STEP = frozenset({"succeeded", "unchanged", "failed", "skipped"})


@dataclass(frozen=True, kw_only=True)
class Approval:
    approved_by: str
    approved_at: datetime
    note: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "approved_by": self.approved_by,
            "approved_at": self.approved_at.isoformat(),
            "note": self.note,
        }


@dataclass(frozen=True, kw_only=True)
class PlanSummary:
    id: int
    source: str
    created_at: datetime
    requested_by: str
    status: str
    steps: dict[str, int]
    """Step count by status."""
    approvals: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "created_at": self.created_at.isoformat(),
            "requested_by": self.requested_by,
            "status": self.status,
            "steps": self.steps,
            "approvals": list(self.approvals),
        }


@dataclass(frozen=True, kw_only=True)
class Preview:
    plan: StoredPlan
    approvals: tuple[Approval, ...]
    four_eyes: bool
    needs_approval: bool
    """Four-eyes is on and nobody but the planner has approved yet."""
    check: CheckResult | None
    """What applying would do (``None`` once applied, or when the source could not be asked)."""
    check_error: str | None = None
    conflicts: tuple[str, ...] = field(default_factory=tuple)
    cannot_restore: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.plan.as_dict(),
            "approvals": [a.as_dict() for a in self.approvals],
            "four_eyes": self.four_eyes,
            "needs_approval": self.needs_approval,
            "check": None if self.check is None else self.check.as_dict(),
            "check_error": self.check_error,
            "conflicts": list(self.conflicts),
            "cannot_restore": list(self.cannot_restore),
        }


@dataclass(frozen=True, kw_only=True)
class Progress:
    plan_id: int
    status: str
    total: int
    done: int
    steps: tuple[dict[str, Any], ...]

    @property
    def finished(self) -> bool:
        return self.status != PLANNED

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "status": self.status,
            "total": self.total,
            "done": self.done,
            "finished": self.finished,
            "steps": list(self.steps),
        }


def _approvals(runtime: Runtime, plan_id: int) -> tuple[Approval, ...]:
    with runtime.sessions() as session:
        rows = session.scalars(
            select(PlanApproval).where(PlanApproval.plan_id == plan_id).order_by(PlanApproval.id)
        )
        return tuple(
            Approval(approved_by=r.approved_by, approved_at=r.approved_at, note=r.note)
            for r in rows
        )


def _needs_approval(runtime: Runtime, plan: StoredPlan, approvals: tuple[Approval, ...]) -> bool:
    if not runtime.config.rollback.four_eyes or plan.status != PLANNED:
        return False
    return not any(a.approved_by != plan.requested_by for a in approvals)


def list_plans(
    runtime: Runtime, *, limit: int = 50, before: int | None = None
) -> list[PlanSummary]:
    """Stored plans, newest first (``before``: only plans with a smaller id, for paging)."""
    if not 1 <= limit <= 500:
        raise ServiceError(f"limit {limit}: give 1 to 500")
    query = select(RestorePlan).order_by(RestorePlan.id.desc()).limit(limit)
    if before is not None:
        query = query.where(RestorePlan.id < before)
    with runtime.sessions() as session:
        plans = list(session.scalars(query))
        ids = [p.id for p in plans]
        approved: dict[int, list[str]] = {}
        if ids:
            for plan_id, who in session.execute(
                select(PlanApproval.plan_id, PlanApproval.approved_by).where(
                    PlanApproval.plan_id.in_(ids)
                )
            ):
                if plan_id is not None:  # always, as the query asked for these plans
                    approved.setdefault(plan_id, []).append(who)
        return [
            PlanSummary(
                id=p.id,
                source=p.source.partition(":")[2] or p.source,
                created_at=p.created_at,
                requested_by=p.requested_by,
                status=p.status,
                steps=dict(Counter(s.status for s in p.steps)),
                approvals=tuple(approved.get(p.id, ())),
            )
            for p in plans
        ]


def preview(runtime: Runtime, plan_id: int, *, check: bool = True) -> Preview:
    """One plan with everything needed to decide on it (``check``: ask the source which rights
    or elevation applying needs; reads only)."""
    plan = show_plan(runtime, plan_id)
    approvals = _approvals(runtime, plan_id)
    result, problem = None, None
    if check and plan.status == PLANNED:
        try:
            result = apply_cases.check(runtime, apply_cases.CheckRequest(plan_id=plan_id))
        except ServiceError as error:
            problem = str(error)
    conflicts = tuple(
        f"step {s.position} ({s.dn}): {s.conflict}"
        for s in plan.steps
        if s.conflict and s.status != "skipped"
    )
    cannot = tuple(
        f"step {s.position} ({s.dn}): {s.outcome or s.conflict or 'skipped'}"
        for s in plan.steps
        if s.status == "skipped" and plan.status == PLANNED
    ) + tuple(plan.warnings)
    return Preview(
        plan=plan,
        approvals=approvals,
        four_eyes=runtime.config.rollback.four_eyes,
        needs_approval=_needs_approval(runtime, plan, approvals),
        check=result,
        check_error=problem,
        conflicts=conflicts,
        cannot_restore=cannot,
    )


def approve(runtime: Runtime, plan_id: int, note: str | None = None) -> Preview:
    """Record the runtime's principal's approval of a plan they did not make."""
    who = runtime.principal
    with runtime.sessions.begin() as session:
        plan = session.get(RestorePlan, plan_id)
        if plan is None:
            raise no_plan(plan_id)
        refusal = None
        if plan.status != PLANNED:
            refusal = ServiceError(
                f"plan {plan_id} was already applied ({plan.status})", Problem.CONFLICT
            )
        elif plan.requested_by == who:
            refusal = ServiceError(
                f"{who} made plan {plan_id}: another approver must approve it", Problem.PERMISSION
            )
        elif session.scalar(
            select(PlanApproval.id).where(
                PlanApproval.plan_id == plan_id, PlanApproval.approved_by == who
            )
        ):
            refusal = ServiceError(f"{who} approved plan {plan_id} already", Problem.CONFLICT)
        if refusal is None:
            session.add(
                PlanApproval(plan_id=plan_id, approved_by=who, approved_at=utcnow(), note=note)
            )
            record_audit(
                session, who, "rollback.approve", f"plan {plan_id}", {"note": note}, "succeeded"
            )
    if refusal is not None:
        with runtime.sessions.begin() as session:
            record_audit(
                session,
                who,
                "rollback.approve",
                f"plan {plan_id}",
                {"reason": str(refusal)},
                AuditOutcome.DENIED,
            )
        raise refusal
    return preview(runtime, plan_id, check=False)


def ensure_may_apply(runtime: Runtime, plan_id: int) -> None:
    """Refuse (and audit) applying a plan that was applied already or that four-eyes still wants
    approved; says nothing when it may go on."""
    plan = show_plan(runtime, plan_id)
    if plan.status != PLANNED:
        raise ServiceError(
            f"plan {plan_id} was already applied ({plan.status}); make a new plan",
            Problem.CONFLICT,
        )
    if _needs_approval(runtime, plan, _approvals(runtime, plan_id)):
        message = (
            f"plan {plan_id} needs the approval of an approver other than {plan.requested_by}"
            " before it is applied (four-eyes)"
        )
        with runtime.sessions.begin() as session:
            record_audit(
                session,
                runtime.principal,
                "rollback.refused",
                f"plan {plan_id}",
                {"reason": message},
                AuditOutcome.DENIED,
            )
        raise ServiceError(message, Problem.PERMISSION)


def apply_reviewed(
    runtime: Runtime, plan_id: int, on_revoked: Callable[[Any], None] | None = None
) -> apply_cases.Applied:
    """Apply a plan, refused (and audited) while four-eyes still wants an approval."""
    ensure_may_apply(runtime, plan_id)
    request = apply_cases.ApplyRequest(plan_id=plan_id)
    if on_revoked is not None:
        request = apply_cases.ApplyRequest(plan_id=plan_id, on_revoked=on_revoked)
    return apply_cases.apply_stored(runtime, request)


def progress(runtime: Runtime, plan_id: int) -> Progress:
    """The plan's steps as they stand now."""
    plan = show_plan(runtime, plan_id)
    steps = tuple(s.as_dict() for s in plan.steps)
    done = sum(1 for s in plan.steps if s.status in FINAL_STEP)
    return Progress(
        plan_id=plan_id, status=plan.status, total=len(plan.steps), done=done, steps=steps
    )
