"""The Guardian application's read-only Graph permissions: for each write permission the seed
requests (``*.ReadWrite*``), the read permission that collects the same objects.

The seed (``001_c634a233c6d74026.txt``) requests its write permissions in both modes and counts
on the Global Reader role to keep read-only mode from writing; but an application permission is
the app's own right in app-only access, whatever directory role the app holds, so
``Directory.ReadWrite.All`` lets a "read-only" app write every directory object. dirguard's
read-only mode holds these rows instead (full mode holds the seed's write permissions, which
also read). None of them is in the seed: each carries ``added_by_project`` with the reason, and
the generated docs list them under "Added by the project". Names and display names are those of
Microsoft's permissions reference (https://learn.microsoft.com/graph/permissions-reference).

Where one read permission serves several write permissions (``Policy.Read.All`` reads every
policy the seed's ``Policy.ReadWrite.*`` write), the seed's own row is used and none is added
here; ``AppRoleAssignment.ReadWrite.All`` has no read counterpart of its own
(``Application.Read.All`` reads app role assignments).
"""

from __future__ import annotations

from dirguard.catalog.permission_model import Kind, Lifecycle, Permission, Principal, Service
from dirguard.catalog.permission_rows_guardian_ad import READ_ONLY, row_key


def read_counterpart(name: str, display_name: str, *, of: str, reads: str) -> Permission:
    """Read permission ``name`` held in read-only mode in place of the seed's write ``of``."""
    principal = Principal.GUARDIAN_APP
    kind = Kind.GRAPH_APPLICATION
    return Permission(
        key=row_key(principal, kind, name),
        name=name,
        service=Service.GUARDIAN,
        principal=principal,
        kind=kind,
        description=display_name,
        usage=f"Collect {reads} in read-only mode (in place of {of}).",
        modes=READ_ONLY,
        lifecycle=Lifecycle.REQUIRED,
        display_name=display_name,
        added_by_project=(
            f"read-only mode: the seed requests {of} in both modes, but an application"
            " permission lets the app write whatever it covers regardless of its directory role"
            f" (Global Reader), so read-only mode holds its read counterpart {name} instead"
        ),
    )


READ_COUNTERPARTS: tuple[Permission, ...] = (
    read_counterpart(
        "Directory.Read.All",
        "Read directory data",
        of="Directory.ReadWrite.All",
        reads="users, groups, roles, administrative units and other directory objects",
    ),
    read_counterpart(
        "Application.Read.All",
        "Read all applications",
        of="Application.ReadWrite.All and AppRoleAssignment.ReadWrite.All",
        reads="application registrations, service principals and app role assignments",
    ),
    read_counterpart("Group.Read.All", "Read all groups", of="Group.ReadWrite.All", reads="groups"),
    read_counterpart(
        "RoleManagement.Read.Directory",
        "Read all directory RBAC settings",
        of="RoleManagement.ReadWrite.Directory",
        reads="directory role definitions and assignments",
    ),
    read_counterpart(
        "RoleAssignmentSchedule.Read.Directory",
        "Read all active role assignments for your company's directory",
        of="RoleAssignmentSchedule.ReadWrite.Directory",
        reads="PIM active role assignments",
    ),
    read_counterpart(
        "RoleEligibilitySchedule.Read.Directory",
        "Read all eligible role assignments for your company's directory",
        of="RoleEligibilitySchedule.ReadWrite.Directory",
        reads="PIM eligible role assignments",
    ),
    read_counterpart(
        "OrgContact.Read.All",
        "Read organizational contacts",
        of="Contacts.ReadWrite",
        reads="Entra ID (organizational) contacts",
    ),
    read_counterpart(
        "UserAuthenticationMethod.Read.All",
        "Read all users' authentication methods",
        of="UserAuthenticationMethod.ReadWrite.All",
        reads="authentication method settings",
    ),
    read_counterpart(
        "DeviceManagementManagedDevices.Read.All",
        "Read Microsoft Intune devices",
        of="DeviceManagementManagedDevices.ReadWrite.All",
        reads="Intune managed devices",
    ),
    read_counterpart(
        "DeviceManagementConfiguration.Read.All",
        "Read Microsoft Intune device configuration and policies",
        of="DeviceManagementConfiguration.ReadWrite.All",
        reads="Intune configuration and compliance policies",
    ),
    read_counterpart(
        "DeviceManagementScripts.Read.All",
        "Read Microsoft Intune Scripts",
        of="DeviceManagementScripts.ReadWrite.All",
        reads="Intune PowerShell scripts and remediations",
    ),
    read_counterpart(
        "DeviceManagementApps.Read.All",
        "Read Microsoft Intune apps",
        of="DeviceManagementApps.ReadWrite.All",
        reads="Intune apps, app assignments and Intune audit logs",
    ),
    read_counterpart(
        "NetworkAccessPolicy.Read.All",
        "Read all network access policies",
        of="NetworkAccessPolicy.ReadWrite.All",
        reads="Global Secure Access policies",
    ),
    read_counterpart(
        "CustomSecAttributeDefinition.Read.All",
        "Read custom security attribute definitions",
        of="CustomSecAttributeDefinition.ReadWrite.All",
        reads="custom security attribute definitions",
    ),
    read_counterpart(
        "TeamSettings.Read.All",
        "Read all teams' settings",
        of="TeamSettings.ReadWrite.All",
        reads="Microsoft Teams settings",
    ),
    read_counterpart(
        "Domain.Read.All", "Read domains", of="Domain.ReadWrite.All", reads="custom domains"
    ),
    read_counterpart(
        "Synchronization.Read.All",
        "Read all Azure AD synchronization data",
        of="Synchronization.ReadWrite.All",
        reads="directory synchronization configurations",
    ),
)
"""Read-only mode's Graph application permissions that the seed does not name."""

WRITE_MARKERS = ("ReadWrite", "DeleteRestore", "PrivilegedOperations", ".Create", ".Invite.")
"""What the name of a Microsoft Graph application permission that writes contains
(``Directory.ReadWrite.All``, ``User.DeleteRestore.All``, ``Group.Create``, ``User.Invite.All``)."""


def graph_permission_writes(name: str) -> bool:
    """Whether the Graph application permission ``name`` lets the app write to the tenant."""
    return any(marker in name for marker in WRITE_MARKERS)


def directory_role_writes(name: str) -> bool:
    """Whether the Entra directory role ``name`` lets its holder write (every built-in role but
    the reader ones: Global Reader, Directory Readers, Security Reader, Reports Reader …)."""
    return not name.endswith(("Reader", "Readers"))
