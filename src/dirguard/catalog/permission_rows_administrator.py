"""Permission rows of the Administrator service (seed ``000_b61da7100b52388d.txt``).

Usage and description texts are the seed's, with only the product names rewritten
(``rewrite_product_names``). Decisions the seed leaves open:

- **Modes**: every row is needed in both modes. The seed knows no read-only Administrator and
  says partial consent is not supported ("If any required permission is missing, ... treats this
  as a critical error"), so everything listed is required.
- **Principal of the SSO rows** (openid, User.Read, under "Microsoft Graph permissions – Admin
  consent", a table the seed does not attach to either application): the API Access app, the
  long-lived application that signs people in to the console day to day. The setup app holds
  only Application.ReadWrite.All, as its own table says.
- **Kind**: the seed heads the API Access tables "Delegated/application permissions". Rows that
  Microsoft Graph defines only as delegated permissions (openid, User.Read, People.Read,
  Calendars.ReadWrite.Shared, Mail.ReadWrite.Shared, Mail.Send.Shared, EWS.AccessAsUser.All) are
  ``GRAPH_DELEGATED`` (lifecycle delegated-consent, EWS legacy); the rest are application
  permissions.
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

DOCUMENT = "000_b61da7100b52388d.txt"

SSO = "Microsoft Graph permissions – Admin consent"
SETUP_APP = "dirguard Administrator application – Admin consent"
CORE = "Core identity, directory, and group management"
USERS = "User lifecycle and authentication management"
AUDIT = "Audit, reporting, and analytics"
MAIL = "Mail, calendar, files, and collaboration"
DEVICES = "Device and Intune management"
TENANT = "Tenant metadata and organization information"
LEGACY = "Legacy permission (planned for deprecation)"

_BOTH = frozenset({Mode.READ_ONLY, Mode.FULL})

_DELEGATED_ONLY = frozenset(
    {
        "openid",
        "User.Read",
        "People.Read",
        "Calendars.ReadWrite.Shared",
        "Mail.ReadWrite.Shared",
        "Mail.Send.Shared",
        "EWS.AccessAsUser.All",
    }
)
"""Names Microsoft Graph offers only as delegated permissions."""


def _row(
    section: str,
    name: str,
    description: str,
    usage: str,
    *,
    principal: Principal = Principal.ADMINISTRATOR_API_APP,
    lifecycle: Lifecycle | None = None,
    display_name: str | None = None,
) -> Permission:
    kind = Kind.GRAPH_DELEGATED if name in _DELEGATED_ONLY else Kind.GRAPH_APPLICATION
    if lifecycle is None:
        lifecycle = (
            Lifecycle.DELEGATED_CONSENT if kind is Kind.GRAPH_DELEGATED else Lifecycle.REQUIRED
        )
    return Permission(
        key=f"{principal.value}:{kind.value}:{name}",
        name=name,
        service=Service.ADMINISTRATOR,
        principal=principal,
        kind=kind,
        description=description,
        usage=usage,
        modes=_BOTH,
        lifecycle=lifecycle,
        seeds=(SeedRef(document=DOCUMENT, section=section),),
        display_name=display_name,
    )


ADMINISTRATOR_PERMISSIONS: tuple[Permission, ...] = (
    _row(SSO, "openid", "Sign users in", "Used for Azure authentication (SSO)."),
    _row(SSO, "User.Read", "Sign in and read user profile", "Used for Azure authentication (SSO)."),
    _row(
        SETUP_APP,
        "Application.ReadWrite.All",
        "Allows the app to create, read, update, and delete applications and service principals"
        " in Microsoft Entra ID.",
        "Used by the dirguard Administrator app to check for the existence of and create or"
        " update the dirguard Administrator API Access application during initial setup,"
        " re‑consent, upgrades, and Create / Validate connection flows.",
        principal=Principal.ADMINISTRATOR_SETUP_APP,
        lifecycle=Lifecycle.SETUP_ONLY,
        display_name="Read and write applications",
    ),
    _row(
        CORE,
        "Directory.Read.All",
        "Read directory data",
        "Used across rules, delegated actions, reporting, and directory queries.",
    ),
    _row(
        CORE,
        "Directory.ReadWrite.All",
        "Read and write directory data",
        "Used across the product to manage users, groups, and devices.",
    ),
    _row(CORE, "Group.Read.All", "Read groups", "Used across rules and delegated actions."),
    _row(
        CORE,
        "Group.ReadWrite.All",
        "Read and write groups",
        "Used to manage Microsoft 365 groups, security groups, memberships, and role assignments.",
    ),
    _row(
        CORE,
        "GroupMember.Read.All",
        "Read access to group memberships",
        "Used for managing group membership.",
    ),
    _row(
        CORE,
        "GroupMember.ReadWrite.All",
        "Read and write access to group memberships",
        "Used for managing group membership.",
    ),
    _row(
        CORE,
        "Member.Read.Hidden",
        "Read hidden group memberships",
        "Used in rules (for example, Microsoft 365 Groups) to filter or evaluate groups with"
        " hidden membership or administrative units.",
    ),
    _row(
        USERS,
        "User.ReadWrite.All",
        "Read and write users",
        "Used across rules, workflows, and web actions to manage user accounts.",
    ),
    _row(
        USERS,
        "User.Invite.All",
        "Invite guest users",
        "Used in guest-related web actions such as New Guest.",
    ),
    _row(
        USERS,
        "Profile.ReadWrite.All",
        "Read and write user profiles",
        "Used to update and synchronize user attributes.",
    ),
    _row(
        USERS,
        "UserAuthenticationMethod.ReadWrite.All",
        "Read and write user authentication methods",
        "Used by Authentication Methods web actions, suspend functionality, and rules related to"
        " authentication methods.",
    ),
    _row(
        USERS,
        "Policy.ReadWrite.AuthenticationMethod",
        "Read and write authentication method policies",
        "Used to read and manage tenant-level authentication method policies and to get or set"
        " MFA status (Disabled / Enabled / Enforced) via M365 User → Properties web action.",
    ),
    _row(
        AUDIT,
        "AuditLog.Read.All",
        "Read audit logs",
        "Used to read last sign-in information, analytics collection, Service Adoption"
        " Dashboard, and License Optimization.",
    ),
    _row(AUDIT, "Reports.Read.All", "Read reports", "Used in report generation web actions."),
    _row(
        AUDIT,
        "Reports.ReadWrite.All",
        "Read and write reports",
        "Used in advanced reporting scenarios.",
    ),
    _row(
        AUDIT,
        "SecurityEvents.Read.All",
        "Read security events",
        "Used for security-related reports.",
    ),
    _row(
        MAIL,
        "Mail.ReadWrite",
        "Read and write mail",
        "Used to send notifications using Microsoft Graph from a service account.",
    ),
    _row(
        MAIL,
        "Mail.ReadWrite.Shared",
        "Read and write shared mail",
        "Used to send notifications using Microsoft Graph from non-service accounts.",
    ),
    _row(MAIL, "Mail.Send", "Send mail", "Used to send notifications through Microsoft Graph."),
    _row(
        MAIL,
        "Mail.Send.Shared",
        "Send shared mail",
        "Used to send notifications from shared mailboxes.",
    ),
    _row(
        MAIL,
        "Calendars.ReadWrite.Shared",
        "Read and write calendars",
        "Used by workflows and rules that interact with user calendars.",
    ),
    _row(
        MAIL,
        "Files.Read.All",
        "Read all user-accessible files",
        "Used for analytics and OneDrive functionality (for example, retrieving drive URLs).",
    ),
    _row(
        MAIL,
        "People.Read",
        "Read people list",
        "Used in approval workflows and web actions that send emails.",
    ),
    _row(DEVICES, "Device.Read.All", "Read devices", "Used across the product for device queries."),
    _row(
        DEVICES,
        "Device.ReadWrite.All",
        "Read and write devices",
        "Used to manage devices and synchronize properties.",
    ),
    _row(
        DEVICES,
        "DeviceLocalCredential.Read.All",
        "Read local credentials",
        "Used by LAPS web actions.",
    ),
    _row(
        DEVICES,
        "DeviceManagementManagedDevices.ReadWrite.All",
        "Read/write Intune devices",
        "Used by device web actions for Intune-managed devices.",
    ),
    _row(
        DEVICES,
        "DeviceManagementManagedDevices.PrivilegedOperations.All",
        "Perform privileged Intune actions",
        "Used for retire, suspend, and delete device actions.",
    ),
    _row(
        TENANT,
        "Organization.Read.All",
        "Read organization information",
        "Used to retrieve subscribed SKUs and verified domains in the tenant.",
    ),
    _row(
        LEGACY,
        "EWS.AccessAsUser.All",
        "Exchange Web Services mailbox access",
        "Previously used for Priority Booking functionality. Planned for removal as Exchange"
        " Online integrations are modernized to Microsoft Graph.",
        lifecycle=Lifecycle.LEGACY,
    ),
)
