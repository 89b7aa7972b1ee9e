"""A tenant holding only its Global Administrator, and Microsoft's first-party applications in it.

Every real tenant has service principals for Microsoft's own resource applications (Microsoft
Graph, Office 365 Exchange Online, Office 365 Management APIs, Windows Azure Service Management
API) and lets an administrator sign in through Microsoft's public clients (here: Microsoft Graph
Command Line Tools, a device-code client). ``generate_admin_only_tenant`` builds such a tenant:
the organization, its domains and its administrator (Owner of one Azure subscription), no groups
and no app registrations, and resource service principals that publish the app roles
(application permissions) and ``oauth2PermissionScopes`` (delegated permissions) a connection
setup asks for.

Application ids of the first-party apps are Microsoft's well-known ones. Microsoft Graph's
application permission ids are Microsoft's published ones (``permissions_table`` and
``PUBLISHED_GRAPH_ROLE_IDS``); the few not found there, delegated scope ids and the other
resources' permission ids are derived deterministically from the resource and the permission
name (``uuid5``), so a client must resolve permissions by value from the resource service
principal, as it must against a real tenant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from dirguard_sandbox.arm_catalog import add_subscription
from dirguard_sandbox.directory_state import Application, DirectoryState, Json
from dirguard_sandbox.permissions_table import GRAPH_APP_ID, MICROSOFT_TENANT_ID

EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
O365_MANAGEMENT_APP_ID = "c5393580-f805-4401-95e8-94b7a6ef2fc2"
AZURE_SERVICE_MANAGEMENT_APP_ID = "797f4846-ba00-4fd7-ba43-dac1f8f63013"
GRAPH_COMMAND_LINE_TOOLS_APP_ID = "14d82eec-204b-4c2f-b7e8-296a70dad1f6"
"""Microsoft Graph Command Line Tools: a public client an administrator signs in through."""

_EXTRA_GRAPH_APP_ROLES = (
    "Agreement.Read.All",
    "Contacts.ReadWrite",
    "CrossTenantInformation.ReadBasic.All",
    "CustomSecAttributeDefinition.Read.All",
    "CustomSecAttributeDefinition.ReadWrite.All",
    "Device.Read.All",
    "Device.ReadWrite.All",
    "DeviceLocalCredential.Read.All",
    "DeviceManagementApps.Read.All",
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementConfiguration.Read.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementManagedDevices.PrivilegedOperations.All",
    "DeviceManagementManagedDevices.Read.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementScripts.Read.All",
    "DeviceManagementScripts.ReadWrite.All",
    "Files.Read.All",
    "Mail.ReadWrite",
    "Mail.Send",
    "Member.Read.Hidden",
    "NetworkAccessPolicy.Read.All",
    "NetworkAccessPolicy.ReadWrite.All",
    "Policy.ReadWrite.DeviceConfiguration",
    "Profile.ReadWrite.All",
    "ProfilePhoto.Read.All",
    "Reports.Read.All",
    "Reports.ReadWrite.All",
    "RoleAssignmentSchedule.Read.Directory",
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleEligibilitySchedule.Read.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",
    "SecurityEvents.Read.All",
    "Synchronization.Read.All",
    "Synchronization.ReadWrite.All",
    "TeamSettings.Read.All",
    "TeamSettings.ReadWrite.All",
    "User.DeleteRestore.All",
    "User.Invite.All",
    "UserAuthenticationMethod.ReadWrite.All",
)
"""Application permissions of Microsoft Graph beyond those the sandbox's endpoints check."""

