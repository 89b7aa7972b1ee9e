"""Feature rows of the Guardian service: AD setup, change collection and rollback per
partition, and the Entra, Intune, Exchange, Office 365 and Azure monitoring and recovery
features, with the AD account's groups and rights and the Guardian app's permissions and roles
each one needs.

``entra.setup-consent`` lists every Guardian delegated permission: they are all consented when a
tenant is added.
"""

from __future__ import annotations

from dirguard.catalog.feature_builders import (
    FULL,
    app,
    audit_and_recover,
    dlg,
    gmsa,
    guardian,
    operator,
)
from dirguard.catalog.permission_model import Feature, Kind, Principal
from dirguard.catalog.permission_rows_guardian import GUARDIAN_PERMISSIONS

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
    guardian(
        "ad.setup.domain",
        "AD setup: domain partition",
        "Create the gMSA and grant its rights in the domain partition.",
        operator("Domain Admin"),
    ),
    guardian(
        "ad.setup.schema",
        "AD setup: schema partition",
        "Grant the gMSA its rights in the schema partition.",
        operator("Schema Admin"),
    ),
    guardian(
        "ad.setup.configuration",
        "AD setup: configuration partition",
        "Grant the gMSA its rights in the configuration and application partitions.",
        operator("Enterprise Admin"),
    ),
    guardian(
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
    guardian(
        "ad.collect-events",
        "AD event collection",
        "Read who made a change from domain controller security events over WinRM.",
        gmsa("Event Log Readers", "Remote Management Users"),
    ),
    guardian(
        "ad.entra-connect",
        "Entra Connect",
        "Monitor and operate Entra Connect synchronization.",
        gmsa("ADSyncOperators"),
    ),
    guardian(
        "ad.rollback.domain",
        "AD rollback: domain partition",
        "Roll back changes in the domain partition.",
        gmsa("Domain Admins"),
        FULL,
    ),
    guardian(
        "ad.rollback.configuration",
        "AD rollback: configuration partition",
        "Roll back changes in the configuration and application partitions.",
        gmsa("Enterprise Admins"),
        FULL,
    ),
    guardian(
        "ad.rollback.schema",
        "AD rollback: schema partition",
        "Roll back changes in the schema partition.",
        gmsa("Schema Admins"),
        FULL,
    ),
    guardian(
        "ad.recover-deleted",
        "AD recover deleted objects",
        "Reanimate tombstones and restore their attributes and links from history.",
        gmsa("Reanimate Tombstones", "Domain Admins"),
        FULL,
    ),
    guardian(
        "entra.setup-consent",
        "Entra tenant setup and consent",
        "Interactive consent and configuration by the administrator when a tenant is added.",
        _DELEGATED_ALL,
    ),
    guardian(
        "entra.monitor",
        "Entra monitoring",
        "Back up and detect changes of Entra directory objects.",
        app(
            "Global Reader",
            "Global Administrator",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
            "ProfilePhoto.Read.All",
        ),
    ),
    guardian(
        "entra.audit-events",
        "Entra audit events",
        "Collect Entra ID audit events (who changed what).",
        app("AuditLog.Read.All"),
    ),
    guardian(
        "entra.rollback",
        "Entra rollback",
        "Roll back and recover Entra objects, restore deleted users, reset passwords.",
        app("Global Administrator", "Directory.ReadWrite.All", "User.DeleteRestore.All")
        + dlg("Directory.AccessAsUser.All"),
        FULL,
    ),
    *audit_and_recover(
        "entra.groups", "Entra groups", app("Group.ReadWrite.All"), read=app("Group.Read.All")
    ),
    *audit_and_recover(
        "entra.applications",
        "application registrations, service principals and app role assignments",
        app("Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"),
        read=app("Application.Read.All"),
    ),
    *audit_and_recover(
        "conditional-access",
        "Conditional Access policies and named locations",
        app("Policy.ReadWrite.ConditionalAccess"),
        read=app("Policy.Read.All", "Agreement.Read.All", "CrossTenantInformation.ReadBasic.All"),
    ),
    *audit_and_recover(
        "entra.authentication-flows",
        "authentication flows configuration",
        app("Policy.ReadWrite.AuthenticationFlows"),
        read=app("Policy.Read.All"),
    ),
    *audit_and_recover(
        "entra.authorization-policy",
        "Entra authorization settings",
        app("Policy.ReadWrite.Authorization"),
        read=app("Policy.Read.All"),
    ),
    *audit_and_recover(
        "entra.device-configuration",
        "device configuration policies",
        app("Policy.ReadWrite.DeviceConfiguration"),
        read=app("Policy.Read.All"),
    ),
    *audit_and_recover(
        "entra.role-assignments",
        "directory role assignments",
        app("RoleManagement.ReadWrite.Directory"),
        read=app("RoleManagement.Read.Directory"),
    ),
    *audit_and_recover(
        "entra.pim",
        "PIM active and eligible role assignments",
        app(
            "RoleAssignmentSchedule.ReadWrite.Directory",
            "RoleEligibilitySchedule.ReadWrite.Directory",
        ),
        read=app("RoleAssignmentSchedule.Read.Directory", "RoleEligibilitySchedule.Read.Directory"),
    ),
    *audit_and_recover(
        "entra.contacts",
        "Entra ID contacts",
        app("Contacts.ReadWrite"),
        read=app("OrgContact.Read.All"),
    ),
    *audit_and_recover(
        "entra.authentication-methods",
        "authentication method settings",
        app("UserAuthenticationMethod.ReadWrite.All"),
        read=app("UserAuthenticationMethod.Read.All"),
    ),
    *audit_and_recover(
        "entra.custom-security-attributes",
        "custom security attribute definitions",
        app("CustomSecAttributeDefinition.ReadWrite.All"),
        read=app("CustomSecAttributeDefinition.Read.All"),
    ),
    *audit_and_recover(
        "entra.domains",
        "custom domain configurations",
        app("Domain.ReadWrite.All"),
        read=app("Domain.Read.All"),
    ),
    *audit_and_recover(
        "entra.synchronization",
        "directory synchronization configurations",
        app("Synchronization.ReadWrite.All"),
        read=app("Synchronization.Read.All"),
    ),
    *audit_and_recover(
        "intune.managed-devices",
        "Intune managed devices",
        app("DeviceManagementManagedDevices.ReadWrite.All"),
        read=app("DeviceManagementManagedDevices.Read.All"),
    ),
    *audit_and_recover(
        "intune.configuration",
        "Intune configuration and compliance policies",
        app("DeviceManagementConfiguration.ReadWrite.All"),
        read=app("DeviceManagementConfiguration.Read.All"),
    ),
    *audit_and_recover(
        "intune.scripts",
        "Intune PowerShell scripts and remediations",
        app("DeviceManagementScripts.ReadWrite.All"),
        read=app("DeviceManagementScripts.Read.All"),
    ),
    *audit_and_recover(
        "intune.apps",
        "Intune apps and app assignments (and collect Intune audit logs)",
        app("DeviceManagementApps.ReadWrite.All"),
        read=app("DeviceManagementApps.Read.All"),
    ),
    *audit_and_recover(
        "global-secure-access",
        "Global Secure Access policies",
        app("NetworkAccessPolicy.ReadWrite.All"),
        read=app("NetworkAccessPolicy.Read.All"),
    ),
    *audit_and_recover(
        "teams.settings",
        "Microsoft Teams settings",
        app("TeamSettings.ReadWrite.All"),
        read=app("TeamSettings.Read.All"),
    ),
    *audit_and_recover(
        "exchange",
        "Exchange Online mailboxes, settings and transport rules",
        app("Exchange.ManageAsApp") + dlg("Exchange.Manage"),
    ),
    guardian(
        "unified-audit-log",
        "Unified Audit Log",
        "Collect the Office 365 Unified Audit Log (Management Activity API).",
        app("ActivityFeed.Read") + dlg("ActivityFeed.Read"),
    ),
    guardian(
        "azure-rbac.monitor",
        "Azure RBAC monitoring",
        "Read Azure subscriptions, resources and role assignments to detect RBAC changes.",
        app("Reader") + dlg("user_impersonation"),
    ),
    guardian(
        "azure-rbac.rollback",
        "Azure RBAC rollback",
        "Restore Azure role assignments (just-in-time elevation with User Access Administrator).",
        app("User Access Administrator") + dlg("user_impersonation"),
        FULL,
    ),
    guardian(
        "azure.resources",
        "Azure resources for dirguard",
        "Create and manage the Azure resources and blob storage dirguard Guardian uses.",
        app("Contributor", "Storage Blob Data Contributor"),
    ),
    guardian(
        "notifications",
        "Notifications",
        "Send notification emails, also from shared mailboxes.",
        app("Mail.Send", "Mail.ReadWrite") + dlg("Mail.Send.Shared", "Mail.ReadWrite.Shared"),
    ),
)
