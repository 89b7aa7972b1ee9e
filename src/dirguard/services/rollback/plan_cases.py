"""The planning use cases: ``rollback plan`` (by event, object and time, actor and window, or
under an OU), ``restore --at`` and showing a stored plan. Nothing is written to a directory.

With ``refresh`` (the default) a capture pass runs first, so conflicts are judged against the
directory's current state, and each deleted object is looked up with the Show-Deleted control:
one with no tombstone left is re-created from history instead (said in the plan).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dirguard.core.plan import PlanDraft
from dirguard.providers.ad import KIND as AD_KIND
from dirguard.providers.ad.plan.restore_plan import PlanningError, RestorePlanDraft
from dirguard.providers.base import Unplannable, store_source
from dirguard.services.errors import ServiceError
from dirguard.services.history import HistoryQueryError
from dirguard.services.rollback import history_plans, plans, subtree_plans
from dirguard.services.rollback.ad_access import AD, one_domain, refreshed
from dirguard.services.rollback.history_plans import HistoryPlanningError
from dirguard.services.rollback.plan_store import StoredPlan, load_plan, save_plan
from dirguard.services.rollback.plans import TombstoneCheck
from dirguard.services.rollback.tenant_access import (
    ENTRA_KIND,
    entra,
    fill_tenant_actors,
    one_tenant,
    with_tenant_warnings,
)
from dirguard.services.runtime import Runtime


@dataclass(frozen=True, kw_only=True)
class ByEvent:
    sequence: int
    """The change number, as ``dirguard changes`` shows it."""


@dataclass(frozen=True, kw_only=True)
class ObjectAt:
    object_text: str
    at: datetime


@dataclass(frozen=True, kw_only=True)
class ByActor:
    actor: str
    since: datetime
    until: datetime | None = None
    include_unattributed: bool = False


@dataclass(frozen=True, kw_only=True)
class UnderOu:
    base_dn: str
    since: datetime
    until: datetime | None = None


Selection = ByEvent | ObjectAt | ByActor | UnderOu


@dataclass(frozen=True, kw_only=True)
class PlanRequest:
    selection: Selection
    domain: str | None = None
    tenant: str | None = None
    """An Entra tenant's name: plan for it instead of an AD domain."""
    force: bool = False
    disable_instead: bool = False
    refresh: bool = True
    given: Mapping[str, object] = field(default_factory=dict)
    """The selection as the person gave it, stored with the plan."""


@dataclass(frozen=True, kw_only=True)
class RestoreRequest:
    object_text: str
    at: datetime
    domain: str | None = None
    tenant: str | None = None
    refresh: bool = True


@dataclass(frozen=True, kw_only=True)
class RestorePlanned:
    """A restore's plan, or ``None`` when the object already is as it was."""

    object_text: str
    at: datetime
    plan: StoredPlan | None

    def as_dict(self) -> dict[str, Any]:
        if self.plan is None:
            return {"object": self.object_text, "at": self.at.isoformat(), "plan": None}
        return {**self.plan.as_dict(), "apply_with": f"dirguard rollback apply {self.plan.id}"}


def _draft(
    session: Session,
    source: str,
    request: PlanRequest,
    tombstones: TombstoneCheck | None,
) -> RestorePlanDraft:
    chosen, force, disable = request.selection, request.force, request.disable_instead
    if isinstance(chosen, ByEvent):
        return plans.plan_for_event(
            session,
            source,
            chosen.sequence,
            force=force,
            disable_instead=disable,
            tombstones=tombstones,
        )
    if isinstance(chosen, ObjectAt):
        return plans.plan_for_object(
            session, source, chosen.object_text, chosen.at, tombstones=tombstones
        )
    if isinstance(chosen, UnderOu):
        return subtree_plans.plan_for_subtree(
            session,
            source,
            chosen.base_dn,
            chosen.since,
            chosen.until,
            force=force,
            disable_instead=disable,
            tombstones=tombstones,
        )
    return plans.plan_for_actor(
        session,
        source,
        chosen.actor,
        chosen.since,
        chosen.until,
        force=force,
        include_unattributed=chosen.include_unattributed,
        disable_instead=disable,
        tombstones=tombstones,
    )


