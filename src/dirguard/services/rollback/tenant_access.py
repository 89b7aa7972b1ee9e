"""How the rollback use cases reach an Entra tenant: its write access (the tenant's application),
and the refresh before planning (the actors the directory audit names by now).

Everything goes through the :class:`~dirguard.services.runtime.Runtime` (configuration, the
credential, the Graph client), so a missing tenant or a refused token is a
:class:`ServiceError` of the right kind.
"""

from __future__ import annotations

from dirguard.catalog.permission_model import Mode
from dirguard.config.schema import EntraTenantConfig
from dirguard.core.audit_record import AuditSourceError
from dirguard.providers.base import HistoryPlanner, StepWriter, store_source
from dirguard.providers.entra.directory_audit import DirectoryAuditSource
from dirguard.providers.entra.graph_client import GraphAuthError, GraphError
from dirguard.providers.entra.provider import EntraProvider
from dirguard.services.capture.actor_fill import fill_actors
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rollback.guarded_apply import WriteAccess
from dirguard.services.runtime import Runtime, choose_entra_tenant

ENTRA: HistoryPlanner = EntraProvider()


def one_tenant(runtime: Runtime, name: str | None) -> EntraTenantConfig:
    """The tenant named, or the only one configured."""
    return choose_entra_tenant(runtime.config, name)


def tenant_access(runtime: Runtime, tenant: EntraTenantConfig) -> WriteAccess:
    def writer() -> StepWriter:
        return ENTRA.open_writer(runtime, tenant.name)

    return WriteAccess(
        source=store_source(ENTRA.kind, tenant.name),
        read_only=tenant.mode is Mode.READ_ONLY,
        mode=tenant.mode.value,
        account=str(tenant.client_id),
        elevator_account=None,
        writer=writer,
        grants=None,
    )


def fill_tenant_actors(runtime: Runtime, tenant: EntraTenantConfig) -> None:
    """The actors the tenant's directory audit names by now, filled into the stored changes
    (late records included), so an actor's plan sees them."""
    try:
        with runtime.open_entra(tenant) as graph, runtime.sessions.begin() as session:
            fill_actors(
                session,
                source=store_source(ENTRA.kind, tenant.name),
                audit=DirectoryAuditSource(graph),
            )
    except (GraphError, GraphAuthError, AuditSourceError) as error:
        raise ServiceError(
            f"{tenant.name}: reading the directory audit: {error}", Problem.UNAVAILABLE
        ) from None
