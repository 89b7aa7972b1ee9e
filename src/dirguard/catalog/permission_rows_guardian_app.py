"""Permission rows of the Guardian application: its Entra directory roles and Azure RBAC roles,
its Microsoft Graph, Exchange Online and Office 365 Management API application permissions, and
the delegated permissions consented at setup. Texts as ``permission_rows_guardian`` describes.

Decisions the seed leaves open (rows whose modes go beyond what the seed says carry
``added_by_project`` with the reason):

- **Rollback roles** (Global Administrator, User Access Administrator) are full mode only.
- **Global Reader** is read-only mode only; in full mode Global Administrator covers reading.
- **Reader** (Azure RBAC) is needed in both modes: the seed calls the rollback roles
  "additional", i.e. on top of Reader.
- **Graph application permissions**: the seed lists one set, requested when the application is
  created, without modes, and relies on the directory role (Global Reader) to keep read-only
  mode from writing. It does not: an application permission is the app's own right, whatever
  directory role it holds (app-only access is governed by the application permissions granted;
  Microsoft's "Overview of Microsoft Graph permissions", https://learn.microsoft.com/graph/
  permissions-overview), so with ``Directory.ReadWrite.All`` a "read-only" app may write every
  directory object. dirguard therefore holds the seed's write permissions (``*.ReadWrite*``,
  ``User.DeleteRestore.All``, ``Mail.ReadWrite``) in full mode only, and in read-only mode their
  read counterparts (``READ_COUNTERPARTS``: rows the seed does not name, each with its reason);
  rollback from read-only mode gets the write permissions it needs just in time
  (``services/rollback/elevation``). Read permissions the seed lists (AuditLog.Read.All,
  Policy.Read.All, Agreement.Read.All, CrossTenantInformation.ReadBasic.All,
  ProfilePhoto.Read.All) and Mail.Send (notifications, no directory write) stay in both modes.
- **Exchange and Office 365 application permissions** stay in both modes: Exchange.ManageAsApp
  acts with the Exchange role of the app's directory role (Global Reader: view-only), and
  ActivityFeed.Read only reads.
- **Delegated permissions** are consented during setup and kept for administrative operations:
  both modes, lifecycle delegated-consent (they act only for a signed-in user, within that
  user's own rights).
"""

from __future__ import annotations

from dirguard.catalog.permission_model import (
    Kind,
    Lifecycle,
    Mode,
    Permission,
    Principal,
    SeedRef,
    Service,
)
from dirguard.catalog.permission_rows_guardian_ad import BOTH, DOCUMENT, FULL, READ_ONLY, row_key
from dirguard.catalog.permission_rows_guardian_reads import READ_COUNTERPARTS

DIRECTORY_ROLES = "Entra directory roles"
RBAC_READ_ONLY = "Monitoring only (read-only)"
RBAC_ADDITIONAL = "Additional roles used for rollback or Azure resource operations"
GRAPH_APP = "Microsoft Graph permissions"
EXCHANGE_APP = "Exchange Online permissions"
O365_APP = "Office 365 Management API permissions"
GRAPH_DELEGATED = "Microsoft Graph delegated permissions"
EXCHANGE_DELEGATED = "Exchange Online delegated permissions"
O365_DELEGATED = "Office 365 Management API delegated permissions"
ASM_DELEGATED = "Azure Service Management delegated permissions"

READER_REASON = (
    "full mode: the seed names Reader for read-only and calls the rollback roles 'additional',"
    " so full mode keeps Reader for monitoring RBAC changes"
)


def _app(
    section: str,
    kind: Kind,
    name: str,
    text: str,
    *,
    modes: frozenset[Mode] = BOTH,
    lifecycle: Lifecycle = Lifecycle.REQUIRED,
    usage: str | None = None,
    added_by_project: str | None = None,
) -> Permission:
    principal = Principal.GUARDIAN_APP
    return Permission(
        key=row_key(principal, kind, name),
        name=name,
        service=Service.GUARDIAN,
        principal=principal,
        kind=kind,
        description=text,
        usage=text if usage is None else usage,
        modes=modes,
        lifecycle=lifecycle,
        seeds=(SeedRef(document=DOCUMENT, section=section),),
        added_by_project=added_by_project,
    )


def _graph(name: str, text: str) -> Permission:
    """A seed Graph permission that only reads: both modes."""
    return _app(GRAPH_APP, Kind.GRAPH_APPLICATION, name, text)


def _graph_write(name: str, text: str) -> Permission:
    """A seed Graph permission that writes: full mode only (read-only mode holds its read
    counterpart, ``READ_COUNTERPARTS``)."""
    return _app(GRAPH_APP, Kind.GRAPH_APPLICATION, name, text, modes=FULL)


def _delegated(name: str, text: str) -> Permission:
    return _app(
        GRAPH_DELEGATED, Kind.GRAPH_DELEGATED, name, text, lifecycle=Lifecycle.DELEGATED_CONSENT
    )