PUBLISHED_GRAPH_ROLE_IDS = {
    "Agreement.Read.All": "2f3e6f8c-093b-4c57-a58b-ba5ce494a169",
    "Contacts.ReadWrite": "6918b873-d17a-4dc1-b314-35f528134491",
    "CrossTenantInformation.ReadBasic.All": "cac88765-0581-4025-9725-5ebc13f729ee",
    "CustomSecAttributeDefinition.ReadWrite.All": "12338004-21f4-4896-bf5e-b75dfaf1016d",
    "Device.Read.All": "7438b122-aefc-4978-80ed-43db9fcc7715",
    "Device.ReadWrite.All": "1138cb37-bd11-4084-a2b7-9f71582aeddb",
    "DeviceLocalCredential.Read.All": "884b599e-4d48-43a5-ba94-15c414d00588",
    "DeviceManagementApps.ReadWrite.All": "78145de6-330d-4800-a6ce-494ff2d33d07",
    "DeviceManagementConfiguration.ReadWrite.All": "9241abd9-d0e6-425a-bd4f-47ba86e767a4",
    "DeviceManagementManagedDevices.PrivilegedOperations.All": "5b07b0dd-2377-4e44-a38d-703f09a0dc3c",  # noqa: E501
    "DeviceManagementManagedDevices.ReadWrite.All": "243333ab-4d21-40cb-a475-36241daa0842",
    "Files.Read.All": "01d4889c-1287-42c6-ac1f-5d1e02578ef6",
    "Mail.ReadWrite": "e2a3a72e-5f79-4c64-b1b1-878b674786c9",
    "Member.Read.Hidden": "658aa5d8-239f-45c4-aa12-864f4fc7e490",
    "NetworkAccessPolicy.ReadWrite.All": "f0c341be-8348-4989-8e43-660324294538",
    "ProfilePhoto.Read.All": "e24d31aa-e1ab-4c80-85fe-23018690335d",
    "Reports.Read.All": "230c1aed-a721-4c5d-9cb4-a90514e508ef",
    "SecurityEvents.Read.All": "bf394140-e372-4bf9-a898-299cfc7564e5",
    "Synchronization.ReadWrite.All": "9b50c33d-700f-43b1-b2eb-87e89b703581",
    "TeamSettings.ReadWrite.All": "bdd80a03-d9bc-451d-b7c4-ce7c63fe3c8f",
}
"""Microsoft's appRole ids of those extra Graph permissions, as the "Microsoft Graph permissions
reference" (https://learn.microsoft.com/graph/permissions-reference) publishes them; the few
left out keep an id derived by ``permission_id``."""

GRAPH_DELEGATED_SCOPES = (
    "openid",
    "profile",
    "offline_access",
    "User.Read",
    "Agreement.Read.All",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "AuditLog.Read.All",
    "Calendars.ReadWrite.Shared",
    "Contacts.ReadWrite",
    "CrossTenantInformation.ReadBasic.All",
    "CustomSecAttributeDefinition.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementConfiguration.ReadWrite.All",
    "DeviceManagementManagedDevices.ReadWrite.All",
    "DeviceManagementScripts.ReadWrite.All",
    "Directory.AccessAsUser.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
    "EWS.AccessAsUser.All",
    "Group.ReadWrite.All",
    "Mail.ReadWrite.Shared",
    "Mail.Send.Shared",
    "NetworkAccessPolicy.ReadWrite.All",
    "People.Read",
    "Policy.Read.All",
    "Policy.ReadWrite.AuthenticationFlows",
    "Policy.ReadWrite.Authorization",
    "Policy.ReadWrite.ConditionalAccess",
    "Policy.ReadWrite.DeviceConfiguration",
    "ProfilePhoto.Read.All",
    "RoleAssignmentSchedule.ReadWrite.Directory",
    "RoleEligibilitySchedule.ReadWrite.Directory",
    "RoleManagement.ReadWrite.Directory",
    "TeamSettings.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite.All",
)
"""Delegated permissions of Microsoft Graph (``oauth2PermissionScopes``) the sandbox publishes."""


@dataclass(frozen=True, kw_only=True)
class ResourceApp:
    """A first-party resource application: its service principal's roles and scopes."""

    app_id: str
    display_name: str
    app_roles: tuple[str, ...]
    scopes: tuple[str, ...]
    identifier: str


RESOURCE_APPS: tuple[ResourceApp, ...] = (
    ResourceApp(
        app_id=EXCHANGE_APP_ID,
        display_name="Office 365 Exchange Online",
        app_roles=("Exchange.ManageAsApp",),
        scopes=("Exchange.Manage",),
        identifier="https://outlook.office365.com",
    ),
    ResourceApp(
        app_id=O365_MANAGEMENT_APP_ID,
        display_name="Office 365 Management APIs",
        app_roles=("ActivityFeed.Read",),
        scopes=("ActivityFeed.Read",),
        identifier="https://manage.office.com",
    ),
    ResourceApp(
        app_id=AZURE_SERVICE_MANAGEMENT_APP_ID,
        display_name="Windows Azure Service Management API",
        app_roles=(),
        scopes=("user_impersonation",),
        identifier="https://management.azure.com",
    ),
)


