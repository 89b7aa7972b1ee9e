"""How the rollback use cases reach an Entra tenant: its write access (the tenant's application),
the refresh before planning (the actors the directory audit names by now) and what the live
tenant says of a plan before it is stored (:func:`with_tenant_warnings`).

Everything goes through the :class:`~dirguard.services.runtime.Runtime` (configuration, the
credential, the Graph client), so a missing tenant or a refused token is a
:class:`ServiceError` of the right kind. The Entra provider and the Graph client are imported
when a tenant is used: the AD rollback commands import this module too, and never need them.
"""

from __future__ import annotations

from dataclasses import replace
from functools import cache

from dirguard.config.schema import EntraTenantConfig
from dirguard.core.audit_record import AuditSourceError
from dirguard.core.plan import PlanDraft
from dirguard.providers.base import HistoryPlanner, StepWriter, store_source
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rollback.entra_access import KIND, entra_access
from dirguard.services.rollback.guarded_apply import WriteAccess
from dirguard.services.runtime import Runtime, choose_entra_tenant

ENTRA_KIND = KIND
"""The provider kind of Entra plans' sources (``entra:<tenant>``)."""


@cache
def entra() -> HistoryPlanner:
    """The Entra provider (imported at its first use)."""
    from dirguard.providers.entra.provider import EntraProvider

    return EntraProvider()


def one_tenant(runtime: Runtime, name: str | None) -> EntraTenantConfig:
    """The tenant named, or the only one configured."""
    return choose_entra_tenant(runtime.config, name)


def tenant_access(runtime: Runtime, tenant: EntraTenantConfig) -> WriteAccess:
    """Writes as the tenant's application; in read-only mode with ``elevation_client_id``, the
    elevation application grants it what the plan lacks (:mod:`.entra_access`)."""

    def writer() -> StepWriter:
        return entra().open_writer(runtime, tenant.name)

    return entra_access(runtime, tenant, writer)


def fill_tenant_actors(runtime: Runtime, tenant: EntraTenantConfig) -> None:
    """The actors the tenant's directory audit names by now, filled into the stored changes
    (late records included), so an actor's plan sees them."""
    from dirguard.providers.entra.directory_audit import DirectoryAuditSource
    from dirguard.providers.entra.graph_client import GraphAuthError, GraphError
    from dirguard.services.capture.actor_fill import fill_actors

    try:
        with runtime.open_entra(tenant) as graph, runtime.sessions.begin() as session:
            fill_actors(
                session,
                source=store_source(ENTRA_KIND, tenant.name),
                audit=DirectoryAuditSource(graph),
            )
    except (GraphError, GraphAuthError, AuditSourceError) as error:
        raise ServiceError(
            f"{tenant.name}: reading the directory audit: {error}", Problem.UNAVAILABLE
        ) from None


def with_tenant_warnings(
    runtime: Runtime, tenant: EntraTenantConfig, draft: PlanDraft
) -> PlanDraft:
    """``draft`` with the live tenant's warnings added (a purged object created anew, licences
    without free seats: :func:`~dirguard.providers.entra.preflight.plan_warnings`); reads only.
    A tenant that cannot be asked is a warning too: the plan is still made from history."""
    if not any(step.op in ("restore", "write-apart") for step in draft.steps):
        return draft
    from dirguard.providers.entra.graph_client import GraphAuthError, GraphError
    from dirguard.providers.entra.preflight import plan_warnings

    try:
        with runtime.open_entra(tenant) as graph:
            found = plan_warnings(graph, draft.steps)
    except (GraphError, GraphAuthError) as error:
        found = (f"{tenant.name}: could not check deleted items and free licence seats: {error}",)
    return replace(draft, warnings=(*draft.warnings, *found)) if found else draft
