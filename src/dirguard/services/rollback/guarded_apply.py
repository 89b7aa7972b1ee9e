"""Applying a plan only with the rights it needs, and never in read-only mode without elevation.

Before the first write the provider compares what the bound account holds with what the plan's
steps need (:meth:`dirguard.providers.base.StepWriter.rights`; AD: the groups the row of each
written object names, :mod:`dirguard.providers.ad.plan.partition_rights`); a missing right
refuses the whole plan. In full mode dirguard applies the plan as the
bind account. In read-only mode it writes nothing, unless an elevation account is configured:
then exactly what is missing is granted to the bind account for the rollback
(:mod:`dirguard.services.rollback.elevation`), dirguard binds anew (group membership counts at
bind), checks again, applies, and the grant is removed in a ``finally``. Every refusal is in
dirguard's audit log. The same for every provider: :class:`WriteAccess` says how to reach one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dirguard.core.plan import Step
from dirguard.providers.base import Grants, Rights, SourceError, StepWriter, source_name
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rollback.elevation import ElevationRequest, attach_plan, elevated
from dirguard.services.rollback.steps import ApplyReport, apply_plan, pending_plan
from dirguard.store.audit import AuditOutcome, record_audit


@dataclass(frozen=True, kw_only=True)
class WriteAccess:
    """How a rollback reaches one source: as the bind account, and as the elevation account
    when one is configured."""

    source: str
    read_only: bool
    mode: str
    account: str | None
    """The account dirguard writes with (AD: ``bind_upn``)."""
    elevator_account: str | None
    writer: Callable[[], AbstractContextManager[StepWriter]]
    grants: Callable[[], AbstractContextManager[Grants]] | None
    elevation_hint: str = (
        "elevation_bind_upn and elevation_password: an account that may add {account} to the"
        " admin group the plan needs"
    )
    """What to configure for just-in-time elevation (``{account}``: the account written with)."""
    grants_settle: float = 0.0
    """Seconds a writer opened after an elevation may take to hold what was granted: Entra
    replicates a new app role assignment into tokens with a delay ("This request might have
    replication delays", Microsoft's page on listing appRoleAssignments), so a fresh writer is
    opened again every few seconds until its rights are complete or this time has passed."""


@dataclass(kw_only=True)
class GuardedApply:
    report: ApplyReport
    rights: Rights
    elevations: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class CheckResult:
    """What ``rollback apply`` would do with a plan: ``apply``, ``elevate`` or ``refuse``."""

    plan_id: int
    mode: str
    elevation_configured: bool
    rights: Rights
    would: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "mode": self.mode,
            "elevation_configured": self.elevation_configured,
            "rights": self.rights.as_dict(),
            "would": self.would,
            "message": self.message,
        }


def read_only_message(access: WriteAccess) -> str:
    return (
        f"{source_name(access.source)} is in read-only mode: dirguard does not write to it, so "
        "nothing was written. To roll back, configure just-in-time elevation ("
        + access.elevation_hint.format(account=access.account or "the bind account")
        + '), or set mode = "full" with an account that holds what the plan needs'
    )


def plan_steps(sessions: sessionmaker[Session], plan_id: int) -> list[Step]:
    """The pending steps of plan ``plan_id`` (an error when it was applied already)."""
    plan = pending_plan(sessions, plan_id)
    return [step for _row, step in (plan.steps[p] for p in sorted(plan.steps))]


def rights_of(writer: StepWriter, steps: Sequence[Step]) -> Rights:
    try:
        return writer.rights(steps)
    except SourceError as error:
        problem = Problem.PERMISSION if error.refused else Problem.FAILURE
        raise ServiceError(str(error), problem) from None


def _deny(
    sessions: sessionmaker[Session],
    target: str,
    requested_by: str,
    message: str,
    rights: Rights | None,
) -> ServiceError:
    with sessions.begin() as session:
        record_audit(
            session,
            requested_by,
            "rollback.refused",
            target,
            {"reason": message, "rights": rights.as_dict() if rights else None},
            AuditOutcome.DENIED,
        )
    return ServiceError(message, Problem.PERMISSION)


def guarded(
    sessions: sessionmaker[Session],
    access: WriteAccess,
    *,
    requested_by: str,
    reason: str,
    probe: Sequence[Step] | None,
    make_plan: Callable[[], int],
    known_plan: int | None = None,
) -> GuardedApply:
    """Check the rights ``probe`` needs (``None``: the known plan's own steps), elevate for what
    is missing in read-only mode, make the plan (inside the elevation, so a capture sees what
    the elevated account sees), check the plan's own steps, apply."""
    if access.read_only and access.grants is None:
        raise _deny(sessions, reason, requested_by, read_only_message(access), None)

    def probed() -> Sequence[Step]:
        return probe if probe is not None else plan_steps(sessions, known_plan or 0)

    with access.writer() as writer:
        rights = rights_of(writer, probed())
        if rights.ok:
            plan_id = make_plan()
            rights = rights_of(writer, plan_steps(sessions, plan_id))
            if not rights.ok:
                raise _deny(sessions, f"plan {plan_id}", requested_by, rights.message(), rights)
            report = apply_plan(sessions, writer, plan_id, requested_by=requested_by)
            return GuardedApply(report=report, rights=rights)
    if not access.read_only or access.grants is None:
        raise _deny(sessions, reason, requested_by, rights.message(), rights)
    request = ElevationRequest(
        source=access.source,
        account=access.account or "",
        requested_by=requested_by,
        reason=reason,
        plan_id=known_plan,
    )
    with elevated(sessions, access.grants, request, rights.missing_groups) as run:
        plan_id = make_plan()
        if known_plan is None:
            attach_plan(sessions, run.ids, plan_id)
        with _writer_holding(access, plan_steps(sessions, plan_id)) as (writer, again):
            if not again.ok:
                message = "after elevation: " + again.message()
                raise _deny(sessions, f"plan {plan_id}", requested_by, message, again)
            report = apply_plan(sessions, writer, plan_id, requested_by=requested_by)
    return GuardedApply(report=report, rights=again, elevations=run.ids, problems=run.problems)


SETTLE_STEP = 5.0
"""Seconds between two fresh writers while waiting for granted rights to show."""


@contextmanager
def _writer_holding(
    access: WriteAccess, steps: Sequence[Step], sleep: Callable[[float], None] = time.sleep
) -> Iterator[tuple[StepWriter, Rights]]:
    """A writer opened after an elevation, with its rights: opened anew (a new bind, a fresh
    token) until they are complete or ``access.grants_settle`` seconds have passed."""
    deadline = time.monotonic() + access.grants_settle
    while True:
        with access.writer() as writer:
            rights = rights_of(writer, steps)
            if rights.ok or time.monotonic() >= deadline:
                yield writer, rights
                return
        sleep(SETTLE_STEP)


def apply_guarded(
    sessions: sessionmaker[Session], access: WriteAccess, plan_id: int, *, requested_by: str
) -> GuardedApply:
    """Apply stored plan ``plan_id`` as described in the module docstring; a permission
    :class:`ServiceError` before any write when it may not."""
    plan_steps(sessions, plan_id)  # no such plan, or applied already: said before connecting
    return guarded(
        sessions,
        access,
        requested_by=requested_by,
        reason=f"rollback plan {plan_id}",
        probe=None,
        make_plan=lambda: plan_id,
        known_plan=plan_id,
    )


def check_plan(sessions: sessionmaker[Session], access: WriteAccess, plan_id: int) -> CheckResult:
    """What applying plan ``plan_id`` would do, without writing: ``apply``, ``elevate``
    (read-only mode: the missing rights granted for the plan) or ``refuse``."""
    steps = plan_steps(sessions, plan_id)
    with access.writer() as writer:
        rights = rights_of(writer, steps)
    elevation = access.grants is not None
    if access.read_only and not elevation:
        would, message = "refuse", read_only_message(access)
    elif rights.ok:
        would, message = "apply", rights.message()
    elif access.read_only:
        would = "elevate"
        message = (
            f"{access.elevator_account} would grant {access.account} "
            f"{', '.join(rights.missing_groups)} for this plan and remove it afterwards"
        )
    else:
        would, message = "refuse", rights.message()
    return CheckResult(
        plan_id=plan_id,
        mode=access.mode,
        elevation_configured=elevation,
        rights=rights,
        would=would,
        message=message,
    )
