"""Feature rows: the product capabilities, and the permissions each one needs.

Every usage the seeds describe is a feature; a feature lists the keys of all permissions it may
need. What it needs *in one mode* is the listed permissions held in that mode
(``Permission.modes``): ``guardian.entra.monitor`` names both Global Reader (read-only) and
Global Administrator (full), and so needs exactly one of them in each mode.
"""

from __future__ import annotations

from dirguard.catalog.permission_model import Feature, Kind, Mode, Permission, Principal, Service
from dirguard.catalog.permission_rows_administrator import ADMINISTRATOR_PERMISSIONS
from dirguard.catalog.permission_rows_guardian import GUARDIAN_PERMISSIONS

BOTH = frozenset({Mode.READ_ONLY, Mode.FULL})
FULL = frozenset({Mode.FULL})

_ROWS: dict[tuple[Principal, Kind, str], Permission] = {
    (p.principal, p.kind, p.name): p for p in ADMINISTRATOR_PERMISSIONS + GUARDIAN_PERMISSIONS
}


def _key(principal: Principal, kinds: tuple[Kind, ...], name: str) -> str:
    for kind in kinds:
        row = _ROWS.get((principal, kind, name))
        if row is not None:
            return row.key
    raise LookupError(f"features.py refers to {principal.value} {name!r}, which has no row")


def adm(*names: str) -> tuple[str, ...]:
    """Keys of Administrator API Access app permissions."""
    kinds = (Kind.GRAPH_APPLICATION, Kind.GRAPH_DELEGATED)
    return tuple(_key(Principal.ADMINISTRATOR_API_APP, kinds, n) for n in names)


def app(*names: str) -> tuple[str, ...]:
    """Keys of Guardian app-only permissions (Graph, Exchange, Office 365) and roles."""
    kinds = (
        Kind.GRAPH_APPLICATION,
        Kind.EXCHANGE_APPLICATION,
        Kind.O365_MANAGEMENT_APPLICATION,
        Kind.DIRECTORY_ROLE,
        Kind.AZURE_RBAC_ROLE,
    )
    return tuple(_key(Principal.GUARDIAN_APP, kinds, n) for n in names)


def dlg(*names: str) -> tuple[str, ...]:
    """Keys of Guardian delegated permissions."""
    kinds = (
        Kind.GRAPH_DELEGATED,
        Kind.EXCHANGE_DELEGATED,
        Kind.O365_MANAGEMENT_DELEGATED,
        Kind.AZURE_SERVICE_MANAGEMENT_DELEGATED,
    )
    return tuple(_key(Principal.GUARDIAN_APP, kinds, n) for n in names)


def gmsa(*names: str) -> tuple[str, ...]:
    """Keys of the Guardian AD account's groups, extended rights and container access."""
    kinds = (Kind.AD_GROUP, Kind.AD_EXTENDED_RIGHT, Kind.AD_CONTAINER_ACCESS)
    return tuple(_key(Principal.GUARDIAN_AD_ACCOUNT, kinds, n) for n in names)


def operator(name: str) -> tuple[str, ...]:
    return (_key(Principal.AD_OPERATOR, (Kind.AD_SETUP_GROUP,), name),)


def _f(
    service: Service,
    key: str,
    title: str,
    description: str,
    permissions: tuple[str, ...],
    modes: frozenset[Mode] = BOTH,
) -> Feature:
    return Feature(
        key=key,
        service=service,
        title=title,
        description=description,
        permissions=permissions,
        modes=modes,
    )


def _a(key: str, title: str, description: str, permissions: tuple[str, ...]) -> Feature:
    return _f(Service.ADMINISTRATOR, f"administrator.{key}", title, description, permissions)


def _g(
    key: str,
    title: str,
    description: str,
    permissions: tuple[str, ...],
    modes: frozenset[Mode] = BOTH,
) -> Feature:
    return _f(Service.GUARDIAN, f"guardian.{key}", title, description, permissions, modes)


def _audit_and_recover(key: str, what: str, permissions: tuple[str, ...]) -> tuple[Feature, ...]:
    """A seed usage 'audit and recover X': monitoring in both modes, recovery in full mode."""
    return (
        _g(
            f"{key}.monitor",
            f"Monitor {what}",
            f"Collect and audit changes of {what}.",
            permissions,
        ),
        _g(
            f"{key}.rollback", f"Recover {what}", f"Roll back changes of {what}.", permissions, FULL
        ),
    )


