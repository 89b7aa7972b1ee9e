"""Feature rows of the Administrator service: the console's capabilities and the API Access
app permissions (or, for setting up the connection, the setup app's) each one needs.
"""

from __future__ import annotations

from dirguard.catalog.feature_builders import adm, adm_ad, administrator, permission_key
from dirguard.catalog.permission_model import Feature, Kind, Principal

ADMINISTRATOR_FEATURES: tuple[Feature, ...] = (
    administrator(
        "sso",
        "Single sign-on",
        "Sign people in to the console with Entra ID.",
        adm("openid", "User.Read"),
    ),
    administrator(
        "setup.connection",
        "Connect Microsoft 365",
        "Create, update and validate the API Access application (setup, re-consent, upgrades).",
        (
            permission_key(
                Principal.ADMINISTRATOR_SETUP_APP,
                (Kind.GRAPH_APPLICATION,),
                "Application.ReadWrite.All",
            ),
        ),
    ),
    administrator(
        "tenant-metadata",
        "Tenant metadata",
        "Read subscribed SKUs and verified domains (licensing, UPN suffix validation).",
        adm("Organization.Read.All"),
    ),
    administrator(
        "directory-queries",
        "Directory queries",
        "Read users, groups and devices for rules, delegated actions and reports.",
        adm("Directory.Read.All", "Group.Read.All", "Device.Read.All"),
    ),
    administrator(
        "ad.web-actions",
        "AD web actions",
        "Create, change, reset, enable, disable, unlock, move and delete AD users; group"
        " membership; remote mailboxes.",
        adm_ad("Account Operators"),
    ),
    administrator(
        "web-actions.users",
        "User web actions",
        "Create and change user accounts and their attributes.",
        adm("Directory.ReadWrite.All", "User.ReadWrite.All", "Profile.ReadWrite.All"),
    ),
    administrator(
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
    administrator(
        "web-actions.new-guest", "New Guest", "Invite guest users.", adm("User.Invite.All")
    ),
    administrator(
        "web-actions.mfa-state",
        "MFA state",
        "Get or set MFA status (Disabled / Enabled / Enforced) and tenant authentication method"
        " policies.",
        adm("Policy.ReadWrite.AuthenticationMethod"),
    ),
    administrator(
        "web-actions.authentication-methods",
        "Authentication methods",
        "Manage a user's authentication methods (phone numbers, Authenticator app).",
        adm("UserAuthenticationMethod.ReadWrite.All"),
    ),
    administrator(
        "suspend",
        "Suspend",
        "Suspend a user: block sign-in and revoke authentication methods.",
        adm("User.ReadWrite.All", "UserAuthenticationMethod.ReadWrite.All"),
    ),
    administrator(
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
    administrator(
        "laps",
        "LAPS",
        "Show a device's local administrator password.",
        adm("DeviceLocalCredential.Read.All"),
    ),
    administrator(
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
    administrator(
        "workflows",
        "Approval workflows",
        "Approval workflows that change users and calendars and email approvers.",
        adm("User.ReadWrite.All", "Calendars.ReadWrite.Shared", "People.Read"),
    ),
    administrator(
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
    administrator(
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
    administrator(
        "analytics",
        "Analytics",
        "Analytics collection, Service Adoption Dashboard, License Optimization, OneDrive URLs.",
        adm("AuditLog.Read.All", "Files.Read.All"),
    ),
    administrator(
        "priority-booking",
        "Priority Booking (legacy)",
        "Book resources through Exchange Web Services; planned for removal.",
        adm("EWS.AccessAsUser.All"),
    ),
)
