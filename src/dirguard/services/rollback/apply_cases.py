"""The writing use cases: apply a stored plan, undelete an object, and check a plan without
writing.

Every write follows the same order, whoever calls it (CLI or web): pending elevations left by a
dirguard that stopped are revoked first (``on_revoked`` hears of it), the plan is applied through
the rights check and, in read-only mode, just-in-time elevation
(:mod:`dirguard.services.rollback.guarded_apply`), and a capture pass afterwards records
dirguard's own writes in the history (attributed to dirguard on behalf of the person who asked).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dirguard.core.plan import Step, Target
from dirguard.providers.ad import KIND as AD_KIND
from dirguard.providers.ad.plan.restore_plan import PlanningError, StepKind
from dirguard.providers.base import Rights, Unplannable, store_source
from dirguard.services.capture.capture import CaptureError
from dirguard.services.errors import ServiceError
from dirguard.services.history import HistoryQueryError, find_objects
from dirguard.services.rollback import history_plans
from dirguard.services.rollback.ad_access import ad_access, capture, one_domain
from dirguard.services.rollback.elevation_cases import Revoked, revoke_pending_elevations
from dirguard.services.rollback.guarded_apply import (
    CheckResult,
    GuardedApply,
    apply_guarded,
    check_plan,
    guarded,
)
from dirguard.services.rollback.history_plans import HistoryPlanningError
from dirguard.services.rollback.plan_cases import show_plan
from dirguard.services.rollback.plan_store import StoredPlan, no_plan, save_plan
from dirguard.services.rollback.tenant_access import (
    ENTRA_KIND,
    entra,
    one_tenant,
    tenant_access,
)
from dirguard.services.rollback.undelete import plan_undelete
from dirguard.services.runtime import Runtime
from dirguard.store.models import RestorePlan

if TYPE_CHECKING:
    from dirguard.providers.ad.values import Schema


def _ignore(_revoked: Revoked) -> None:
    return None


@dataclass(frozen=True, kw_only=True)
class ApplyRequest:
    plan_id: int
    on_revoked: Callable[[Revoked], None] = _ignore
    """Told of the pending elevations revoked before the write (and of problems doing so)."""


@dataclass(frozen=True, kw_only=True)
class UndeleteRequest:
    object_text: str
    """DN, objectGUID or sAMAccountName."""
    to_ou: str | None = None
    domain: str | None = None
    tenant: str | None = None
    """An Entra tenant's name: undelete one of its objects instead."""
    on_revoked: Callable[[Revoked], None] = _ignore


@dataclass(frozen=True, kw_only=True)
class CheckRequest:
    plan_id: int


@dataclass(frozen=True, kw_only=True)
class Applied:
    """A plan as it stands after applying it, and what the rights check and elevation did."""

    plan: StoredPlan
    status: str
    """``applied``, ``partial`` or ``failed``."""
    rights: Rights
    elevations: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Elevations that could not be ended (they stay pending until revoked)."""

    @property
    def ok(self) -> bool:
        return self.status == "applied" and not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.plan.as_dict(),
            "rights": self.rights.as_dict(),
            "elevations": self.elevations,
            "elevation_problems": self.problems,
        }


def _applied(runtime: Runtime, result: GuardedApply) -> Applied:
    return Applied(
        plan=show_plan(runtime, result.report.plan_id),
        status=result.report.status,
        rights=result.rights,
        elevations=result.elevations,
        problems=result.problems,
    )


def _plan_kind(runtime: Runtime, plan_id: int) -> tuple[str, str]:
    """``(provider kind, source name)`` of a stored plan."""
    with runtime.sessions() as session:
        plan = session.get(RestorePlan, plan_id)
        if plan is None:
            raise no_plan(plan_id)
        kind, _, name = plan.source.partition(":")
    return kind, name


def apply_stored(runtime: Runtime, request: ApplyRequest) -> Applied:
    """Apply a stored plan step by step, each read back, on behalf of the runtime's principal."""
    kind, name = _plan_kind(runtime, request.plan_id)
    if kind == ENTRA_KIND:
        tenant = one_tenant(runtime, name)
        request.on_revoked(revoke_pending_elevations(runtime, [], [tenant]))
        result = apply_guarded(
            runtime.sessions,
            tenant_access(runtime, tenant),
            request.plan_id,
            requested_by=runtime.principal,
        )
        return _applied(runtime, result)
    source = show_plan(runtime, request.plan_id).source
    domain = one_domain(runtime, source)
    request.on_revoked(revoke_pending_elevations(runtime, [domain]))
    result = apply_guarded(
        runtime.sessions,
        ad_access(runtime, domain),
        request.plan_id,
        requested_by=runtime.principal,
    )
    capture(runtime, domain)
    return _applied(runtime, result)