def permission_id(resource_app_id: str, kind: str, value: str) -> str:
    """The sandbox's stable id for a permission it does not know Microsoft's id of."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{resource_app_id}/{kind}/{value}"))


def _app_role(resource_app_id: str, value: str) -> Json:
    published = PUBLISHED_GRAPH_ROLE_IDS.get(value) if resource_app_id == GRAPH_APP_ID else None
    return {
        "allowedMemberTypes": ["Application"],
        "description": f"Allows the app to use {value} without a signed-in user.",
        "displayName": value,
        "id": published or permission_id(resource_app_id, "Role", value),
        "isEnabled": True,
        "origin": "Application",
        "value": value,
    }


def _scope(resource_app_id: str, value: str) -> Json:
    return {
        "adminConsentDescription": f"Allows the app to use {value} as the signed-in user.",
        "adminConsentDisplayName": value,
        "id": permission_id(resource_app_id, "Scope", value),
        "isEnabled": True,
        "type": "Admin",
        "userConsentDescription": None,
        "userConsentDisplayName": None,
        "value": value,
    }


def _first_party_sp(
    state: DirectoryState, app_id: str, display_name: str, names: list[str]
) -> Json:
    sp_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{state.tenant_id}/{app_id}"))
    record: Json = {
        "id": sp_id,
        "accountEnabled": True,
        "appDisplayName": display_name,
        "appId": app_id,
        "appOwnerOrganizationId": MICROSOFT_TENANT_ID,
        "appRoleAssignmentRequired": False,
        "displayName": display_name,
        "servicePrincipalNames": [app_id, *names],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMultipleOrgs",
        "tags": [],
        "appRoles": [],
        "oauth2PermissionScopes": [],
    }
    state.service_principals[sp_id] = record
    state.bump(sp_id)
    return record


def _strip_to_administrator(state: DirectoryState) -> None:
    admin_id = next(iter(state.passwords))
    for user_id in [u for u in state.users if u != admin_id]:
        del state.users[user_id]
        state.changed_at.pop(user_id, None)
    for group_id in state.groups:
        state.changed_at.pop(group_id, None)
    state.groups.clear()
    state.members.clear()
    state.owners.clear()
    state.member_changes.clear()
    for app in state.applications.values():
        state.service_principals.pop(app.service_principal_id, None)
        state.application_objects.pop(app.object_id, None)
        for object_id in (app.service_principal_id, app.object_id):
            state.changed_at.pop(object_id, None)
    state.applications.clear()
    state.app_role_assignments.clear()


def add_graph_app_roles(state: DirectoryState) -> Json:
    """Microsoft Graph's service principal offers every application permission of Graph's
    permissions reference (https://learn.microsoft.com/graph/permissions-reference) in every
    tenant, not only those the sandbox's endpoints check: add the others (once) and return it.
    A permission nobody holds is still one an administrator or an elevation may grant."""
    graph = next(sp for sp in state.service_principals.values() if sp["appId"] == GRAPH_APP_ID)
    known = {role["value"] for role in graph["appRoles"]}
    graph["appRoles"].extend(
        _app_role(GRAPH_APP_ID, value) for value in _EXTRA_GRAPH_APP_ROLES if value not in known
    )
    return graph


def add_first_party_apps(state: DirectoryState) -> None:
    """What every real tenant has besides its own objects: Microsoft's resource service
    principals with their app roles and scopes, the Microsoft Graph Command Line Tools public
    client (device code sign-in) and, for the administrator, one Azure subscription."""
    graph = add_graph_app_roles(state)
    graph["oauth2PermissionScopes"] = [_scope(GRAPH_APP_ID, v) for v in GRAPH_DELEGATED_SCOPES]
    for resource in RESOURCE_APPS:
        record = _first_party_sp(
            state, resource.app_id, resource.display_name, [resource.identifier]
        )
        record["appRoles"] = [_app_role(resource.app_id, v) for v in resource.app_roles]
        record["oauth2PermissionScopes"] = [_scope(resource.app_id, v) for v in resource.scopes]
    tools = _first_party_sp(
        state, GRAPH_COMMAND_LINE_TOOLS_APP_ID, "Microsoft Graph Command Line Tools", []
    )
    state.applications[GRAPH_COMMAND_LINE_TOOLS_APP_ID] = Application(
        app_id=GRAPH_COMMAND_LINE_TOOLS_APP_ID,
        object_id="",
        service_principal_id=tools["id"],
        display_name=tools["displayName"],
        secrets=[],
        granted=[],
    )
    add_subscription(state, "Sandbox Subscription", next(iter(state.passwords)))


def generate_admin_only_tenant(seed: int = 1) -> DirectoryState:
    """A tenant holding only its Global Administrator and Microsoft's first-party apps."""
    # Imported here: seed_data's realistic tenants use ``add_first_party_apps`` above.
    from dirguard_sandbox.seed_data import SeedOptions, generate_tenant

    state = generate_tenant(SeedOptions(users=1, seed=seed))
    _strip_to_administrator(state)
    add_first_party_apps(state)
    return state
