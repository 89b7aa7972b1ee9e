"""The Microsoft 365 rows read through the tenant's Guardian application besides Entra ID:
Intune managed devices (Graph), Exchange Online mailboxes (``Get-Mailbox`` output names) and
Azure RBAC role assignments (paths in the role-assignment JSON). They feed the generated docs
and the permission checks; readers and writers come with their guardians."""

from __future__ import annotations

from dirguard.catalog.resource_type import (
    ArmSource,
    Collection,
    ExchangeSource,
    GraphSource,
    ResourceType,
)
from dirguard.providers.entra.types.rows import cloud, cloud_restore

SERVICE_TYPES: tuple[ResourceType, ...] = (
    cloud(
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
    cloud(
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
    cloud(
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
