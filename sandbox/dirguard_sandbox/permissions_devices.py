"""Devices, Intune managed devices, Windows LAPS and sign-in session revocation: the
operations and the application permissions Microsoft's pages accept, least privileged first.

- ``devices/{id}`` "Get device" (https://learn.microsoft.com/graph/api/device-get):
  Device.Read.All, Directory.Read.All; "Update device" (device-update) and "Delete device"
  (device-delete): Device.ReadWrite.All (application).
- ``deviceManagement/managedDevices`` "List managedDevices" / "Get managedDevice"
  (https://learn.microsoft.com/graph/api/intune-devices-manageddevice-list):
  DeviceManagementManagedDevices.Read.All, DeviceManagementManagedDevices.ReadWrite.All;
  "Delete managedDevice": DeviceManagementManagedDevices.ReadWrite.All; the actions
  ``syncDevice``, ``retire`` and ``wipe`` (intune-devices-manageddevice-syncdevice, -retire,
  -wipe): DeviceManagementManagedDevices.PrivilegedOperations.All.
- ``directory/deviceLocalCredentials/{deviceId}`` "Get deviceLocalCredentialInfo"
  (https://learn.microsoft.com/graph/api/devicelocalcredentialinfo-get):
  DeviceLocalCredential.ReadBasic.All, DeviceLocalCredential.Read.All (the passwords, with
  ``$select=credentials``, only with the latter).
- ``users/{id}/revokeSignInSessions`` (https://learn.microsoft.com/graph/api/user-revokesigninsessions):
  User.RevokeSessions.All, User.ReadWrite.All, Directory.ReadWrite.All (the first is not in the
  sandbox's table: its published id could not be checked).
"""

from __future__ import annotations

from dirguard_sandbox.permissions_table import AppPermission, Endpoint

DEVICES_PERMISSIONS: tuple[AppPermission, ...] = (
    AppPermission(
        value="Device.Read.All",
        id="7438b122-aefc-4978-80ed-43db9fcc7715",
        display_name="Read all devices",
    ),
    AppPermission(
        value="Device.ReadWrite.All",
        id="1138cb37-bd11-4084-a2b7-9f71582aeddb",
        display_name="Read and write devices",
        implies=("Device.Read.All",),
    ),
    AppPermission(
        value="DeviceManagementManagedDevices.Read.All",
        id="2f51be20-0bb4-4fed-bf7b-db946066c75e",
        display_name="Read Microsoft Intune devices",
    ),
    AppPermission(
        value="DeviceManagementManagedDevices.ReadWrite.All",
        id="243333ab-4d21-40cb-a475-36241daa0842",
        display_name="Read and write Microsoft Intune devices",
        implies=("DeviceManagementManagedDevices.Read.All",),
    ),
    AppPermission(
        value="DeviceManagementManagedDevices.PrivilegedOperations.All",
        id="5b07b0dd-2377-4e44-a38d-703f09a0dc3c",
        display_name="Perform user-impacting remote actions on Microsoft Intune devices",
    ),
    AppPermission(
        value="DeviceLocalCredential.Read.All",
        id="884b599e-4d48-43a5-ba94-15c414d00588",
        display_name="Read device local credential passwords",
    ),
)

_DEVICE_READ = (
    "Device.Read.All",
    "Device.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
_INTUNE_READ = (
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
)
_PRIVILEGED = ("DeviceManagementManagedDevices.PrivilegedOperations.All",)
_DEVICE = "/devices/{device-id}"
_MANAGED = "/deviceManagement/managedDevices/{managedDevice-id}"

DEVICES_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(method="GET", template=_DEVICE, permissions=_DEVICE_READ),
    Endpoint(method="PATCH", template=_DEVICE, permissions=("Device.ReadWrite.All",)),
    Endpoint(method="DELETE", template=_DEVICE, permissions=("Device.ReadWrite.All",)),
    Endpoint(method="GET", template="/deviceManagement/managedDevices", permissions=_INTUNE_READ),
    Endpoint(method="GET", template=_MANAGED, permissions=_INTUNE_READ),
    Endpoint(
        method="DELETE",
        template=_MANAGED,
        permissions=("DeviceManagementManagedDevices.ReadWrite.All",),
    ),
    Endpoint(method="POST", template=f"{_MANAGED}/syncDevice", permissions=_PRIVILEGED),
    Endpoint(method="POST", template=f"{_MANAGED}/retire", permissions=_PRIVILEGED),
    Endpoint(method="POST", template=f"{_MANAGED}/wipe", permissions=_PRIVILEGED),
    Endpoint(
        method="GET",
        template="/directory/deviceLocalCredentials/{deviceLocalCredentialInfo-id}",
        permissions=("DeviceLocalCredential.Read.All",),
    ),
    Endpoint(
        method="POST",
        template="/users/{user-id}/revokeSignInSessions",
        permissions=("User.ReadWrite.All", "Directory.ReadWrite.All"),
    ),
)