def undelete(runtime: Runtime, request: UndeleteRequest) -> Applied:
    """Plan and apply the undelete of one object under the same rules; it needs what a
    reanimation in the object's partition needs (its last known DN in the store; an object the
    store does not know is taken to be in the domain partition). With elevation the plan is made
    while elevated: the capture before planning must see the tombstone, which a read-only
    account may not be shown."""
    if request.tenant is not None:
        return _undelete_in_tenant(runtime, request)
    domain = one_domain(runtime, request.domain)
    request.on_revoked(revoke_pending_elevations(runtime, [domain]))
    with runtime.sessions() as session:
        known = find_objects(session, request.object_text, store_source(AD_KIND, domain.name))
    stored_dn = known[0].path if len(known) == 1 else None
    row = known[0].resource_type if len(known) == 1 else None
    probe = Step(
        op=StepKind.REANIMATE.value,
        target=Target(provider="ad", external_id="", label=stored_dn or "", resource_type=row),
        description=f"undelete {request.object_text}",
    )

    schemas: list[Schema] = []  # read once: by the capture before planning and the one after

    def make_plan() -> int:
        from dirguard.providers.ad.ldap_read import read_schema

        with runtime.open_ad(domain) as conn:
            try:
                schemas.append(read_schema(conn.ldap, conn.contexts.schema))
                return plan_undelete(
                    runtime.sessions,
                    conn,
                    domain,
                    request.object_text,
                    requested_by=runtime.principal,
                    to_ou=request.to_ou,
                    schema=schemas[-1],
                )
            except (PlanningError, HistoryQueryError, CaptureError) as error:
                raise ServiceError(str(error)) from None

    result = guarded(
        runtime.sessions,
        ad_access(runtime, domain),
        requested_by=runtime.principal,
        reason=f"undelete {request.object_text}",
        probe=[probe],
        make_plan=make_plan,
    )
    capture(runtime, domain, schema=schemas[-1] if schemas else None)
    return _applied(runtime, result)


def _undelete_in_tenant(runtime: Runtime, request: UndeleteRequest) -> Applied:
    """An Entra object back from deleted items (or anew) with its links, from history: planned
    from the store, applied under the same rights check."""
    tenant = one_tenant(runtime, request.tenant)
    source = store_source(ENTRA_KIND, tenant.name)
    try:
        with runtime.sessions.begin() as session:
            draft = history_plans.plan_undelete(entra(), session, source, request.object_text)
            plan_id = save_plan(
                session,
                source=source,
                requested_by=runtime.principal,
                selection={"undelete": request.object_text},
                force=False,
                draft=draft,
            ).id
    except (HistoryPlanningError, HistoryQueryError, Unplannable) as error:
        raise ServiceError(str(error)) from None
    request.on_revoked(revoke_pending_elevations(runtime, [], [tenant]))
    access = tenant_access(runtime, tenant)
    result = apply_guarded(runtime.sessions, access, plan_id, requested_by=runtime.principal)
    return _applied(runtime, result)


def check(runtime: Runtime, request: CheckRequest) -> CheckResult:
    """What applying the plan would do, writing nothing (``would``: apply, elevate, refuse)."""
    kind, name = _plan_kind(runtime, request.plan_id)
    if kind == ENTRA_KIND:
        access = tenant_access(runtime, one_tenant(runtime, name))
        return check_plan(runtime.sessions, access, request.plan_id)
    domain = runtime.ad_domains(name)[0]
    return check_plan(runtime.sessions, ad_access(runtime, domain), request.plan_id)
