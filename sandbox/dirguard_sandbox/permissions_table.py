"""Microsoft Graph application permissions the sandbox knows, and what each endpoint requires.

DECLARED ONCE: the token endpoint reads the permission ids to build ``roles``; the Graph app reads
``ENDPOINTS`` both to route requests and to authorize them. Each endpoint lists the application
permissions Microsoft's API reference accepts, least privileged first. Templates use the notation
of Graph's OpenAPI description (``/users/{user-id}``, ``/users/delta()``), so a test can check each
one against the real API's list of paths.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
"""The well-known appId of the Microsoft Graph resource application."""

MICROSOFT_TENANT_ID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
"""The tenant that owns Microsoft's first-party applications (appOwnerOrganizationId)."""


@dataclass(frozen=True, kw_only=True)
class AppPermission:
    """One application permission (an appRole of the Microsoft Graph service principal)."""

    value: str
    id: str
    display_name: str
    implies: tuple[str, ...] = ()


APPLICATION_PERMISSIONS: tuple[AppPermission, ...] = (
    AppPermission(
        value="User.Read.All",
        id="df021288-bdef-4463-88db-98f22de89214",
        display_name="Read all users' full profiles",
    ),
    AppPermission(
        value="User.ReadWrite.All",
        id="741f803b-c850-494e-b5df-cde7c675a1ca",
        display_name="Read and write all users' full profiles",
        implies=("User.Read.All",),
    ),
    AppPermission(
        value="Group.Read.All",
        id="5b567255-7703-4780-807c-7be8301ae99b",
        display_name="Read all groups",
        implies=("GroupMember.Read.All",),
    ),
    AppPermission(
        value="Group.ReadWrite.All",
        id="62a82d76-70ea-41e2-9197-370581804d09",
        display_name="Read and write all groups",
        implies=(
            "Group.Read.All",
            "GroupMember.Read.All",
            "GroupMember.ReadWrite.All",
            "Group.Create",
        ),
    ),
    AppPermission(
        value="Group.Create",
        id="bf7b1a76-6e77-406b-b258-bf5c7720e98f",
        display_name="Create groups",
    ),
    AppPermission(
        value="GroupMember.Read.All",
        id="98830695-27a2-44f7-8c18-0c3ebc9698f6",
        display_name="Read all group memberships",
    ),
    AppPermission(
        value="GroupMember.ReadWrite.All",
        id="dbaae8cf-10b5-4b86-a4a1-f871c94c6695",
        display_name="Read and write all group memberships",
        implies=("GroupMember.Read.All",),
    ),
    AppPermission(
        value="Directory.Read.All",
        id="7ab1d382-f21e-4acd-a863-ba3e13f7da61",
        display_name="Read directory data",
    ),
    AppPermission(
        value="Directory.ReadWrite.All",
        id="19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        display_name="Read and write directory data",
        implies=("Directory.Read.All",),
    ),
    AppPermission(
        value="Organization.Read.All",
        id="498476ce-e0fe-48b0-b801-37ba7e2685c6",
        display_name="Read organization information",
    ),
    AppPermission(
        value="Organization.ReadWrite.All",
        id="292d869f-3427-49a8-9dab-8c70152b74e9",
        display_name="Read and write organization information",
        implies=("Organization.Read.All",),
    ),
    AppPermission(
        value="Domain.Read.All",
        id="dbb9058a-0e50-45d7-ae91-66909b5d4664",
        display_name="Read domains",
    ),
    AppPermission(
        value="Domain.ReadWrite.All",
        id="7e05723c-0bb0-42da-be95-ae9f08a6e53c",
        display_name="Read and write domains",
        implies=("Domain.Read.All",),
    ),
    AppPermission(
        value="AuditLog.Read.All",
        id="b0afded3-3588-46d8-8b3d-9842eff778da",
        display_name="Read all audit log data",
    ),
    AppPermission(
        value="Application.Read.All",
        id="9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
        display_name="Read all applications",
    ),
    AppPermission(
        value="Application.ReadWrite.All",
        id="1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        display_name="Read and write all applications",
        implies=("Application.Read.All",),
    ),
)

