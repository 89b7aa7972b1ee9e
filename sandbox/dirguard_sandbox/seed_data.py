"""A small realistic tenant, the same for the same seed: organization, domains, users, groups,
the Microsoft Graph service principal with its application permissions, and two ready apps.

Identifiers and people are deterministic from the seed; client secrets and the administrator's
password are random each time a tenant is generated (they are secrets, not fixtures).
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from dirguard_sandbox.directory_state import Application, DirectoryState, graph_time
from dirguard_sandbox.first_party_apps import add_graph_app_roles
from dirguard_sandbox.permissions_table import (
    APPLICATION_PERMISSIONS,
    GRAPH_APP_ID,
    MICROSOFT_TENANT_ID,
    PERMISSIONS_BY_VALUE,
    READ_ONLY_PERMISSIONS,
)
from dirguard_sandbox.seed_devices import seed_devices
from dirguard_sandbox.seed_identity import seed_identity
from dirguard_sandbox.seed_licensing_and_logs import seed_licensing_and_logs
from dirguard_sandbox.seed_realistic import seed_realistic
from dirguard_sandbox.seed_records import (
    DEPARTMENTS,
    FIRST_NAMES,
    JOB_TITLES,
    LAST_NAMES,
    LOCATIONS,
    seeded_uuid,
)
from dirguard_sandbox.seed_records import new_group_record as new_group_record  # routes use it
from dirguard_sandbox.seed_records import new_user_record as new_user_record  # routes use it


@dataclass(frozen=True, kw_only=True)
class SeedOptions:
    users: int = 25
    seed: int = 1
    realistic: bool = False
    """Add what a tenant in use holds: a reporting tree, groups of every kind with nested
    membership, line-of-business apps with permissions and credentials, conditional access
    (named locations, groups, roles) in place of security defaults, role and PIM assignments,
    soft-deleted items. Off, the tenant is the small fresh one tests start from."""


def _secret() -> str:
    return secrets.token_urlsafe(30)


def generate_tenant(options: SeedOptions) -> DirectoryState:
    """Build a tenant: the same objects and ids for the same seed and user count."""
    if options.users < 1:
        raise ValueError(
            f"--users must be at least 1 (the Global Administrator), not {options.users}"
        )
    rng = random.Random(options.seed)  # noqa: S311 - reproducible fixtures, not secrets
    state = DirectoryState(tenant_id=seeded_uuid(rng))
    created = graph_time(state.now())
    label = f"sandbox{options.seed}"
    initial_domain = f"{label}.onmicrosoft.com"
    custom_domain = f"{label}.example.com"
    _seed_organization(state, label, initial_domain, custom_domain, created)
    admin_id = _seed_users(state, rng, options.users, custom_domain, created)
    _seed_groups(state, rng, custom_domain, created, admin_id)
    _seed_applications(state, rng, created)
    add_graph_app_roles(state)
    seed_identity(state, rng, admin_id)
    seed_licensing_and_logs(state, options.seed, admin_id)
    seed_devices(state, options.seed)
    if options.realistic:
        seed_realistic(state, rng, custom_domain, created, admin_id)
    return state


def _seed_organization(
    state: DirectoryState, label: str, initial: str, custom: str, created: str
) -> None:
    for name, is_initial in ((initial, True), (custom, False)):
        state.domains[name] = {
            "id": name,
            "authenticationType": "Managed",
            "availabilityStatus": None,
            "isAdminManaged": True,
            "isDefault": not is_initial,
            "isInitial": is_initial,
            "isRoot": True,
            "isVerified": True,
            "passwordNotificationWindowInDays": 14,
            "passwordValidityPeriodInDays": 2147483647,
            "supportedServices": ["Email", "OfficeCommunicationsOnline"],
            "state": None,
        }
    state.organization = {
        "id": state.tenant_id,
        "displayName": f"Sandbox Organization {label}",
        "businessPhones": ["+1 425 555 0100"],
        "city": "Seattle",
        "country": None,
        "countryLetterCode": "US",
        "createdDateTime": created,
        "deletedDateTime": None,
        "marketingNotificationEmails": [],
        "onPremisesLastSyncDateTime": None,
        "onPremisesSyncEnabled": None,
        "postalCode": "98052",
        "preferredLanguage": "en",
        "securityComplianceNotificationMails": [],
        "securityComplianceNotificationPhones": [],
        "state": "WA",
        "street": "1 Sandbox Way",
        "technicalNotificationMails": [f"admin@{custom}"],
        "tenantType": "AAD",
        "assignedPlans": [],
        "provisionedPlans": [],
        "privacyProfile": None,
        "verifiedDomains": [
            {
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": domain["isDefault"],
                "isInitial": domain["isInitial"],
                "name": name,
                "type": "Managed",
            }
            for name, domain in state.domains.items()
        ],
    }


def _seed_users(
    state: DirectoryState, rng: random.Random, count: int, domain: str, created: str
) -> str:
    admin_id = seeded_uuid(rng)
    state.users[admin_id] = new_user_record(
        object_id=admin_id,
        display_name="Sandbox Administrator",
        upn=f"admin@{domain}",
        created=created,
        givenName="Sandbox",
        surname="Administrator",
        jobTitle="Global Administrator",
        department="IT",
        usageLocation="US",
        country="United States",
        city="Seattle",
        preferredLanguage="en-US",
    )
    state.passwords[admin_id] = _secret()
    state.bump(admin_id)
    used: set[str] = {"admin"}
    for index in range(1, count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        nickname = f"{first}.{last}".lower()
        if nickname in used:
            nickname = f"{nickname}{index}"
        used.add(nickname)
        department = DEPARTMENTS[index % len(DEPARTMENTS)]
        country, city, language = rng.choice(LOCATIONS)
        user_id = seeded_uuid(rng)
        state.users[user_id] = new_user_record(
            object_id=user_id,
            display_name=f"{first} {last}",
            upn=f"{nickname}@{domain}",
            created=created,
            givenName=first,
            surname=last,
            department=department,
            jobTitle=rng.choice(JOB_TITLES[department]),
            usageLocation=country,
            city=city,
            country=country,
            preferredLanguage=language,
            officeLocation=f"{city} {rng.randint(1, 40)}",
            businessPhones=[f"+1 425 555 {rng.randint(1000, 9999)}"],
            employeeId=f"E{100000 + index}",
            companyName="Sandbox Organization",
            accountEnabled=rng.random() > 0.05,
        )
        state.bump(user_id)
    return admin_id


def _seed_groups(
    state: DirectoryState, rng: random.Random, domain: str, created: str, admin_id: str
) -> None:
    everyone = seeded_uuid(rng)
    state.groups[everyone] = new_group_record(
        object_id=everyone,
        display_name="All Staff",
        created=created,
        description="Every member of staff",
        securityEnabled=True,
    )
    admins = seeded_uuid(rng)
    state.groups[admins] = new_group_record(
        object_id=admins,
        display_name="Helpdesk Administrators",
        created=created,
        description="Role-assignable group for helpdesk staff",
        isAssignableToRole=True,
    )
    by_department: dict[str, str] = {}
    for department in DEPARTMENTS[:3]:
        group_id = seeded_uuid(rng)
        nickname = department.lower().replace(" ", "")
        state.groups[group_id] = new_group_record(
            object_id=group_id,
            display_name=f"{department} Team",
            created=created,
            description=f"Microsoft 365 group of the {department} department",
            groupTypes=["Unified"],
            mailEnabled=True,
            securityEnabled=False,
            mail=f"{nickname}@{domain}",
            mailNickname=nickname,
            visibility="Private",
            proxyAddresses=[f"SMTP:{nickname}@{domain}"],
        )
        by_department[department] = group_id
    for group_id in state.groups:
        state.members[group_id] = []
        state.owners[group_id] = [admin_id]
        state.bump(group_id)
    for user_id, user in state.users.items():
        state.members[everyone].append(user_id)
        department_group = by_department.get(user.get("department") or "")
        if department_group is not None:
            state.members[department_group].append(user_id)
    state.members[admins].append(admin_id)


def _seed_applications(state: DirectoryState, rng: random.Random, created: str) -> None:
    graph_sp_id = seeded_uuid(rng)
    state.service_principals[graph_sp_id] = {
        "id": graph_sp_id,
        "accountEnabled": True,
        "appDisplayName": "Microsoft Graph",
        "appId": GRAPH_APP_ID,
        "appOwnerOrganizationId": MICROSOFT_TENANT_ID,
        "appRoleAssignmentRequired": False,
        "displayName": "Microsoft Graph",
        "servicePrincipalNames": [GRAPH_APP_ID, "https://graph.microsoft.com"],
        "servicePrincipalType": "Application",
        "signInAudience": "AzureADMultipleOrgs",
        "tags": [],
        "appRoles": [
            {
                "allowedMemberTypes": ["Application"],
                "description": f"Allows the app to {permission.display_name.lower()} "
                "without a signed-in user.",
                "displayName": permission.display_name,
                "id": permission.id,
                "isEnabled": True,
                "origin": "Application",
                "value": permission.value,
            }
            for permission in APPLICATION_PERMISSIONS
        ],
    }
    everything = tuple(permission.value for permission in APPLICATION_PERMISSIONS)
    for name, granted in (
        ("dirguard sandbox full access", everything),
        ("dirguard sandbox read-only", READ_ONLY_PERMISSIONS),
    ):
        app = Application(
            app_id=seeded_uuid(rng),
            object_id=seeded_uuid(rng),
            service_principal_id=seeded_uuid(rng),
            display_name=name,
            secrets=[_secret()],
            granted=list(granted),
        )
        state.applications[app.app_id] = app
        state.service_principals[app.service_principal_id] = {
            "id": app.service_principal_id,
            "accountEnabled": True,
            "appDisplayName": name,
            "appId": app.app_id,
            "appOwnerOrganizationId": state.tenant_id,
            "appRoleAssignmentRequired": False,
            "displayName": name,
            "servicePrincipalNames": [app.app_id],
            "servicePrincipalType": "Application",
            "signInAudience": "AzureADMyOrg",
            "tags": [],
            "appRoles": [],
        }
        for value in granted:
            assignment_id = seeded_uuid(rng)
            state.app_role_assignments[assignment_id] = {
                "id": assignment_id,
                "appRoleId": PERMISSIONS_BY_VALUE[value].id,
                "createdDateTime": created,
                "deletedDateTime": None,
                "principalDisplayName": name,
                "principalId": app.service_principal_id,
                "principalType": "ServicePrincipal",
                "resourceDisplayName": "Microsoft Graph",
                "resourceId": graph_sp_id,
            }


def granted_roles(state: DirectoryState, service_principal_id: str) -> tuple[str, ...]:
    """The Graph application permissions assigned to a service principal (its token's roles)."""
    graph_sp = next(
        (sp for sp in state.service_principals.values() if sp["appId"] == GRAPH_APP_ID), None
    )
    if graph_sp is None:
        return ()
    by_id = {role["id"]: role["value"] for role in graph_sp["appRoles"]}
    roles = [
        by_id[assignment["appRoleId"]]
        for assignment in state.app_role_assignments.values()
        if assignment["principalId"] == service_principal_id
        and assignment["resourceId"] == graph_sp["id"]
        and assignment["appRoleId"] in by_id
    ]
    return tuple(sorted(set(roles)))
