"""The resource-type table: one ``ResourceType`` row per kind of object dirguard keeps.

Read and write features are feature keys from ``features.py``; the permissions a type needs in a
mode follow from them through the manifest. AD field names are LDAP display names; Graph field
names are v1.0 property names (checked against Microsoft's CSDL); Exchange fields are
``Get-Mailbox`` output names; ARM fields are paths in the role-assignment JSON.
"""

from __future__ import annotations

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Mode, Permission
from dirguard.catalog.resource_type import (
    ArmSource,
    Collection,
    ExchangeSource,
    GraphSource,
    LdapSource,
    Partition,
    ResourceType,
    ResourceTypeRegistry,
)

# ---- Active Directory --------------------------------------------------------------------

AD_READ_ONLY = frozenset(
    {
        "objectGUID",
        "objectSid",
        "whenCreated",
        "objectCategory",
        "instanceType",
        "isCriticalSystemObject",
        "memberOf",
        "directReports",
        "isDeleted",
        "lastKnownParent",
        "distinguishedName",
    }
)
"""Set by the directory (or back links computed from forward links); never written on restore.

``distinguishedName`` changes only by rename/move, which restore does as its own step."""

AD_VOLATILE = frozenset(
    {
        "whenChanged",
        "uSNChanged",
        "uSNCreated",
        "dSCorePropagationData",
        "replPropertyMetaData",
        "msDS-ReplAttributeMetaData",
        "msDS-ReplValueMetaData",
        "lastLogon",
        "lastLogonTimestamp",
        "lastLogoff",
        "logonCount",
        "badPwdCount",
        "badPasswordTime",
        "modifiedCount",
    }
)
"""Counters and replication bookkeeping that change on their own. ``pwdLastSet`` is *not* here:
a password change is a change worth recording."""

AD_READ = ("guardian.ad.collect-changes", "guardian.ad.collect-events")
AD_RESTORE_HOOKS = ("reanimate-tombstone", "restore-links-from-history")


def _ad(
    key: str,
    title: str,
    ldap_filter: str,
    natural_key: str,
    *,
    partition: Partition = Partition.DOMAIN,
    write: tuple[str, ...] = ("guardian.ad.rollback.domain", "guardian.ad.recover-deleted"),
    read_only: frozenset[str] = frozenset(),
    volatile: frozenset[str] = frozenset(),
    unordered: frozenset[str] = frozenset(),
    linked: frozenset[str] = frozenset(),
    restore_hooks: tuple[str, ...] = AD_RESTORE_HOOKS,
) -> ResourceType:
    return ResourceType(
        key=key,
        title=title,
        source=LdapSource(partition=partition, ldap_filter=ldap_filter),
        identity="objectGUID",
        natural_key=natural_key,
        collection=Collection.DIRSYNC,
        read_features=AD_READ,
        write_features=write,
        read_only_fields=AD_READ_ONLY | read_only,
        volatile_fields=AD_VOLATILE | volatile,
        unordered_fields=frozenset({"objectClass"}) | unordered,
        linked_fields=linked,
        restore_hooks=restore_hooks,
    )


AD_TYPES: tuple[ResourceType, ...] = (
    _ad(
        "ad.user",
        "AD user",
        "(&(objectCategory=person)(objectClass=user))",
        "sAMAccountName",
        read_only=frozenset({"sAMAccountType", "tokenGroups"}),
        unordered=frozenset({"servicePrincipalName", "proxyAddresses", "otherMailbox"}),
        linked=frozenset({"manager"}),
    ),
    _ad(
        "ad.group",
        "AD group",
        "(objectClass=group)",
        "sAMAccountName",
        read_only=frozenset({"sAMAccountType"}),
        unordered=frozenset({"member", "proxyAddresses"}),
        linked=frozenset({"member", "managedBy"}),
    ),
    _ad(
        "ad.computer",
        "AD computer",
        "(objectClass=computer)",
        "sAMAccountName",
        read_only=frozenset({"sAMAccountType"}),
        unordered=frozenset({"servicePrincipalName", "dNSHostName"}),
        linked=frozenset({"managedBy"}),
    ),
    _ad(
        "ad.organizational_unit",
        "AD organizational unit",
        "(objectClass=organizationalUnit)",
        "ou",
        linked=frozenset({"managedBy"}),
    ),
    _ad(
        "ad.contact",
        "AD contact",
        "(objectClass=contact)",
        "cn",
        unordered=frozenset({"proxyAddresses"}),
        linked=frozenset({"manager"}),
    ),
    _ad(
        "ad.gpo",
        "AD group policy container",
        "(objectClass=groupPolicyContainer)",
        "displayName",
    ),
    _ad(
        "ad.domain_object",
        "AD domain partition object (any other class: containers, domain head, ...)",
        "(objectClass=*)",
        "distinguishedName",
    ),
    _ad(
        "ad.configuration_object",
        "AD configuration partition object",
        "(objectClass=*)",
        "distinguishedName",
        partition=Partition.CONFIGURATION,
        write=("guardian.ad.rollback.configuration",),
    ),
    _ad(
        "ad.schema_object",
        "AD schema definition",
        "(|(objectClass=attributeSchema)(objectClass=classSchema))",
        "lDAPDisplayName",
        partition=Partition.SCHEMA,
        write=("guardian.ad.rollback.schema",),
        read_only=frozenset({"attributeID", "governsID", "schemaIDGUID", "attributeSyntax"}),
        restore_hooks=(),  # schema objects are never deleted, only made defunct
    ),
)