PERMISSIONS_BY_VALUE = {permission.value: permission for permission in APPLICATION_PERMISSIONS}
PERMISSIONS_BY_ID = {permission.id: permission for permission in APPLICATION_PERMISSIONS}

READ_ONLY_PERMISSIONS: tuple[str, ...] = tuple(
    permission.value for permission in APPLICATION_PERMISSIONS if ".Read." in permission.value
)
"""What the read-only app holds: every Read permission, about Global Reader's reach."""


def effective_permissions(granted: Iterable[str]) -> frozenset[str]:
    """``granted`` plus every permission it implies (a ReadWrite grant implies Read)."""
    result: set[str] = set()
    pending = list(granted)
    while pending:
        value = pending.pop()
        if value in result:
            continue
        result.add(value)
        known = PERMISSIONS_BY_VALUE.get(value)
        if known is not None:
            pending.extend(known.implies)
    return frozenset(result)


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """One Graph v1.0 operation the sandbox answers and the permissions that allow it."""

    method: str
    template: str
    permissions: tuple[str, ...]
    delegated_only: bool = False
    """Microsoft's page says "Application: Not supported": only a signed-in user's (delegated)
    token may call it."""

    def allowed(self, granted: Iterable[str]) -> bool:
        return bool(effective_permissions(granted) & set(self.permissions))


_USER_READ = (
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
)
_USER_WRITE = ("User.ReadWrite.All", "Directory.ReadWrite.All")
_GROUP_READ = (
    "GroupMember.Read.All",
    "Group.Read.All",
    "Directory.Read.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
)
_GROUP_WRITE = ("Group.ReadWrite.All", "Directory.ReadWrite.All")
_MEMBER_WRITE = ("GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All")
_ORG_READ = (
    "Organization.Read.All",
    "Directory.Read.All",
    "Organization.ReadWrite.All",
    "Directory.ReadWrite.All",
)
_DOMAIN_READ = (
    "Domain.Read.All",
    "Directory.Read.All",
    "Domain.ReadWrite.All",
    "Directory.ReadWrite.All",
)
_APP_READ = (
    "Application.Read.All",
    "Directory.Read.All",
    "Application.ReadWrite.All",
    "Directory.ReadWrite.All",
)
_DELETED_READ = (
    "User.Read.All",
    "Group.Read.All",
    "Application.Read.All",
    "Directory.Read.All",
    *_USER_WRITE,
    *_GROUP_WRITE,
)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(method="GET", template="/users", permissions=_USER_READ),
    Endpoint(method="POST", template="/users", permissions=_USER_WRITE),
    Endpoint(method="GET", template="/users/delta()", permissions=_USER_READ),
    Endpoint(method="GET", template="/users/{user-id}", permissions=_USER_READ),
    Endpoint(method="PATCH", template="/users/{user-id}", permissions=_USER_WRITE),
    Endpoint(method="DELETE", template="/users/{user-id}", permissions=("User.ReadWrite.All",)),
    Endpoint(method="GET", template="/users/{user-id}/memberOf", permissions=_USER_READ),
    Endpoint(method="GET", template="/groups", permissions=_GROUP_READ),
    Endpoint(
        method="POST",
        template="/groups",
        permissions=("Group.Create", "Group.ReadWrite.All", "Directory.ReadWrite.All"),
    ),
    Endpoint(method="GET", template="/groups/delta()", permissions=_GROUP_READ),
    Endpoint(method="GET", template="/groups/{group-id}", permissions=_GROUP_READ),
    Endpoint(method="PATCH", template="/groups/{group-id}", permissions=_GROUP_WRITE),
    Endpoint(method="DELETE", template="/groups/{group-id}", permissions=("Group.ReadWrite.All",)),
    Endpoint(method="GET", template="/groups/{group-id}/members", permissions=_GROUP_READ),
    Endpoint(method="POST", template="/groups/{group-id}/members/$ref", permissions=_MEMBER_WRITE),
    Endpoint(
        method="DELETE",
        template="/groups/{group-id}/members/{directoryObject-id}/$ref",
        permissions=_MEMBER_WRITE,
    ),
    Endpoint(method="GET", template="/groups/{group-id}/owners", permissions=_GROUP_READ),
    Endpoint(method="POST", template="/groups/{group-id}/owners/$ref", permissions=_GROUP_WRITE),
    Endpoint(
        method="DELETE",
        template="/groups/{group-id}/owners/{directoryObject-id}/$ref",
        permissions=_GROUP_WRITE,
    ),
    Endpoint(method="GET", template="/organization", permissions=_ORG_READ),
    Endpoint(method="GET", template="/organization/{organization-id}", permissions=_ORG_READ),
    Endpoint(
        method="PATCH",
        template="/organization/{organization-id}",
        permissions=("Organization.ReadWrite.All",),
    ),
    Endpoint(method="GET", template="/domains", permissions=_DOMAIN_READ),
    Endpoint(method="GET", template="/domains/{domain-id}", permissions=_DOMAIN_READ),
    Endpoint(method="GET", template="/servicePrincipals", permissions=_APP_READ),
    Endpoint(
        method="GET", template="/servicePrincipals/{servicePrincipal-id}", permissions=_APP_READ
    ),
    Endpoint(
        method="GET",
        template="/servicePrincipals/{servicePrincipal-id}/appRoleAssignments",
        permissions=_APP_READ,
    ),
    Endpoint(
        method="GET", template="/directory/deletedItems/graph.user", permissions=_DELETED_READ
    ),
    Endpoint(
        method="GET", template="/directory/deletedItems/graph.group", permissions=_DELETED_READ
    ),
    Endpoint(
        method="GET",
        template="/directory/deletedItems/graph.application",
        permissions=_DELETED_READ,
    ),
    Endpoint(
        method="GET",
        template="/directory/deletedItems/graph.servicePrincipal",
        permissions=_DELETED_READ,
    ),
    Endpoint(
        method="GET",
        template="/directory/deletedItems/{directoryObject-id}",
        permissions=_DELETED_READ,
    ),
    Endpoint(
        method="POST",
        template="/directory/deletedItems/{directoryObject-id}/restore",
        permissions=_USER_WRITE
        + _GROUP_WRITE
        + ("Application.ReadWrite.All", "AdministrativeUnit.ReadWrite.All"),
    ),
    Endpoint(
        method="DELETE",
        template="/directory/deletedItems/{directoryObject-id}",
        permissions=("User.ReadWrite.All", "Group.ReadWrite.All", "Application.ReadWrite.All"),
    ),
    Endpoint(
        method="GET", template="/auditLogs/directoryAudits", permissions=("AuditLog.Read.All",)
    ),
    Endpoint(
        method="GET",
        template="/auditLogs/directoryAudits/{directoryAudit-id}",
        permissions=("AuditLog.Read.All",),
    ),
)


