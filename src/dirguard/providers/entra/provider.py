"""The Entra ID provider: Microsoft Graph for one tenant (with Intune, Exchange Online and Azure
RBAC, read and written through the tenant's Guardian application).

What the :class:`~dirguard.providers.base.ReadingProvider` protocol asks of every provider: its
kind, its rows of the resource-type registry, what an object's state says of its store row, and
how a configured tenant is opened for reading (:class:`~dirguard.providers.entra.read.EntraReader`
over an authenticated :class:`GraphClient`: the tenant's authority and Graph URL — a national
cloud's, or the sandbox tenant's —, its CA bundle, its secret or certificate).

Credential references are resolved by the runtime (``services/runtime.py``, ``connect_entra``):
providers import no services.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from dirguard.catalog.resource_type import ResourceType
from dirguard.config.schema import EntraTenantConfig
from dirguard.core.plan import PlanDraft
from dirguard.providers.base import (
    Connections,
    Content,
    ObjectFacts,
    RecordedChange,
    RecordedObject,
)
from dirguard.providers.entra.graph_content import graph_id_of, is_deleted, object_path
from dirguard.providers.entra.types import ENTRA_TYPES

if TYPE_CHECKING:
    # httpx, azure-identity and the Graph client are imported where a tenant is opened: every
    # command that reads the store (an AD undelete, say) imports this module through the
    # reading providers, and they were a fifth of its start-up.
    import httpx
    from azure.core.credentials import TokenCredential

    from dirguard.providers.entra.apply import EntraStepWriter
    from dirguard.providers.entra.graph_client import GraphClient
    from dirguard.providers.entra.read import EntraReader


def tenant_label(tenant: EntraTenantConfig) -> str:
    """How messages name the tenant: its configured name and id."""
    return f"{tenant.name} ({tenant.tenant_id})"


def tenant_credential(tenant: EntraTenantConfig, secret: str) -> TokenCredential:
    """The Guardian application's credential: ``secret`` is the resolved ``client_secret``, or
    the PEM (certificate and key) the ``certificate`` reference names.

    Open one credential per resource (Graph, Resource Manager): a certificate credential reuses
    its signed client assertion for a while, and an assertion is good for one token request of
    one resource (its ``jti`` is not to be replayed)."""
    from dirguard.providers.entra.graph_client import make_credential

    with_secret = tenant.client_secret is not None
    return make_credential(
        tenant_id=str(tenant.tenant_id),
        client_id=str(tenant.client_id),
        authority=tenant.authority,
        ca_file=tenant.ca_file,
        client_secret=secret if with_secret else None,
        certificate_pem=None if with_secret else secret,
    )


def open_graph(
    tenant: EntraTenantConfig,
    secret: str,
    *,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> GraphClient:
    """A Graph client for the configured tenant, acting as its Guardian application.

    ``transport``, ``clock`` and ``sleep`` are for tests (the product passes none)."""
    from dirguard.providers.entra.graph_client import GraphClient

    return GraphClient(
        tenant_id=tenant_label(tenant),
        credential=tenant_credential(tenant, secret),
        graph_url=tenant.graph_url,
        ca_file=tenant.ca_file,
        secret=secret,
        clock=clock,
        sleep=sleep,
        transport=transport,
    )


class EntraProvider:
    """Entra ID (and the Microsoft 365 services read through it) as a kind of source."""

    @property
    def kind(self) -> str:
        return "entra"

    def resource_types(self) -> tuple[ResourceType, ...]:
        """The cloud rows (``providers/entra/types/``), in declaration order."""
        return ENTRA_TYPES

    def open(self, runtime: Connections, name: str) -> GraphClient:
        """The configured tenant ``name`` as its application, through the runtime (which
        resolves the credential and calls :func:`open_graph`)."""
        from dirguard.providers.entra.graph_client import GraphClient

        graph = runtime.connection("entra", name)
        if not isinstance(graph, GraphClient):
            raise TypeError(f"the runtime opened {type(graph).__name__} for tenant {name!r}")
        return graph

    def open_reader(self, runtime: Connections, name: str) -> EntraReader:
        """The configured tenant ``name``, as its application, for reading."""
        from dirguard.providers.entra.read import EntraReader

        return EntraReader(self.open(runtime, name), runtime.source_config("entra", name))

    def object_facts(
        self, resource_type: ResourceType, content: Content, known_path: str | None = None
    ) -> ObjectFacts:
        """Its path ``{collection}/{id}``, deleted when it carries the deletion marker, its
        natural key (the row's, e.g. ``userPrincipalName``)."""
        identity = graph_id_of(resource_type, content)
        path = object_path(resource_type, identity, content) if identity else (known_path or "")
        values = content.get(resource_type.natural_key) or []
        return ObjectFacts(
            path=path,
            deleted=is_deleted(content),
            natural_key=str(values[0]) if values else None,
        )

    # ---- writing back: plans from recorded history (providers/entra/plan.py) and a Graph
    # step writer (providers/entra/apply.py)

    def plan_steps(self, draft: PlanDraft) -> PlanDraft:
        """The Entra planner's drafts are already source-neutral steps."""
        return draft

    def plan_changes(
        self,
        changes: Sequence[RecordedChange],
        objects: Mapping[str, RecordedObject],
        *,
        force: bool,
    ) -> PlanDraft:
        from dirguard.providers.entra.plan import plan_changes

        return plan_changes(changes, objects, force=force)

    def plan_state(self, obj: RecordedObject, state: Content) -> PlanDraft:
        from dirguard.providers.entra.plan import plan_state

        return plan_state(obj, state)

    def open_writer(self, runtime: Connections, name: str) -> EntraStepWriter:
        """The configured tenant ``name`` as its application, for writing plan steps."""
        from dirguard.providers.entra.apply import EntraStepWriter

        tenant = runtime.source_config("entra", name)
        return EntraStepWriter(self.open(runtime, name), tenant=name, graph_url=tenant.graph_url)
