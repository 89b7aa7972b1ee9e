"""What the sandbox's application operations require: applications, service principals,
consent (grants and app role assignments) and directory roles. ``permissions_table`` imports
this module and appends its rows and permissions, in their original order."""

from __future__ import annotations

from dirguard_sandbox.permissions_table import _APP_READ, AppPermission, Endpoint

# ---------------------------------------------------------------------------------------------
# Applications, consent and directory roles (routes_applications.py, routes_roles.py).
# Permission lists follow each operation's page in Microsoft's API reference, least privileged
# first; ``Application.ReadWrite.OwnedBy`` and the PIM-specific permissions are not modelled, so
# their operations accept the broader permissions the same pages list.
# ---------------------------------------------------------------------------------------------
_IDENTITY_PERMISSIONS = (
    AppPermission(
        value="AppRoleAssignment.ReadWrite.All",
        id="06b708a9-e830-4db3-a914-8e69da51d44f",
        display_name="Manage app permission grants and app role assignments",
    ),
    AppPermission(
        value="DelegatedPermissionGrant.ReadWrite.All",
        id="8e8e4742-1d95-4f68-9d56-6ee75648c72a",
        display_name="Manage all delegated permission grants",
    ),
    AppPermission(
        value="RoleManagement.Read.Directory",
        id="483bed4a-2ad3-4361-a73b-c83ccdbdc53c",
        display_name="Read all directory RBAC settings",
    ),
    AppPermission(
        value="RoleManagement.ReadWrite.Directory",
        id="9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
        display_name="Read and write all directory RBAC settings",
        implies=("RoleManagement.Read.Directory",),
    ),
)
APPLICATIONS_PERMISSIONS: tuple[AppPermission, ...] = _IDENTITY_PERMISSIONS

_APP_WRITE = ("Application.ReadWrite.All",)
_GRANT_READ = ("Directory.Read.All", "DelegatedPermissionGrant.ReadWrite.All")
_GRANT_WRITE = ("DelegatedPermissionGrant.ReadWrite.All",)
_ASSIGN_WRITE = ("AppRoleAssignment.ReadWrite.All",)
_ROLE_READ: tuple[str, ...] = (
    "RoleManagement.Read.Directory",
    "Directory.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.ReadWrite.All",
)
_ROLE_WRITE = ("RoleManagement.ReadWrite.Directory",)
_APP = "/applications/{application-id}"
_SP = "/servicePrincipals/{servicePrincipal-id}"
_GRANT = "/oauth2PermissionGrants/{oAuth2PermissionGrant-id}"
_ROLE = "/directoryRoles/{directoryRole-id}"
_RM = "/roleManagement/directory"


def _pim(collection: str, item: str) -> tuple[Endpoint, ...]:
    return (
        Endpoint(method="GET", template=f"{_RM}/{collection}", permissions=_ROLE_READ),
        Endpoint(
            method="GET", template=f"{_RM}/{collection}/{{{item}-id}}", permissions=_ROLE_READ
        ),
    )


APPLICATIONS_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(method="GET", template="/applications", permissions=_APP_READ),
    Endpoint(method="POST", template="/applications", permissions=_APP_WRITE),
    Endpoint(method="GET", template="/applications(appId='{appId}')", permissions=_APP_READ),
    Endpoint(method="GET", template=_APP, permissions=_APP_READ),
    Endpoint(method="PATCH", template=_APP, permissions=_APP_WRITE),
    Endpoint(method="DELETE", template=_APP, permissions=_APP_WRITE),
    Endpoint(method="POST", template=f"{_APP}/addPassword", permissions=_APP_WRITE),
    Endpoint(method="POST", template=f"{_APP}/removePassword", permissions=_APP_WRITE),
    Endpoint(method="POST", template=f"{_APP}/addKey", permissions=_APP_WRITE),
    Endpoint(method="POST", template=f"{_APP}/removeKey", permissions=_APP_WRITE),
    Endpoint(method="POST", template="/servicePrincipals", permissions=_APP_WRITE),
    Endpoint(method="GET", template="/servicePrincipals(appId='{appId}')", permissions=_APP_READ),
    Endpoint(method="PATCH", template=_SP, permissions=_APP_WRITE),
    Endpoint(method="DELETE", template=_SP, permissions=_APP_WRITE),
    Endpoint(method="POST", template=f"{_SP}/appRoleAssignments", permissions=_ASSIGN_WRITE),
    Endpoint(
        method="DELETE",
        template=f"{_SP}/appRoleAssignments/{{appRoleAssignment-id}}",
        permissions=_ASSIGN_WRITE,
    ),
    Endpoint(method="GET", template=f"{_SP}/appRoleAssignedTo", permissions=_APP_READ),
    Endpoint(method="POST", template=f"{_SP}/appRoleAssignedTo", permissions=_ASSIGN_WRITE),
    Endpoint(
        method="GET",
        template=f"{_SP}/appRoleAssignedTo/{{appRoleAssignment-id}}",
        permissions=_APP_READ,
    ),
    Endpoint(
        method="DELETE",
        template=f"{_SP}/appRoleAssignedTo/{{appRoleAssignment-id}}",
        permissions=_ASSIGN_WRITE,
    ),
    Endpoint(method="GET", template=f"{_SP}/oauth2PermissionGrants", permissions=_GRANT_READ),
    Endpoint(method="GET", template="/oauth2PermissionGrants", permissions=_GRANT_READ),
    Endpoint(method="POST", template="/oauth2PermissionGrants", permissions=_GRANT_WRITE),
    Endpoint(method="GET", template=_GRANT, permissions=_GRANT_READ),
    Endpoint(method="PATCH", template=_GRANT, permissions=_GRANT_WRITE),
    Endpoint(method="DELETE", template=_GRANT, permissions=_GRANT_WRITE),
    Endpoint(method="GET", template="/directoryRoles", permissions=_ROLE_READ),
    Endpoint(method="POST", template="/directoryRoles", permissions=_ROLE_WRITE),
    Endpoint(method="GET", template=_ROLE, permissions=_ROLE_READ),
    Endpoint(
        method="GET",
        template="/directoryRoles(roleTemplateId='{roleTemplateId}')",
        permissions=_ROLE_READ,
    ),
    Endpoint(method="GET", template=f"{_ROLE}/members", permissions=_ROLE_READ),
    Endpoint(method="POST", template=f"{_ROLE}/members/$ref", permissions=_ROLE_WRITE),
    Endpoint(
        method="DELETE",
        template=f"{_ROLE}/members/{{directoryObject-id}}/$ref",
        permissions=_ROLE_WRITE,
    ),
    Endpoint(method="GET", template="/directoryRoleTemplates", permissions=_ROLE_READ),
    Endpoint(
        method="GET",
        template="/directoryRoleTemplates/{directoryRoleTemplate-id}",
        permissions=_ROLE_READ,
    ),
    *_pim("roleDefinitions", "unifiedRoleDefinition"),
    *_pim("roleAssignments", "unifiedRoleAssignment"),
    Endpoint(method="POST", template=f"{_RM}/roleAssignments", permissions=_ROLE_WRITE),
    Endpoint(
        method="DELETE",
        template=f"{_RM}/roleAssignments/{{unifiedRoleAssignment-id}}",
        permissions=_ROLE_WRITE,
    ),
)
# PIM schedules, instances and requests: permissions_pim.PIM_ENDPOINTS (appended below).