def _tenant_draft(session: Session, source: str, request: PlanRequest) -> PlanDraft:
    chosen, force = request.selection, request.force
    if isinstance(chosen, ByEvent):
        return history_plans.plan_event(entra(), session, source, chosen.sequence, force)
    if isinstance(chosen, ObjectAt):
        return history_plans.plan_object_at(entra(), session, source, chosen.object_text, chosen.at)
    if isinstance(chosen, UnderOu):
        raise ServiceError("--under names an AD OU; an Entra tenant has none")
    return history_plans.plan_actor(
        entra(),
        session,
        source,
        chosen.actor,
        chosen.since,
        chosen.until,
        force=force,
        include_unattributed=chosen.include_unattributed,
    )


def _save_tenant_plan(
    runtime: Runtime,
    tenant_name: str | None,
    refresh: bool,
    draft_of: Callable[[Session, str], PlanDraft],
    *,
    selection: dict[str, Any],
    force: bool,
    empty_ok: bool = False,
) -> int | None:
    tenant = one_tenant(runtime, tenant_name)
    if refresh:
        fill_tenant_actors(runtime, tenant)
    try:
        with runtime.sessions.begin() as session:
            source = store_source(ENTRA_KIND, tenant.name)
            draft = draft_of(session, source)
            if empty_ok and not draft.steps:
                return None
            draft = with_tenant_warnings(runtime, tenant, draft)
            return save_plan(
                session,
                source=source,
                requested_by=runtime.principal,
                selection=selection,
                force=force,
                draft=draft,
            ).id
    except (HistoryPlanningError, Unplannable, HistoryQueryError) as error:
        raise ServiceError(str(error)) from None


def make_plan(runtime: Runtime, request: PlanRequest) -> StoredPlan:
    """Make and store the plan for one selection; the stored plan."""
    if request.tenant is not None:
        plan_id = _save_tenant_plan(
            runtime,
            request.tenant,
            request.refresh,
            lambda session, source: _tenant_draft(session, source, request),
            selection=dict(request.given),
            force=request.force,
        )
        assert plan_id is not None
        return show_plan(runtime, plan_id)
    domain = one_domain(runtime, request.domain)
    with refreshed(runtime, domain, request.refresh) as tombstones:
        try:
            with runtime.sessions.begin() as session:
                source = store_source(AD_KIND, domain.name)
                draft = _draft(session, source, request, tombstones)
                plan_id = save_plan(
                    session,
                    source=source,
                    requested_by=runtime.principal,
                    selection=dict(request.given),
                    force=request.force,
                    draft=AD.plan_steps(draft),
                ).id
        except (PlanningError, HistoryQueryError) as error:
            raise ServiceError(str(error)) from None
    return show_plan(runtime, plan_id)


def plan_restore(runtime: Runtime, request: RestoreRequest) -> RestorePlanned:
    """Plan one object back to its recorded state at a moment (stored unless nothing differs)."""
    plan_id: int | None = None
    if request.tenant is not None:
        plan_id = _save_tenant_plan(
            runtime,
            request.tenant,
            request.refresh,
            lambda session, source: history_plans.plan_object_at(
                entra(), session, source, request.object_text, request.at
            ),
            selection={"restore": request.object_text, "at": request.at.isoformat()},
            force=False,
            empty_ok=True,
        )
        plan = None if plan_id is None else show_plan(runtime, plan_id)
        return RestorePlanned(object_text=request.object_text, at=request.at, plan=plan)
    domain = one_domain(runtime, request.domain)
    with refreshed(runtime, domain, request.refresh) as tombstones:
        try:
            with runtime.sessions.begin() as session:
                source = store_source(AD_KIND, domain.name)
                draft = plans.plan_for_object(
                    session, source, request.object_text, request.at, tombstones=tombstones
                )
                if draft.steps:
                    plan_id = save_plan(
                        session,
                        source=source,
                        requested_by=runtime.principal,
                        selection={"restore": request.object_text, "at": request.at.isoformat()},
                        force=False,
                        draft=AD.plan_steps(draft),
                    ).id
        except (PlanningError, HistoryQueryError) as error:
            raise ServiceError(str(error)) from None
    plan = None if plan_id is None else show_plan(runtime, plan_id)
    return RestorePlanned(object_text=request.object_text, at=request.at, plan=plan)


def show_plan(runtime: Runtime, plan_id: int) -> StoredPlan:
    """A stored plan with its steps and their outcomes."""
    with runtime.sessions() as session:
        return load_plan(session, plan_id)