# ---------------------------------------------------------------------------------------------
# Policies: conditional access, named locations and the tenant's policy singletons
# (routes_policies.py), plus manager and $count paths of users and groups (routes_manager.py).
# Least privileged first, as each operation's page in Microsoft's API reference lists them.
# ---------------------------------------------------------------------------------------------
_POLICY_PERMISSIONS = (
    AppPermission(
        value="Policy.Read.All",
        id="246dd0d5-5bd0-4def-940b-0421030a5b68",
        display_name="Read your organization's policies",
    ),
    AppPermission(
        value="Policy.Read.ConditionalAccess",
        id="37730810-e9ba-4e46-b07e-8ca78d182097",
        display_name="Read your organization's conditional access policies",
    ),
    AppPermission(
        value="Policy.ReadWrite.ConditionalAccess",
        id="01c0a623-fc9b-48e9-b794-0756f8e8f067",
        display_name="Read and write your organization's conditional access policies",
        implies=("Policy.Read.ConditionalAccess",),
    ),
    AppPermission(
        value="Policy.ReadWrite.Authorization",
        id="fb221be6-99f2-473f-bd32-01c6a0e9ca3b",
        display_name="Read and write your organization's authorization policy",
    ),
    AppPermission(
        value="Policy.ReadWrite.AuthenticationFlows",
        id="25f85f3c-f66c-4205-8cd5-de92dd7f0cec",
        display_name="Read and write authentication flow policies",
    ),
    AppPermission(
        value="Policy.ReadWrite.AuthenticationMethod",
        id="29c18626-4985-4dcd-85c0-193eef327366",
        display_name="Read and write all authentication method policies",
    ),
    AppPermission(
        value="Policy.ReadWrite.SecurityDefaults",
        id="1c6e93a6-28e2-4cbb-9f64-1a46a821124d",
        display_name="Read and write your organization's security defaults policy",
    ),
    AppPermission(
        value="Policy.ReadWrite.CrossTenantAccess",
        id="338163d7-f101-4c92-94ba-ca46fe52447c",
        display_name="Read and write your organization's cross tenant access policies",
    ),
)
APPLICATION_PERMISSIONS += _POLICY_PERMISSIONS
PERMISSIONS_BY_VALUE.update({permission.value: permission for permission in _POLICY_PERMISSIONS})
PERMISSIONS_BY_ID.update({permission.id: permission for permission in _POLICY_PERMISSIONS})
READ_ONLY_PERMISSIONS = tuple(
    permission.value for permission in APPLICATION_PERMISSIONS if ".Read." in permission.value
)


