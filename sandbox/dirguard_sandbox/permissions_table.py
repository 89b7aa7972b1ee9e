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
        value="Member.Read.Hidden",
        id="658aa5d8-239f-45c4-aa12-864f4fc7e490",
        display_name="Read all hidden memberships",
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


# The operations split into modules of their own, which need ``Endpoint`` above.
from dirguard_sandbox.permissions_policies import POLICIES_ENDPOINTS, POLICIES_PERMISSIONS  # noqa: E402, I001
from dirguard_sandbox.permissions_applications import (  # noqa: E402
    APPLICATIONS_ENDPOINTS,
    APPLICATIONS_PERMISSIONS,
)
from dirguard_sandbox.permissions_directory import (  # noqa: E402
    BETA_ENDPOINTS,
    DIRECTORY_ENDPOINTS,
    DIRECTORY_PERMISSIONS,
)
from dirguard_sandbox.permissions_governance import (  # noqa: E402
    AGREEMENT_ENDPOINTS,
    AGREEMENT_PERMISSIONS,
)
from dirguard_sandbox.permissions_guardian_reads import (  # noqa: E402
    GUARDIAN_PERMISSIONS,
    GUARDIAN_READ_ENDPOINTS,
)
from dirguard_sandbox.permissions_devices import (  # noqa: E402
    DEVICES_ENDPOINTS,
    DEVICES_PERMISSIONS,
)
from dirguard_sandbox.permissions_pim import PIM_ENDPOINTS, PIM_PERMISSIONS  # noqa: E402
from dirguard_sandbox.permissions_recovery import RECOVERY_ENDPOINTS  # noqa: E402
from dirguard_sandbox.permissions_calendar import (  # noqa: E402
    CALENDAR_ENDPOINTS,
    CALENDAR_PERMISSIONS,
)
from dirguard_sandbox.permissions_reports import (  # noqa: E402
    REPORTS_ENDPOINTS,
    REPORTS_PERMISSIONS,
)

_MORE_PERMISSIONS = (
    POLICIES_PERMISSIONS
    + APPLICATIONS_PERMISSIONS
    + DIRECTORY_PERMISSIONS
    + PIM_PERMISSIONS
    + GUARDIAN_PERMISSIONS
    + AGREEMENT_PERMISSIONS
    + DEVICES_PERMISSIONS
    + CALENDAR_PERMISSIONS
    + REPORTS_PERMISSIONS
)
APPLICATION_PERMISSIONS += _MORE_PERMISSIONS
PERMISSIONS_BY_VALUE.update({permission.value: permission for permission in _MORE_PERMISSIONS})
PERMISSIONS_BY_ID.update({permission.id: permission for permission in _MORE_PERMISSIONS})
READ_ONLY_PERMISSIONS = tuple(
    permission.value for permission in APPLICATION_PERMISSIONS if ".Read." in permission.value
)
ENDPOINTS += (
    POLICIES_ENDPOINTS
    + APPLICATIONS_ENDPOINTS
    + DIRECTORY_ENDPOINTS
    + PIM_ENDPOINTS
    + RECOVERY_ENDPOINTS
    + GUARDIAN_READ_ENDPOINTS
    + AGREEMENT_ENDPOINTS
    + DEVICES_ENDPOINTS
    + CALENDAR_ENDPOINTS
    + REPORTS_ENDPOINTS
)
__all__ = ["APPLICATION_PERMISSIONS", "BETA_ENDPOINTS", "ENDPOINTS", "READ_ONLY_PERMISSIONS"]