# ---- Microsoft Entra ID, Intune, Exchange Online, Azure ------------------------------------

GRAPH_DELETED_ITEM = ("restore-deleted-item",)
"""``directory/deletedItems/{id}/restore`` (30 days), then links and attributes from history."""

ENTRA_READ = ("guardian.entra.monitor", "guardian.entra.audit-events")

CLOUD_TYPES: tuple[ResourceType, ...] = (
    ResourceType(
        key="entra.user",
        title="Entra user",
        source=GraphSource(collection="users"),
        identity="id",
        natural_key="userPrincipalName",
        collection=Collection.GRAPH_DELTA,
        read_features=ENTRA_READ,
        write_features=("guardian.entra.rollback", "administrator.web-actions.users"),
        read_only_fields=frozenset(
            {"id", "createdDateTime", "securityIdentifier", "onPremisesSecurityIdentifier"}
        ),
        volatile_fields=frozenset({"signInActivity", "onPremisesLastSyncDateTime"}),
        unordered_fields=frozenset({"businessPhones", "otherMails", "proxyAddresses"}),
        linked_fields=frozenset({"manager"}),
        restore_hooks=GRAPH_DELETED_ITEM,
    ),
    ResourceType(
        key="entra.group",
        title="Entra group",
        source=GraphSource(collection="groups"),
        identity="id",
        natural_key="displayName",
        collection=Collection.GRAPH_DELTA,
        read_features=(*ENTRA_READ, "guardian.entra.groups.monitor"),
        write_features=("guardian.entra.groups.rollback", "administrator.web-actions.groups"),
        read_only_fields=frozenset({"id", "createdDateTime", "securityIdentifier"}),
        volatile_fields=frozenset({"renewedDateTime", "onPremisesLastSyncDateTime"}),
        unordered_fields=frozenset({"groupTypes", "proxyAddresses", "members", "owners"}),
        linked_fields=frozenset({"members", "owners"}),
        restore_hooks=GRAPH_DELETED_ITEM,
    ),
    ResourceType(
        key="entra.application",
        title="Entra application registration",
        source=GraphSource(collection="applications"),
        identity="id",
        natural_key="displayName",
        collection=Collection.GRAPH_DELTA,
        read_features=("guardian.entra.applications.monitor",),
        write_features=("guardian.entra.applications.rollback",),
        read_only_fields=frozenset({"id", "appId", "createdDateTime", "publisherDomain"}),
        unordered_fields=frozenset({"identifierUris", "tags", "owners"}),
        linked_fields=frozenset({"owners"}),
        restore_hooks=GRAPH_DELETED_ITEM,
    ),
    ResourceType(
        key="entra.service_principal",
        title="Entra service principal",
        source=GraphSource(collection="servicePrincipals"),
        identity="id",
        natural_key="displayName",
        collection=Collection.GRAPH_DELTA,
        read_features=("guardian.entra.applications.monitor",),
        write_features=("guardian.entra.applications.rollback",),
        read_only_fields=frozenset({"id", "appId", "appOwnerOrganizationId"}),
        unordered_fields=frozenset({"servicePrincipalNames", "tags", "owners"}),
        linked_fields=frozenset({"owners", "appRoleAssignedTo"}),
        restore_hooks=GRAPH_DELETED_ITEM,
    ),
    ResourceType(
        key="entra.directory_role_assignment",
        title="Entra directory role assignment",
        source=GraphSource(collection="roleManagement/directory/roleAssignments"),
        identity="id",
        natural_key="principalId",
        collection=Collection.POLL_HASH,
        read_features=("guardian.entra.role-assignments.monitor",),
        write_features=("guardian.entra.role-assignments.rollback",),
        read_only_fields=frozenset({"id"}),
    ),
    ResourceType(
        key="entra.conditional_access_policy",
        title="Conditional Access policy",
        source=GraphSource(collection="identity/conditionalAccess/policies"),
        identity="id",
        natural_key="displayName",
        collection=Collection.POLL_HASH,
        read_features=("guardian.conditional-access.monitor",),
        write_features=("guardian.conditional-access.rollback",),
        read_only_fields=frozenset({"id", "createdDateTime"}),
        volatile_fields=frozenset({"modifiedDateTime"}),
    ),
    ResourceType(
        key="entra.named_location",
        title="Conditional Access named location",
        source=GraphSource(collection="identity/conditionalAccess/namedLocations"),
        identity="id",
        natural_key="displayName",
        collection=Collection.POLL_HASH,
        read_features=("guardian.conditional-access.monitor",),
        write_features=("guardian.conditional-access.rollback",),
        read_only_fields=frozenset({"id", "createdDateTime"}),
        volatile_fields=frozenset({"modifiedDateTime"}),
        unordered_fields=frozenset({"ipRanges", "countriesAndRegions"}),
    ),
    ResourceType(
        key="entra.authorization_policy",
        title="Entra authorization policy",
        source=GraphSource(collection="policies/authorizationPolicy"),
        identity="id",
        natural_key="displayName",
        collection=Collection.POLL_HASH,
        read_features=("guardian.entra.authorization-policy.monitor",),
        write_features=("guardian.entra.authorization-policy.rollback",),
        read_only_fields=frozenset({"id"}),
    ),
    ResourceType(
        key="intune.managed_device",
        title="Intune managed device",
        source=GraphSource(collection="deviceManagement/managedDevices"),
        identity="id",
        natural_key="deviceName",
        collection=Collection.POLL_HASH,
        read_features=("guardian.intune.managed-devices.monitor",),
        write_features=("guardian.intune.managed-devices.rollback", "administrator.device-actions"),
        read_only_fields=frozenset(
            {"id", "enrolledDateTime", "serialNumber", "imei", "azureADDeviceId"}
        ),
        volatile_fields=frozenset({"lastSyncDateTime", "freeStorageSpaceInBytes"}),
    ),
    ResourceType(
        key="exchange.mailbox",
        title="Exchange Online mailbox",
        source=ExchangeSource(cmdlet="Get-Mailbox", parameters=(("ResultSize", "Unlimited"),)),
        identity="ExchangeGuid",
        natural_key="PrimarySmtpAddress",
        collection=Collection.POLL_HASH,
        read_features=("guardian.exchange.monitor",),
        write_features=("guardian.exchange.rollback",),
        read_only_fields=frozenset(
            {"ExchangeGuid", "Guid", "ExternalDirectoryObjectId", "WhenCreated", "WhenCreatedUTC"}
        ),
        volatile_fields=frozenset({"WhenChanged", "WhenChangedUTC"}),
        unordered_fields=frozenset({"EmailAddresses"}),
    ),
    ResourceType(
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
        read_only_fields=frozenset(
            {"id", "name", "type", "properties.createdOn", "properties.createdBy"}
        ),
        volatile_fields=frozenset({"properties.updatedOn", "properties.updatedBy"}),
    ),
)

RESOURCE_TYPES = ResourceTypeRegistry(AD_TYPES + CLOUD_TYPES)
"""Every resource type dirguard knows, keyed by ``ResourceType.key``."""


def modes_offered(resource_type: ResourceType, *, write: bool) -> frozenset[Mode]:
    """Modes in which some read (or write) feature of the type is offered."""
    keys = resource_type.write_features if write else resource_type.read_features
    modes: set[Mode] = set()
    for key in keys:
        modes |= MANIFEST.feature(key).modes
    return frozenset(modes)


def permissions_for_type(
    resource_type: ResourceType, mode: Mode, *, write: bool
) -> tuple[Permission, ...]:
    """What reading (or writing) the type needs in ``mode``, via its features, in manifest order."""
    keys = resource_type.write_features if write else resource_type.read_features
    wanted = {p.key for key in keys for p in MANIFEST.by_feature(key, mode)}
    return tuple(p for p in MANIFEST.permissions if p.key in wanted)