ADMINISTRATOR_FEATURES: tuple[Feature, ...] = (
    _a(
        "sso",
        "Single sign-on",
        "Sign people in to the console with Entra ID.",
        adm("openid", "User.Read"),
    ),
    _a(
        "setup.connection",
        "Connect Microsoft 365",
        "Create, update and validate the API Access application (setup, re-consent, upgrades).",
        (
            _key(
                Principal.ADMINISTRATOR_SETUP_APP,
                (Kind.GRAPH_APPLICATION,),
                "Application.ReadWrite.All",
            ),
        ),
    ),
    _a(
        "tenant-metadata",
        "Tenant metadata",
        "Read subscribed SKUs and verified domains (licensing, UPN suffix validation).",
        adm("Organization.Read.All"),
    ),
    _a(
        "directory-queries",
        "Directory queries",
        "Read users, groups and devices for rules, delegated actions and reports.",
        adm("Directory.Read.All", "Group.Read.All", "Device.Read.All"),
    ),
    _a(
        "web-actions.users",
        "User web actions",
        "Create and change user accounts and their attributes.",
        adm("Directory.ReadWrite.All", "User.ReadWrite.All", "Profile.ReadWrite.All"),
    ),
    _a(
        "web-actions.groups",
        "Group web actions",
        "Manage Microsoft 365 and security groups, memberships and role assignments.",
        adm(
            "Group.ReadWrite.All",
            "GroupMember.Read.All",
            "GroupMember.ReadWrite.All",
            "Member.Read.Hidden",
        ),
    ),
    _a("web-actions.new-guest", "New Guest", "Invite guest users.", adm("User.Invite.All")),
    _a(
        "web-actions.mfa-state",
        "MFA state",
        "Get or set MFA status (Disabled / Enabled / Enforced) and tenant authentication method"
        " policies.",
        adm("Policy.ReadWrite.AuthenticationMethod"),
    ),
    _a(
        "web-actions.authentication-methods",
        "Authentication methods",
        "Manage a user's authentication methods (phone numbers, Authenticator app).",
        adm("UserAuthenticationMethod.ReadWrite.All"),
    ),
    _a(
        "suspend",
        "Suspend",
        "Suspend a user: block sign-in and revoke authentication methods.",
        adm("User.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"),
    ),
    _a(
        "device-actions",
        "Device actions",
        "Manage devices and Intune-managed devices: sync, retire, suspend, delete.",
        adm(
            "Device.Read.All",
            "Device.ReadWrite.All",
            "DeviceManagementManagedDevices.ReadWrite.All",
            "DeviceManagementManagedDevices.PrivilegedOperations.All",
        ),
    ),
    _a(
        "laps",
        "LAPS",
        "Show a device's local administrator password.",
        adm("DeviceLocalCredential.Read.All"),
    ),
    _a(
        "rules",
        "Rules",
        "Scheduled desired-state automation over users, groups, devices and calendars.",
        adm(
            "Directory.Read.All",
            "Group.Read.All",
            "Member.Read.Hidden",
            "User.ReadWrite.All",
            "UserAuthenticationMethod.ReadWrite.All",
            "Calendars.ReadWrite.Shared",
        ),
    ),
    _a(
        "workflows",
        "Approval workflows",
        "Approval workflows that change users and calendars and email approvers.",
        adm("User.ReadWrite.All", "Calendars.ReadWrite.Shared", "People.Read"),
    ),
    _a(
        "reports",
        "Reports",
        "Report generation, last sign-in information and security reports.",
        adm(
            "Directory.Read.All",
            "AuditLog.Read.All",
            "Reports.Read.All",
            "Reports.ReadWrite.All",
            "SecurityEvents.Read.All",
        ),
    ),
    _a(
        "notifications",
        "Notifications",
        "Send notification emails from service accounts, other accounts and shared mailboxes.",
        adm(
            "Mail.ReadWrite",
            "Mail.ReadWrite.Shared",
            "Mail.Send",
            "Mail.Send.Shared",
            "People.Read",
        ),
    ),
    _a(
        "analytics",
        "Analytics",
        "Analytics collection, Service Adoption Dashboard, License Optimization, OneDrive URLs.",
        adm("AuditLog.Read.All", "Files.Read.All"),
    ),
    _a(
        "priority-booking",
        "Priority Booking (legacy)",
        "Book resources through Exchange Web Services; planned for removal.",
        adm("EWS.AccessAsUser.All"),
    ),
)

