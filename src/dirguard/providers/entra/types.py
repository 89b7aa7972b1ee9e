"""The cloud rows of the resource-type registry: Entra ID, Intune, Exchange Online, Azure.

They are read and written with the tenant's Guardian application, so their provider is
``entra``. Today they feed the generated docs and the permission checks; they gain readers and
writers with the Entra guardian. Graph field names are v1.0 property names (checked against
Microsoft's CSDL by the catalog contract test); Exchange fields are ``Get-Mailbox`` output
names; ARM fields are paths in the role-assignment JSON. Objects are identified by a top-level
field of their JSON (:func:`json_identity`); each row takes every object of its collection.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from dirguard.catalog.resource_type import (
    ArmSource,
    Collection,
    Content,
    ExchangeSource,
    GraphSource,
    Identifier,
    ResourceType,
    RestoreRules,
)


@cache
def json_identity(name: str) -> Identifier:
    """Reads the identity from top-level field ``name`` of a JSON object (one function per
    field, shared by the rows using it)."""

    def identify(content: Content) -> str | None:
        value = content.get(name)
        return None if value is None else str(value)

    return identify


def cloud_restore(rollback: str, *, deleted_items: bool = False) -> RestoreRules:
    """Restore rules of a cloud type written by the Guardian feature ``rollback``.

    ``deleted_items``: a deleted object can be brought back with its id
    (``directory/deletedItems/{id}/restore``, 30 days), then links and attributes from history;
    otherwise it is created anew from history."""
    return RestoreRules(
        needs=(rollback,),
        reanimate=deleted_items,
        refusal=""
        if deleted_items
        else "cannot be brought back once deleted (the service keeps no deleted items): it "
        "is created anew from history, with a new id",
    )


def _cloud(*, identity: str, **fields: Any) -> ResourceType:
    return ResourceType(
        provider="entra",
        selects=None,
        identity=identity,
        identify=json_identity(identity),
        **fields,
    )


ENTRA_READ = ("guardian.entra.monitor", "guardian.entra.audit-events")

ENTRA_TYPES: tuple[ResourceType, ...] = (
    _cloud(
        key="entra.user",
        title="Entra user",
        source=GraphSource(collection="users", entity="user"),
        identity="id",
        natural_key="userPrincipalName",
        collection=Collection.GRAPH_DELTA,
        read_features=ENTRA_READ,
        write_features=("guardian.entra.rollback", "administrator.web-actions.users"),
        restore=cloud_restore("guardian.entra.rollback", deleted_items=True),
        read_only_fields=frozenset(
            {"id", "createdDateTime", "securityIdentifier", "onPremisesSecurityIdentifier"}
        ),
        volatile_fields=frozenset({"signInActivity", "onPremisesLastSyncDateTime"}),
        unordered_fields=frozenset({"businessPhones", "otherMails", "proxyAddresses"}),
        linked_fields=frozenset({"manager"}),
    ),
    _cloud(
        key="entra.group",
        title="Entra group",
        source=GraphSource(collection="groups", entity="group"),
        identity="id",
        natural_key="displayName",
        collection=Collection.GRAPH_DELTA,
        read_features=(*ENTRA_READ, "guardian.entra.groups.monitor"),
        write_features=("guardian.entra.groups.rollback", "administrator.web-actions.groups"),
        restore=cloud_restore("guardian.entra.groups.rollback", deleted_items=True),
        read_only_fields=frozenset({"id", "createdDateTime", "securityIdentifier"}),
        volatile_fields=frozenset({"renewedDateTime", "onPremisesLastSyncDateTime"}),
        unordered_fields=frozenset({"groupTypes", "proxyAddresses", "members", "owners"}),
        linked_fields=frozenset({"members", "owners"}),
    ),
    _cloud(
        key="entra.application",
        title="Entra application registration",
        source=GraphSource(collection="applications", entity="application"),
        identity="id",
        natural_key="displayName",
        collection=Collection.GRAPH_DELTA,
        read_features=("guardian.entra.applications.monitor",),
        write_features=("guardian.entra.applications.rollback",),
        restore=cloud_restore("guardian.entra.applications.rollback", deleted_items=True),
        read_only_fields=frozenset({"id", "appId", "createdDateTime", "publisherDomain"}),
        unordered_fields=frozenset({"identifierUris", "tags", "owners"}),
        linked_fields=frozenset({"owners"}),
    ),
    _cloud(
        key="entra.service_principal",
        title="Entra service principal",
        source=GraphSource(collection="servicePrincipals", entity="servicePrincipal"),
        identity="id",
        natural_key="displayName",
        collection=Collection.GRAPH_DELTA,
        read_features=("guardian.entra.applications.monitor",),
        write_features=("guardian.entra.applications.rollback",),
        restore=cloud_restore("guardian.entra.applications.rollback", deleted_items=True),
        read_only_fields=frozenset({"id", "appId", "appOwnerOrganizationId"}),
        unordered_fields=frozenset({"servicePrincipalNames", "tags", "owners"}),
        linked_fields=frozenset({"owners", "appRoleAssignedTo"}),
    ),
    _cloud(
        key="entra.directory_role_assignment",
        title="Entra directory role assignment",
        source=GraphSource(
            collection="roleManagement/directory/roleAssignments", entity="unifiedRoleAssignment"
        ),
        identity="id",
        natural_key="principalId",
        collection=Collection.POLL_HASH,
        read_features=("guardian.entra.role-assignments.monitor",),
        write_features=("guardian.entra.role-assignments.rollback",),
        restore=cloud_restore("guardian.entra.role-assignments.rollback"),
        read_only_fields=frozenset({"id"}),
    ),
    _cloud(
        key="entra.conditional_access_policy",
        title="Conditional Access policy",
        source=GraphSource(
            collection="identity/conditionalAccess/policies", entity="conditionalAccessPolicy"
        ),
        identity="id",
        natural_key="displayName",
        collection=Collection.POLL_HASH,
        read_features=("guardian.conditional-access.monitor",),
        write_features=("guardian.conditional-access.rollback",),
        restore=cloud_restore("guardian.conditional-access.rollback"),
        read_only_fields=frozenset({"id", "createdDateTime"}),
        volatile_fields=frozenset({"modifiedDateTime"}),
    ),
    _cloud(
        key="entra.named_location",
        title="Conditional Access named location",
        source=GraphSource(
            collection="identity/conditionalAccess/namedLocations", entity="namedLocation"
        ),
        identity="id",
        natural_key="displayName",
        collection=Collection.POLL_HASH,
        read_features=("guardian.conditional-access.monitor",),
        write_features=("guardian.conditional-access.rollback",),
        restore=cloud_restore("guardian.conditional-access.rollback"),
        read_only_fields=frozenset({"id", "createdDateTime"}),
        volatile_fields=frozenset({"modifiedDateTime"}),
        unordered_fields=frozenset({"ipRanges", "countriesAndRegions"}),
    ),
    _cloud(
        key="entra.authorization_policy",
        title="Entra authorization policy",
        source=GraphSource(collection="policies/authorizationPolicy", entity="authorizationPolicy"),
        identity="id",
        natural_key="displayName",
        collection=Collection.POLL_HASH,
        read_features=("guardian.entra.authorization-policy.monitor",),
        write_features=("guardian.entra.authorization-policy.rollback",),
        restore=cloud_restore("guardian.entra.authorization-policy.rollback"),
        read_only_fields=frozenset({"id"}),
    ),
    _cloud(
        key="intune.managed_device",
        title="Intune managed device",
        source=GraphSource(collection="deviceManagement/managedDevices", entity="managedDevice"),
        identity="id",
        natural_key="deviceName",
        collection=Collection.POLL_HASH,
        read_features=("guardian.intune.managed-devices.monitor",),
        write_features=("guardian.intune.managed-devices.rollback", "administrator.device-actions"),
        restore=cloud_restore("guardian.intune.managed-devices.rollback"),
        read_only_fields=frozenset(
            {"id", "enrolledDateTime", "serialNumber", "imei", "azureADDeviceId"}
        ),
        volatile_fields=frozenset({"lastSyncDateTime", "freeStorageSpaceInBytes"}),
    ),
    _cloud(
        key="exchange.mailbox",
        title="Exchange Online mailbox",
        source=ExchangeSource(cmdlet="Get-Mailbox", parameters=(("ResultSize", "Unlimited"),)),
        identity="ExchangeGuid",
        natural_key="PrimarySmtpAddress",
        collection=Collection.POLL_HASH,
        read_features=("guardian.exchange.monitor",),
        write_features=("guardian.exchange.rollback",),
        restore=cloud_restore("guardian.exchange.rollback"),
        read_only_fields=frozenset(
            {"ExchangeGuid", "Guid", "ExternalDirectoryObjectId", "WhenCreated", "WhenCreatedUTC"}
        ),
        volatile_fields=frozenset({"WhenChanged", "WhenChangedUTC"}),
        unordered_fields=frozenset({"EmailAddresses"}),
    ),
    _cloud(
        key="azure.role_assignment",
        title="Azure RBAC role assignment",
        source=ArmSource(
            provider_path="providers/Microsoft.Authorization/roleAssignments",
            api_version="2022-04-01",
        ),
        identity="id",
        natural_key="properties.principalId",
        collection=Collection.POLL_HASH,
        read_features=("guardian.azure-rbac.monitor",),
        write_features=("guardian.azure-rbac.rollback",),
        restore=cloud_restore("guardian.azure-rbac.rollback"),
        read_only_fields=frozenset(
            {"id", "name", "type", "properties.createdOn", "properties.createdBy"}
        ),
        volatile_fields=frozenset({"properties.updatedOn", "properties.updatedBy"}),
    ),
)