ROLE_PERMISSIONS: tuple[Permission, ...] = (
    _app(
        DIRECTORY_ROLES,
        Kind.DIRECTORY_ROLE,
        "Global Administrator",
        "Required for full access to Entra directory changes, rollback operations, and"
        " administrative recovery.",
        usage="Monitoring and rollback (full)",
        modes=FULL,
    ),
    _app(
        DIRECTORY_ROLES,
        Kind.DIRECTORY_ROLE,
        "Global Reader",
        "Sufficient for read-only monitoring and change detection without rollback capability.",
        usage="Monitoring only (read-only)",
        modes=READ_ONLY,
    ),
    _app(
        RBAC_READ_ONLY,
        Kind.AZURE_RBAC_ROLE,
        "Reader",
        "Required to read Azure subscription and resource information for monitoring RBAC"
        " changes. dirguard Guardian automatically assigns this role at the required scope. In a"
        " read-only configuration, this is the primary Azure RBAC role required.",
        added_by_project=READER_REASON,
    ),
    _app(
        RBAC_ADDITIONAL,
        Kind.AZURE_RBAC_ROLE,
        "User Access Administrator",
        "Required to monitor and restore RBAC-related access control changes, such as role"
        " assignments. dirguard Guardian automatically assigns this role to the service principal"
        " at the required scope. Without this role, dirguard Guardian may not be able to fully"
        " restore access controls or role assignments.",
        modes=FULL,
    ),
    _app(
        RBAC_ADDITIONAL,
        Kind.AZURE_RBAC_ROLE,
        "Contributor",
        "Required to create, update, and manage Azure resources used by dirguard Guardian during"
        " write operations. dirguard Guardian assigns this role at the subscription level in both"
        " modes. This role is needed when dirguard Guardian must perform changes in Azure, but it"
        " does not allow management of access assignments.",
    ),
    _app(
        RBAC_ADDITIONAL,
        Kind.AZURE_RBAC_ROLE,
        "Storage Blob Data Contributor",
        "Required to read, write, and manage blob data in Azure Storage used by dirguard"
        " Guardian. dirguard Guardian assigns this role at the subscription level in both modes.",
    ),
)

APPLICATION_PERMISSIONS: tuple[Permission, ...] = (
    _graph_write(
        "Directory.ReadWrite.All",
        "Read and write all directory data for backup and recovery of Entra objects.",
    ),
    _graph_write(
        "Application.ReadWrite.All",
        "Manage application registrations and service principals for recovery.",
    ),
    _graph_write("Group.ReadWrite.All", "Audit, back up, and recover Entra groups."),
    _graph("AuditLog.Read.All", "Collect Entra ID audit events."),
    _graph_write(
        "Policy.ReadWrite.ConditionalAccess",
        "Back up and recover Conditional Access policies and named locations.",
    ),
    _graph(
        "Policy.Read.All",
        "Read organization policies for collection of policy and Conditional Access objects.",
    ),
    _graph_write(
        "Policy.ReadWrite.AuthenticationFlows",
        "Audit and recover authentication flows configuration.",
    ),
    _graph_write(
        "Policy.ReadWrite.Authorization", "Audit and recover Entra authorization settings."
    ),
    _graph_write(
        "Policy.ReadWrite.DeviceConfiguration",
        "Collect and recover device configuration policies.",
    ),
    _graph_write(
        "RoleManagement.ReadWrite.Directory", "Audit and recover directory role assignments."
    ),
    _graph_write(
        "RoleAssignmentSchedule.ReadWrite.Directory",
        "Audit and roll back PIM active role assignments.",
    ),
    _graph_write(
        "RoleEligibilitySchedule.ReadWrite.Directory",
        "Audit and roll back PIM eligibility role assignments.",
    ),
    _graph_write("Contacts.ReadWrite", "Recover Entra ID contacts."),
    _graph("Agreement.Read.All", "Audit Conditional Access dependencies, including terms of use."),
    _graph_write(
        "UserAuthenticationMethod.ReadWrite.All",
        "Audit and recover authentication method settings.",
    ),
    _graph("CrossTenantInformation.ReadBasic.All", "Audit cross-tenant policy dependencies."),
    _graph_write(
        "DeviceManagementManagedDevices.ReadWrite.All",
        "Audit, back up, and recover Intune managed devices.",
    ),
    _graph_write(
        "DeviceManagementConfiguration.ReadWrite.All",
        "Audit and recover Intune configuration and compliance policies.",
    ),
    _graph_write(
        "DeviceManagementScripts.ReadWrite.All",
        "Audit and recover Intune PowerShell scripts and remediations.",
    ),
    _graph_write(
        "DeviceManagementApps.ReadWrite.All",
        "Collect Intune audit logs, manage app assignments, and recover Intune apps.",
    ),
    _graph_write(
        "NetworkAccessPolicy.ReadWrite.All", "Audit and recover Global Secure Access policies."
    ),
    _graph_write(
        "CustomSecAttributeDefinition.ReadWrite.All",
        "Audit and recover custom security attribute definitions.",
    ),
    _graph_write("TeamSettings.ReadWrite.All", "Audit and recover Microsoft Teams settings."),
    _graph_write("Domain.ReadWrite.All", "Audit and recover custom domain configurations."),
    _graph_write(
        "AppRoleAssignment.ReadWrite.All", "Audit and recover application role assignments."
    ),
    _graph_write(
        "User.DeleteRestore.All", "Delete and restore user accounts during rollback operations."
    ),
    _graph("Mail.Send", "Send notification emails."),
    _graph_write("Mail.ReadWrite", "Read and write mail for notification and recovery workflows."),
    _graph_write(
        "Synchronization.ReadWrite.All",
        "Audit and recover directory synchronization configurations.",
    ),
    _graph("ProfilePhoto.Read.All", "Read profile photos for backup purposes."),
    _app(
        EXCHANGE_APP,
        Kind.EXCHANGE_APPLICATION,
        "Exchange.ManageAsApp",
        "Manage Exchange Online configuration as an application. Audits and recovers Exchange"
        " Online mailboxes, settings, and transport rules.",
    ),
    _app(
        O365_APP,
        Kind.O365_MANAGEMENT_APPLICATION,
        "ActivityFeed.Read",
        "Read activity data for your organization. Enables Unified Audit Log collection.",
    ),
    *READ_COUNTERPARTS,
)

