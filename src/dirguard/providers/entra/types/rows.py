"""What every cloud row shares: identity from a top-level JSON field, restore rules of a type
written by one Guardian feature, and the builder that derives a Graph row's linked fields from
its declared links."""

from __future__ import annotations

from dataclasses import replace
from functools import cache
from typing import Any

from dirguard.catalog.graph_rules import GraphWrites
from dirguard.catalog.resource_type import (
    Collection,
    Content,
    GraphSource,
    Identifier,
    ResourceType,
    RestoreRules,
)

ENTRA_READ = ("guardian.entra.monitor", "guardian.entra.audit-events")
"""What reading any directory object needs: the directory itself and who changed it."""

ROLLBACK = "guardian.entra.rollback"
GROUPS_ROLLBACK = "guardian.entra.groups.rollback"
APPS_ROLLBACK = "guardian.entra.applications.rollback"
CA_ROLLBACK = "guardian.conditional-access.rollback"

SERVICE_MANAGED = (
    "is one per tenant, kept by the service (it cannot be deleted or created; its settings are "
    "written back)"
)


@cache
def json_identity(name: str) -> Identifier:
    """Reads the identity from top-level field ``name`` of a JSON object (one function per
    field, shared by the rows using it)."""

    def identify(content: Content) -> str | None:
        value = content.get(name)
        return None if value is None else str(value)

    return identify


def cloud_restore(
    rollback: str,
    *,
    deleted_items: bool = False,
    recreate: bool = True,
    delete: bool = True,
    refusal: str = "",
) -> RestoreRules:
    """Restore rules of a cloud type written by the Guardian feature ``rollback``.

    ``deleted_items``: a deleted object can be brought back with its id
    (``directory/deletedItems/{id}/restore``, 30 days), then links and attributes from history;
    otherwise it is created anew from history (``recreate``), with a new id."""
    if not refusal and not deleted_items and recreate and delete:
        refusal = (
            "cannot be brought back once deleted (the service keeps no deleted items): it "
            "is created anew from history, with a new id"
        )
    return RestoreRules(
        needs=(rollback,),
        reanimate=deleted_items,
        recreate=recreate,
        delete=delete,
        refusal=refusal,
    )


@cache
def singleton_identity(name: str) -> Identifier:
    """A tenant's one object of a kind is identified by its name (the last segment of its path):
    Graph answers some without an ``id`` (``crossTenantAccessPolicy/default``)."""

    def identify(content: Content) -> str | None:
        value = content.get("id")
        return name if value is None else str(value)

    return identify


def singleton_restore(rollback: str) -> RestoreRules:
    """A tenant-wide settings object: only its settings are written back."""
    return cloud_restore(rollback, recreate=False, delete=False, refusal=SERVICE_MANAGED)


def cloud(*, identity: str, **fields: Any) -> ResourceType:
    """A cloud row taking every object of its source, identified by a top-level field."""
    return ResourceType(
        provider="entra",
        selects=None,
        identity=identity,
        identify=json_identity(identity),
        **fields,
    )


def graph(
    *,
    source: GraphSource,
    writes: GraphWrites,
    identity: str = "id",
    **fields: Any,
) -> ResourceType:
    """A Graph row: collected by delta when the source names a delta function (else polled and
    hashed), its linked fields those of its declared links; a singleton is identified by its
    path's last segment when Graph gives it no id."""
    row = cloud(
        identity=identity,
        source=source,
        writes=writes,
        collection=Collection.GRAPH_DELTA if source.delta else Collection.POLL_HASH,
        linked_fields=frozenset(link.field for link in source.links),
        **fields,
    )
    if source.singleton:
        name = source.collection.rsplit("/", 1)[-1]
        row = replace(row, identify=singleton_identity(name))
    return row


def named_location_type(content: Content) -> str | None:
    """An IP ranges location or a countries location, by the fields only that type has."""
    if "ipRanges" in content or "isTrusted" in content:
        return "#microsoft.graph.ipNamedLocation"
    if "countriesAndRegions" in content or "countryLookupMethod" in content:
        return "#microsoft.graph.countryNamedLocation"
    return None


def method_configuration_type(content: Content) -> str | None:
    """A method configuration's type by its id (``Fido2`` ->
    ``#microsoft.graph.fido2AuthenticationMethodConfiguration``), as Microsoft's
    ``authenticationMethodConfiguration`` page lists them."""
    method = content.get("id")
    if isinstance(method, list):
        method = method[0] if method else None
    if not isinstance(method, str) or not method:
        return None
    return f"#microsoft.graph.{method[0].lower()}{method[1:]}AuthenticationMethodConfiguration"