def _policy_rows(template: str, write: str, *, item: bool = False) -> tuple[Endpoint, ...]:
    """GET (Policy.Read.All or the write permission) and the writes Graph allows on a policy."""
    read: tuple[str, ...] = ("Policy.Read.All", write)
    if template.startswith("/identity/conditionalAccess"):
        read = ("Policy.Read.ConditionalAccess", "Policy.Read.All", write)
    writes = ("PATCH", "DELETE") if item else ("PATCH",)
    return (
        Endpoint(method="GET", template=template, permissions=read),
        *(Endpoint(method=method, template=template, permissions=(write,)) for method in writes),
    )


_CA = "/identity/conditionalAccess"
_CA_WRITE = "Policy.ReadWrite.ConditionalAccess"
_AMP = "/policies/authenticationMethodsPolicy"
_XTAP = "/policies/crossTenantAccessPolicy"
ENDPOINTS += (
    Endpoint(
        method="GET",
        template=f"{_CA}/policies",
        permissions=("Policy.Read.ConditionalAccess", "Policy.Read.All", _CA_WRITE),
    ),
    Endpoint(method="POST", template=f"{_CA}/policies", permissions=(_CA_WRITE,)),
    *_policy_rows(f"{_CA}/policies/{{conditionalAccessPolicy-id}}", _CA_WRITE, item=True),
    Endpoint(
        method="GET",
        template=f"{_CA}/namedLocations",
        permissions=("Policy.Read.ConditionalAccess", "Policy.Read.All", _CA_WRITE),
    ),
    Endpoint(method="POST", template=f"{_CA}/namedLocations", permissions=(_CA_WRITE,)),
    *_policy_rows(f"{_CA}/namedLocations/{{namedLocation-id}}", _CA_WRITE, item=True),
    *_policy_rows("/policies/authorizationPolicy", "Policy.ReadWrite.Authorization"),
    *_policy_rows("/policies/authenticationFlowsPolicy", "Policy.ReadWrite.AuthenticationFlows"),
    *_policy_rows(_AMP, "Policy.ReadWrite.AuthenticationMethod"),
    Endpoint(
        method="GET",
        template=f"{_AMP}/authenticationMethodConfigurations",
        permissions=("Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"),
    ),
    *_policy_rows(
        f"{_AMP}/authenticationMethodConfigurations/{{authenticationMethodConfiguration-id}}",
        "Policy.ReadWrite.AuthenticationMethod",
    ),
    *_policy_rows(
        "/policies/identitySecurityDefaultsEnforcementPolicy", "Policy.ReadWrite.SecurityDefaults"
    ),
    *_policy_rows(_XTAP, "Policy.ReadWrite.CrossTenantAccess"),
    *_policy_rows(f"{_XTAP}/default", "Policy.ReadWrite.CrossTenantAccess"),
    Endpoint(
        method="GET",
        template=f"{_XTAP}/partners",
        permissions=("Policy.Read.All", "Policy.ReadWrite.CrossTenantAccess"),
    ),
    Endpoint(
        method="POST",
        template=f"{_XTAP}/partners",
        permissions=("Policy.ReadWrite.CrossTenantAccess",),
    ),
    *_policy_rows(
        f"{_XTAP}/partners/{{crossTenantAccessPolicyConfigurationPartner-tenantId}}",
        "Policy.ReadWrite.CrossTenantAccess",
        item=True,
    ),
    Endpoint(method="GET", template="/users/$count", permissions=_USER_READ),
    Endpoint(method="GET", template="/groups/$count", permissions=_GROUP_READ),
    Endpoint(method="GET", template="/users/{user-id}/manager", permissions=_USER_READ),
    Endpoint(method="PUT", template="/users/{user-id}/manager/$ref", permissions=_USER_WRITE),
    Endpoint(method="DELETE", template="/users/{user-id}/manager/$ref", permissions=_USER_WRITE),
    Endpoint(method="GET", template="/users/{user-id}/directReports", permissions=_USER_READ),
)

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
APPLICATION_PERMISSIONS += _IDENTITY_PERMISSIONS
PERMISSIONS_BY_VALUE.update({permission.value: permission for permission in _IDENTITY_PERMISSIONS})
PERMISSIONS_BY_ID.update({permission.id: permission for permission in _IDENTITY_PERMISSIONS})
READ_ONLY_PERMISSIONS = tuple(
    permission.value for permission in APPLICATION_PERMISSIONS if ".Read." in permission.value
)