DELEGATED_PERMISSIONS: tuple[Permission, ...] = (
    _delegated("Directory.ReadWrite.All", "Read and write directory data."),
    _delegated(
        "Directory.AccessAsUser.All",
        "Access directory as the signed-in user, used for password resets during recovery.",
    ),
    _delegated("Group.ReadWrite.All", "Read and write all groups."),
    _delegated("AuditLog.Read.All", "Read audit log data."),
    _delegated("Mail.Send.Shared", "Send mail on behalf of shared mailboxes."),
    _delegated("Mail.ReadWrite.Shared", "Read and write mail in shared mailboxes."),
    _delegated("Policy.ReadWrite.ConditionalAccess", "Read and write Conditional Access policies."),
    _delegated("Policy.Read.All", "Read organization policies."),
    _delegated(
        "Policy.ReadWrite.AuthenticationFlows", "Read and write authentication flow policies."
    ),
    _delegated("Policy.ReadWrite.Authorization", "Read and write authorization policy."),
    _delegated(
        "Policy.ReadWrite.DeviceConfiguration", "Read and write device configuration policies."
    ),
    _delegated("RoleManagement.ReadWrite.Directory", "Read and manage directory RBAC settings."),
    _delegated(
        "RoleAssignmentSchedule.ReadWrite.Directory",
        "Read, update, and delete active role assignments.",
    ),
    _delegated(
        "RoleEligibilitySchedule.ReadWrite.Directory",
        "Read, update, and delete eligible role assignments.",
    ),
    _delegated("Contacts.ReadWrite", "Read and write user contacts."),
    _delegated("Agreement.Read.All", "Read all terms of use agreements."),
    _delegated(
        "UserAuthenticationMethod.ReadWrite.All",
        "Read and write all users' authentication methods.",
    ),
    _delegated("CrossTenantInformation.ReadBasic.All", "Read cross-tenant basic information."),
    _delegated(
        "DeviceManagementManagedDevices.ReadWrite.All", "Read and write Microsoft Intune devices."
    ),
    _delegated(
        "DeviceManagementConfiguration.ReadWrite.All",
        "Read and write Intune configuration and compliance policies.",
    ),
    _delegated("DeviceManagementScripts.ReadWrite.All", "Read and write Intune scripts."),
    _delegated("DeviceManagementApps.ReadWrite.All", "Read and write Intune apps."),
    _delegated("NetworkAccessPolicy.ReadWrite.All", "Read and write network access policies."),
    _delegated(
        "CustomSecAttributeDefinition.ReadWrite.All",
        "Read and write custom security attribute definitions.",
    ),
    _delegated("TeamSettings.ReadWrite.All", "Read and write Teams settings."),
    _delegated("ProfilePhoto.Read.All", "Read profile photos."),
    _app(
        EXCHANGE_DELEGATED,
        Kind.EXCHANGE_DELEGATED,
        "Exchange.Manage",
        "Manage Exchange configuration through delegated access.",
        lifecycle=Lifecycle.DELEGATED_CONSENT,
    ),
    _app(
        O365_DELEGATED,
        Kind.O365_MANAGEMENT_DELEGATED,
        "ActivityFeed.Read",
        "Read activity data for your organization.",
        lifecycle=Lifecycle.DELEGATED_CONSENT,
    ),
    _app(
        ASM_DELEGATED,
        Kind.AZURE_SERVICE_MANAGEMENT_DELEGATED,
        "user_impersonation",
        "Access Azure Service Management as organization users. Allows Guardian to read Azure"
        " role assignments and manage recovery resources.",
        lifecycle=Lifecycle.DELEGATED_CONSENT,
    ),
)