_DELEGATED_ALL = tuple(
    p.key
    for p in GUARDIAN_PERMISSIONS
    if p.principal is Principal.GUARDIAN_APP
    and p.kind
    in {
        Kind.GRAPH_DELEGATED,
        Kind.EXCHANGE_DELEGATED,
        Kind.O365_MANAGEMENT_DELEGATED,
        Kind.AZURE_SERVICE_MANAGEMENT_DELEGATED,
    }
)

GUARDIAN_FEATURES: tuple[Feature, ...] = (
    _g(
        "ad.setup.domain",
        "AD setup: domain partition",
        "Create the gMSA and grant its rights in the domain partition.",
        operator("Domain Admin"),
    ),
    _g(
        "ad.setup.schema",
        "AD setup: schema partition",
        "Grant the gMSA its rights in the schema partition.",
        operator("Schema Admin"),
    ),
    _g(
        "ad.setup.configuration",
        "AD setup: configuration partition",
        "Grant the gMSA its rights in the configuration and application partitions.",
        operator("Enterprise Admin"),
    ),
    _g(
        "ad.collect-changes",
        "AD change collection",
        "Collect every attribute change through DirSync, confidential attributes and deletions"
        " included.",
        gmsa(
            "Replicate Directory Changes",
            "Replicate Directory Changes All",
            "List Contents and Read Property on Deleted Objects",
        ),
    ),
    _g(
        "ad.collect-events",
        "AD event collection",
        "Read who made a change from domain controller security events over WinRM.",
        gmsa("Event Log Readers", "Remote Management Users"),
    ),
    _g(
        "ad.entra-connect",
        "Entra Connect",
        "Monitor and operate Entra Connect synchronization.",
        gmsa("ADSyncOperators"),
    ),
    _g(
        "ad.rollback.domain",
        "AD rollback: domain partition",
        "Roll back changes in the domain partition.",
        gmsa("Domain Admins"),
        FULL,
    ),
    _g(
        "ad.rollback.configuration",
        "AD rollback: configuration partition",
        "Roll back changes in the configuration and application partitions.",
        gmsa("Enterprise Admins"),
        FULL,
    ),
    _g(
        "ad.rollback.schema",
        "AD rollback: schema partition",
        "Roll back changes in the schema partition.",
        gmsa("Schema Admins"),
        FULL,
    ),
    _g(
        "ad.recover-deleted",
        "AD recover deleted objects",
        "Reanimate tombstones and restore their attributes and links from history.",
        gmsa("Reanimate Tombstones", "Domain Admins"),
        FULL,
    ),
    _g(
        "entra.setup-consent",
        "Entra tenant setup and consent",
        "Interactive consent and configuration by the administrator when a tenant is added.",
        _DELEGATED_ALL,
    ),
    _g(
        "entra.monitor",
        "Entra monitoring",
        "Back up and detect changes of Entra directory objects.",
        app(
            "Global Reader",
            "Global Administrator",
            "Directory.ReadWrite.All",
            "ProfilePhoto.Read.All",
        ),
    ),
    _g(
        "entra.audit-events",
        "Entra audit events",
        "Collect Entra ID audit events (who changed what).",
        app("AuditLog.Read.All"),
    ),
    _g(
        "entra.rollback",
        "Entra rollback",
        "Roll back and recover Entra objects, restore deleted users, reset passwords.",
        app("Global Administrator", "Directory.ReadWrite.All", "User.DeleteRestore.All")
        + dlg("Directory.AccessAsUser.All"),
        FULL,
    ),
    *_audit_and_recover("entra.groups", "Entra groups", app("Group.ReadWrite.All")),
    *_audit_and_recover(
        "entra.applications",
        "application registrations, service principals and app role assignments",
        app("Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"),
    ),
    *_audit_and_recover(
        "conditional-access",
        "Conditional Access policies and named locations",
        app(
            "Policy.ReadWrite.ConditionalAccess",
            "Policy.Read.All",
            "Agreement.Read.All",
            "CrossTenantInformation.ReadBasic.All",
        ),
    ),
    *_audit_and_recover(
        "entra.authentication-flows",
        "authentication flows configuration",
        app("Policy.ReadWrite.AuthenticationFlows"),
    ),
    *_audit_and_recover(
        "entra.authorization-policy",
        "Entra authorization settings",
        app("Policy.Read.All", "Policy.ReadWrite.Authorization"),
    ),
    *_audit_and_recover(
        "entra.device-configuration",
        "device configuration policies",
        app("Policy.ReadWrite.DeviceConfiguration"),
    ),
    *_audit_and_recover(
        "entra.role-assignments",
        "directory role assignments",
        app("RoleManagement.ReadWrite.Directory"),
    ),
    *_audit_and_recover(
        "entra.pim",
        "PIM active and eligible role assignments",
        app(
            "RoleAssignmentSchedule.ReadWrite.Directory",
            "RoleEligibilitySchedule.ReadWrite.Directory",
        ),
    ),
    *_audit_and_recover("entra.contacts", "Entra ID contacts", app("Contacts.ReadWrite")),
    *_audit_and_recover(
        "entra.authentication-methods",
        "authentication method settings",
        app("UserAuthenticationMethod.ReadWrite.All"),
    ),
    *_audit_and_recover(
        "entra.custom-security-attributes",
        "custom security attribute definitions",
        app("CustomSecAttributeDefinition.ReadWrite.All"),
    ),
    *_audit_and_recover(
        "entra.domains", "custom domain configurations", app("Domain.ReadWrite.All")
    ),
    *_audit_and_recover(
        "entra.synchronization",
        "directory synchronization configurations",
        app("Synchronization.ReadWrite.All"),
    ),
    *_audit_and_recover(
        "intune.managed-devices",
        "Intune managed devices",
        app("DeviceManagementManagedDevices.ReadWrite.All"),
    ),
    *_audit_and_recover(
        "intune.configuration",
        "Intune configuration and compliance policies",
        app("DeviceManagementConfiguration.ReadWrite.All"),
    ),
    *_audit_and_recover(
        "intune.scripts",
        "Intune PowerShell scripts and remediations",
        app("DeviceManagementScripts.ReadWrite.All"),
    ),
    *_audit_and_recover(
        "intune.apps",
        "Intune apps and app assignments (and collect Intune audit logs)",
        app("DeviceManagementApps.ReadWrite.All"),
    ),
    *_audit_and_recover(
        "global-secure-access",
        "Global Secure Access policies",
        app("NetworkAccessPolicy.ReadWrite.All"),
    ),
    *_audit_and_recover(
        "teams.settings", "Microsoft Teams settings", app("TeamSettings.ReadWrite.All")
    ),
    *_audit_and_recover(
        "exchange",
        "Exchange Online mailboxes, settings and transport rules",
        app("Exchange.ManageAsApp") + dlg("Exchange.Manage"),
    ),
    _g(
        "unified-audit-log",
        "Unified Audit Log",
        "Collect the Office 365 Unified Audit Log (Management Activity API).",
        app("ActivityFeed.Read") + dlg("ActivityFeed.Read"),
    ),
    _g(
        "azure-rbac.monitor",
        "Azure RBAC monitoring",
        "Read Azure subscriptions, resources and role assignments to detect RBAC changes.",
        app("Reader") + dlg("user_impersonation"),
    ),
    _g(
        "azure-rbac.rollback",
        "Azure RBAC rollback",
        "Restore Azure role assignments (just-in-time elevation with User Access Administrator).",
        app("User Access Administrator") + dlg("user_impersonation"),
        FULL,
    ),
    _g(
        "azure.resources",
        "Azure resources for dirguard",
        "Create and manage the Azure resources and blob storage dirguard Guardian uses.",
        app("Contributor", "Storage Blob Data Contributor"),
    ),
    _g(
        "notifications",
        "Notifications",
        "Send notification emails, also from shared mailboxes.",
        app("Mail.Send", "Mail.ReadWrite") + dlg("Mail.Send.Shared", "Mail.ReadWrite.Shared"),
    ),
)

FEATURES: tuple[Feature, ...] = ADMINISTRATOR_FEATURES + GUARDIAN_FEATURES