_APP_WRITE = ("Application.ReadWrite.All",)
_GRANT_READ = ("Directory.Read.All", "DelegatedPermissionGrant.ReadWrite.All")
_GRANT_WRITE = ("DelegatedPermissionGrant.ReadWrite.All",)
_ASSIGN_WRITE = ("AppRoleAssignment.ReadWrite.All",)
_ROLE_READ = (
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


ENDPOINTS += (
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

# ---------------------------------------------------------------------------------------------
# Authentication methods, licenses, administrative units, contacts, invitations, sign-in logs,
# mail, and the delta functions of applications, service principals and directory roles
# (routes_auth_methods.py, routes_licenses.py, routes_admin_units.py,
# routes_contacts_invitations.py, routes_mail_signins.py). Least privileged first, as each
# operation's page in Microsoft's API reference lists them; ``LicenseAssignment.Read.All`` is
# not modelled, so license reads accept the broader permissions the same pages list.
# ---------------------------------------------------------------------------------------------
_DIRECTORY_PERMISSIONS = (
    AppPermission(
        value="UserAuthenticationMethod.Read.All",
        id="38d9df27-64da-44fd-b7c5-a6fbac20248f",
        display_name="Read all users' authentication methods",
    ),
    AppPermission(
        value="UserAuthenticationMethod.ReadWrite.All",
        id="50483e42-d915-4231-9639-7fdb7fd190e5",
        display_name="Read and write all users' authentication methods",
        implies=("UserAuthenticationMethod.Read.All",),
    ),
    AppPermission(
        value="LicenseAssignment.ReadWrite.All",
        id="5facf0c1-8979-4e95-abcf-ff3d079771c0",
        display_name="Manage all license assignments",
    ),
    AppPermission(
        value="AdministrativeUnit.Read.All",
        id="134fd756-38ce-4afd-ba33-e9623dbe66c2",
        display_name="Read all administrative units",
    ),
    AppPermission(
        value="AdministrativeUnit.ReadWrite.All",
        id="5eb59dd3-1da2-4329-8733-9dabdc435916",
        display_name="Read and write all administrative units",
        implies=("AdministrativeUnit.Read.All",),
    ),
    AppPermission(
        value="OrgContact.Read.All",
        id="e1a88a34-94c4-4418-be12-c87b00e26bea",
        display_name="Read organizational contacts",
    ),
    AppPermission(
        value="User.Invite.All",
        id="09850681-111b-4a89-9bed-3f2cae46d706",
        display_name="Invite guest users to the organization",
    ),
    AppPermission(
        value="Mail.Send",
        id="b633e1c5-b582-4048-a93e-9f11b44c7e96",
        display_name="Send mail as any user",
    ),
)
APPLICATION_PERMISSIONS += _DIRECTORY_PERMISSIONS
PERMISSIONS_BY_VALUE.update({permission.value: permission for permission in _DIRECTORY_PERMISSIONS})
PERMISSIONS_BY_ID.update({permission.id: permission for permission in _DIRECTORY_PERMISSIONS})
READ_ONLY_PERMISSIONS = tuple(
    permission.value for permission in APPLICATION_PERMISSIONS if ".Read." in permission.value
)

_METHOD_READ = ("UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All")
_METHOD_WRITE = ("UserAuthenticationMethod.ReadWrite.All",)
_LICENSE_WRITE = (
    "LicenseAssignment.ReadWrite.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
)
_UNIT_READ = (
    "AdministrativeUnit.Read.All",
    "Directory.Read.All",
    "AdministrativeUnit.ReadWrite.All",
    "Directory.ReadWrite.All",
)
_UNIT_WRITE = ("AdministrativeUnit.ReadWrite.All",)
_UNIT = "/directory/administrativeUnits/{administrativeUnit-id}"
_AUTH = "/users/{user-id}/authentication"


def _method_rows(collection: str, item: str, *, create: bool) -> tuple[Endpoint, ...]:
    """List, get and delete of one kind of authentication method (and create where v1.0 has it)."""
    rows: tuple[Endpoint, ...] = (
        Endpoint(method="GET", template=f"{_AUTH}/{collection}", permissions=_METHOD_READ),
        Endpoint(
            method="GET", template=f"{_AUTH}/{collection}/{{{item}-id}}", permissions=_METHOD_READ
        ),
        Endpoint(
            method="DELETE",
            template=f"{_AUTH}/{collection}/{{{item}-id}}",
            permissions=_METHOD_WRITE,
        ),
    )
    if create:
        rows += (
            Endpoint(method="POST", template=f"{_AUTH}/{collection}", permissions=_METHOD_WRITE),
        )
    return rows


ENDPOINTS += (
    Endpoint(method="GET", template=f"{_AUTH}/methods", permissions=_METHOD_READ),
    Endpoint(
        method="GET",
        template=f"{_AUTH}/methods/{{authenticationMethod-id}}",
        permissions=_METHOD_READ,
    ),
    *_method_rows("phoneMethods", "phoneAuthenticationMethod", create=True),
    *_method_rows("emailMethods", "emailAuthenticationMethod", create=True),
    Endpoint(
        method="PATCH",
        template=f"{_AUTH}/phoneMethods/{{phoneAuthenticationMethod-id}}",
        permissions=_METHOD_WRITE,
    ),
    Endpoint(
        method="PATCH",
        template=f"{_AUTH}/emailMethods/{{emailAuthenticationMethod-id}}",
        permissions=_METHOD_WRITE,
    ),
    Endpoint(method="GET", template=f"{_AUTH}/passwordMethods", permissions=_METHOD_READ),
    Endpoint(
        method="GET",
        template=f"{_AUTH}/passwordMethods/{{passwordAuthenticationMethod-id}}",
        permissions=_METHOD_READ,
    ),
    *_method_rows(
        "microsoftAuthenticatorMethods",
        "microsoftAuthenticatorAuthenticationMethod",
        create=False,
    ),
    *_method_rows("fido2Methods", "fido2AuthenticationMethod", create=False),
    *_method_rows("softwareOathMethods", "softwareOathAuthenticationMethod", create=False),
    *_method_rows(
        "temporaryAccessPassMethods", "temporaryAccessPassAuthenticationMethod", create=True
    ),
    Endpoint(method="GET", template="/subscribedSkus", permissions=_ORG_READ),
    Endpoint(method="GET", template="/subscribedSkus/{subscribedSku-id}", permissions=_ORG_READ),
    Endpoint(method="GET", template="/users/{user-id}/licenseDetails", permissions=_USER_READ),
    Endpoint(
        method="GET",
        template="/users/{user-id}/licenseDetails/{licenseDetails-id}",
        permissions=_USER_READ,
    ),
    Endpoint(method="POST", template="/users/{user-id}/assignLicense", permissions=_LICENSE_WRITE),
    Endpoint(method="GET", template="/directory/administrativeUnits", permissions=_UNIT_READ),
    Endpoint(method="POST", template="/directory/administrativeUnits", permissions=_UNIT_WRITE),
    Endpoint(
        method="GET", template="/directory/administrativeUnits/delta()", permissions=_UNIT_READ
    ),
    Endpoint(method="GET", template=_UNIT, permissions=_UNIT_READ),
    Endpoint(method="PATCH", template=_UNIT, permissions=_UNIT_WRITE),
    Endpoint(method="DELETE", template=_UNIT, permissions=_UNIT_WRITE),
    Endpoint(method="GET", template=f"{_UNIT}/members", permissions=_UNIT_READ),
    Endpoint(
        method="POST",
        template=f"{_UNIT}/members/$ref",
        permissions=(*_UNIT_WRITE, "Directory.ReadWrite.All"),
    ),
    Endpoint(
        method="DELETE",
        template=f"{_UNIT}/members/{{directoryObject-id}}/$ref",
        permissions=(*_UNIT_WRITE, "Directory.ReadWrite.All"),
    ),
    Endpoint(method="GET", template="/applications/delta()", permissions=_APP_READ),
    Endpoint(method="GET", template="/servicePrincipals/delta()", permissions=_APP_READ),
    Endpoint(method="GET", template="/directoryRoles/delta()", permissions=_ROLE_READ),
    Endpoint(
        method="GET",
        template="/contacts",
        permissions=("OrgContact.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    ),
    Endpoint(
        method="GET",
        template="/contacts/{orgContact-id}",
        permissions=("OrgContact.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    ),
    Endpoint(
        method="POST",
        template="/invitations",
        permissions=("User.Invite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"),
    ),
    Endpoint(method="GET", template="/auditLogs/signIns", permissions=("AuditLog.Read.All",)),
    Endpoint(
        method="GET",
        template="/auditLogs/signIns/{signIn-id}",
        permissions=("AuditLog.Read.All",),
    ),
    Endpoint(method="POST", template="/users/{user-id}/sendMail", permissions=("Mail.Send",)),
)

BETA_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        method="GET",
        template=f"{_AUTH}/requirements",
        permissions=("Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"),
    ),
    Endpoint(
        method="PATCH",
        template=f"{_AUTH}/requirements",
        permissions=("Policy.ReadWrite.AuthenticationMethod",),
    ),
)
"""Operations Graph has only under ``/beta`` (every ``ENDPOINTS`` operation is served there too)."""

# PIM and recovery fidelity live in their own modules, which need ``Endpoint`` above.
from dirguard_sandbox.permissions_governance import (  # noqa: E402
    AGREEMENT_ENDPOINTS,
    AGREEMENT_PERMISSIONS,
)
from dirguard_sandbox.permissions_guardian_reads import (  # noqa: E402
    GUARDIAN_PERMISSIONS,
    GUARDIAN_READ_ENDPOINTS,
)
from dirguard_sandbox.permissions_pim import PIM_ENDPOINTS, PIM_PERMISSIONS  # noqa: E402
from dirguard_sandbox.permissions_recovery import RECOVERY_ENDPOINTS  # noqa: E402

_MORE_PERMISSIONS = PIM_PERMISSIONS + GUARDIAN_PERMISSIONS + AGREEMENT_PERMISSIONS
APPLICATION_PERMISSIONS += _MORE_PERMISSIONS
PERMISSIONS_BY_VALUE.update({permission.value: permission for permission in _MORE_PERMISSIONS})
PERMISSIONS_BY_ID.update({permission.id: permission for permission in _MORE_PERMISSIONS})
READ_ONLY_PERMISSIONS = tuple(
    permission.value for permission in APPLICATION_PERMISSIONS if ".Read." in permission.value
)
ENDPOINTS += PIM_ENDPOINTS + RECOVERY_ENDPOINTS + GUARDIAN_READ_ENDPOINTS + AGREEMENT_ENDPOINTS
