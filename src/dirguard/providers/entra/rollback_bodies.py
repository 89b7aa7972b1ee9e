"""Graph write bodies built from stored Entra state (pure): what a PATCH of one property or the
POST that re-creates an object sends, and where an object lives.

dirguard stores every property as a list of values (a collection as it is, a scalar as one
value). Graph wants a scalar property as the value and a collection as a JSON array, leaves out
what it computes (read-only properties: ``id``, ``createdDateTime``…), refuses the properties
its own actions write (credentials: ``addPassword``/``removePassword``), and wants the
``@odata.type`` of a derived type on create (a named location is an ``ipNamedLocation`` or a
``countryNamedLocation``, "Create namedLocation",
https://learn.microsoft.com/graph/api/conditionalaccessroot-post-namedlocations).

This is the minimal rule set the rollback needs until each resource type declares its own write
body rules in the catalog (``providers/entra/types.py``); it reads the row's read-only, volatile
and linked fields and knows which top-level properties of the guarded types are collections.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dirguard.catalog.resource_type import GraphSource, ResourceType
from dirguard.providers.entra.graph_content import DELETED, multi_valued

ODATA_TYPE = "@odata.type"
COLLECTIONS = frozenset(
    {
        "businessPhones",
        "otherMails",
        "proxyAddresses",
        "imAddresses",
        "identities",
        "assignedLicenses",
        "groupTypes",
        "identifierUris",
        "tags",
        "ipRanges",
        "countriesAndRegions",
        "servicePrincipalNames",
        "replyUrls",
        "notificationEmailAddresses",
        "alternativeNames",
        "appRoles",
        "oauth2PermissionScopes",
        "requiredResourceAccess",
        "keyCredentials",
        "passwordCredentials",
        "permissionGrantPolicyIdsAssignedToDefaultUserRole",
        "members",
        "owners",
    }
)
"""Top-level properties of the guarded types that are collections (``Collection(...)`` in
Microsoft's CSDL); every other property is written as one value."""
ACTION_WRITTEN = frozenset({"passwordCredentials", "keyCredentials"})
"""Properties Graph writes only through actions (a PATCH or create with them is refused for
passwords; their secrets are never stored anyway)."""
NEVER_WRITTEN = frozenset(
    {
        "deletedDateTime",
        "createdDateTime",
        "renewedDateTime",
        "expirationDateTime",
        "proxyAddresses",
        "securityIdentifier",
        "onPremisesSyncEnabled",
        "onPremisesSecurityIdentifier",
        "onPremisesLastSyncDateTime",
        "onPremisesProvisioningErrors",
    }
)
"""Properties Microsoft's pages mark read-only on the guarded types (set by the service)."""
READ_ONLY_BY_ENTITY = {"group": frozenset({"mail"})}
"""Read-only on one Graph entity only: a group's ``mail`` is set by Exchange (a user's is
writable)."""


def is_collection(attribute: str) -> bool:
    return attribute in COLLECTIONS


def as_graph_value(attribute: str, values: Any) -> Any:
    """A stored value (a list of values, or an event's scalar) as Graph writes ``attribute``."""
    items = values if isinstance(values, list) else [] if values is None else [values]
    if is_collection(attribute):
        return list(items)
    return items[0] if items else None


def collection_path(resource_type: ResourceType) -> str:
    source = resource_type.source
    if not isinstance(source, GraphSource):
        raise ValueError(f"{resource_type.key} is not read from Microsoft Graph")
    return source.collection


def _entity(resource_type: ResourceType) -> str:
    source = resource_type.source
    return source.entity if isinstance(source, GraphSource) else ""


def item_path(resource_type: ResourceType, external_id: str) -> str:
    """Where the object lives: ``{collection}/{id}``, or the collection itself for a singleton
    (``policies/authorizationPolicy``, whose id is its last segment)."""
    collection = collection_path(resource_type)
    if "/" in external_id:
        return external_id  # stored by its path (a singleton policy, a delegated grant)
    if collection.rsplit("/", 1)[-1] == external_id:
        return collection
    return f"{collection}/{external_id}"


def patch_body(attribute: str, values: Any) -> dict[str, Any]:
    return {attribute: as_graph_value(attribute, values)}


def graph_json(resource_type: ResourceType, content: Mapping[str, list[Any]]) -> dict[str, Any]:
    """Stored content (each field a list of values) as Graph JSON: a collection as an array,
    a scalar as its value; the store's deletion marker left out."""
    multi = multi_valued(resource_type)
    found: dict[str, Any] = {}
    for key, values in content.items():
        if key == DELETED:
            continue
        items = list(values) if isinstance(values, list) else [values]
        if key.lower() in multi or is_collection(key):
            found[key] = items
        elif items:
            found[key] = items[0]
    return found
