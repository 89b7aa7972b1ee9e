"""A small realistic tenant, the same for the same seed: organization, domains, users, groups,
the Microsoft Graph service principal with its application permissions, and two ready apps.

Identifiers and people are deterministic from the seed; client secrets and the administrator's
password are random each time a tenant is generated (they are secrets, not fixtures).
"""

from __future__ import annotations

import random
import secrets
import uuid
from dataclasses import dataclass

from dirguard_sandbox.directory_state import Application, DirectoryState, Json, graph_time
from dirguard_sandbox.permissions_table import (
    APPLICATION_PERMISSIONS,
    GRAPH_APP_ID,
    MICROSOFT_TENANT_ID,
    PERMISSIONS_BY_VALUE,
    READ_ONLY_PERMISSIONS,
)
from dirguard_sandbox.seed_identity import seed_directory_extras, seed_identity
from dirguard_sandbox.seed_licensing_and_logs import seed_licensing_and_logs

_FIRST = (
    "Adele Alex Ben Chloe Diego Elena Farah Grady Hana Isaiah Johanna Kenji Lara Lee Megan "
    "Miriam Nestor Olga Patti Pradeep Quinn Rafael Sofia Tomas Uma Viktor Wen Yusuf Zara Lidia"
)
_LAST = (
    "Vance Wilber Adams Brown Garcia Petrova Khan Archie Sato Henderson Lindqvist Tanaka Moreau "
    "Gu Bowen Cohen Navarro Ivanova Fernandez Gupta Murphy Costa Rossi Novak Iyer Kowalski Li "
    "Demir Okafor Holt"
)
FIRST_NAMES = tuple(_FIRST.split())
LAST_NAMES = tuple(_LAST.split())
DEPARTMENTS = ("Sales", "Finance", "Engineering", "Human Resources", "Operations", "Legal")
JOB_TITLES = {
    "Sales": ("Account Executive", "Sales Manager"),
    "Finance": ("Accountant", "Financial Controller"),
    "Engineering": ("Software Engineer", "Engineering Manager"),
    "Human Resources": ("HR Specialist", "HR Director"),
    "Operations": ("Operations Analyst", "Facilities Manager"),
    "Legal": ("Paralegal", "General Counsel"),
}
LOCATIONS = (
    ("US", "Seattle", "en-US"),
    ("GB", "London", "en-GB"),
    ("DE", "Berlin", "de-DE"),
    ("FR", "Paris", "fr-FR"),
    ("JP", "Tokyo", "ja-JP"),
    ("BR", "São Paulo", "pt-BR"),
)


@dataclass(frozen=True, kw_only=True)
class SeedOptions:
    users: int = 25
    seed: int = 1
    realistic: bool = False
    """Add what a tenant in use holds: a reporting tree, groups of every kind with nested
    membership, line-of-business apps with permissions and credentials, conditional access
    (named locations, groups, roles) in place of security defaults, role and PIM assignments,
    soft-deleted items. Off, the tenant is the small fresh one tests start from."""


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _secret() -> str:
    return secrets.token_urlsafe(30)


def generate_tenant(options: SeedOptions) -> DirectoryState:
    """Build a tenant: the same objects and ids for the same seed and user count."""
    if options.users < 1:
        raise ValueError(
            f"--users must be at least 1 (the Global Administrator), not {options.users}"
        )
    rng = random.Random(options.seed)  # noqa: S311 - reproducible fixtures, not secrets
    state = DirectoryState(tenant_id=_uuid(rng))
    created = graph_time(state.now())
    label = f"sandbox{options.seed}"
    initial_domain = f"{label}.onmicrosoft.com"
    custom_domain = f"{label}.example.com"
    _seed_organization(state, label, initial_domain, custom_domain, created)
    admin_id = _seed_users(state, rng, options.users, custom_domain, created)
    _seed_groups(state, rng, custom_domain, created, admin_id)
    _seed_applications(state, rng, created)
    seed_identity(state, rng, admin_id)
    seed_licensing_and_logs(state, options.seed, admin_id)
    if options.realistic:
        _seed_managers(state, admin_id)
        _seed_group_kinds(state, rng, custom_domain, created, admin_id)
        seed_directory_extras(state, rng, admin_id)
        _seed_deleted_items(state, rng, custom_domain, created)
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


def new_user_record(
    *, object_id: str, display_name: str, upn: str, created: str, **extra: object
) -> Json:
    """A user with every property the sandbox keeps, defaults filled in."""
    nickname = upn.split("@", 1)[0]
    record: Json = {
        "id": object_id,
        "accountEnabled": True,
        "businessPhones": [],
        "city": None,
        "companyName": None,
        "country": None,
        "createdDateTime": created,
        "deletedDateTime": None,
        "department": None,
        "displayName": display_name,
        "employeeId": None,
        "externalUserState": None,
        "externalUserStateChangeDateTime": None,
        "givenName": None,
        "jobTitle": None,
        "mail": upn,
        "mailNickname": nickname,
        "mobilePhone": None,
        "officeLocation": None,
        "onPremisesSyncEnabled": None,
        "preferredLanguage": None,
        "surname": None,
        "usageLocation": None,
        "userPrincipalName": upn,
        "userType": "Member",
        "assignedLicenses": [],
        "identities": [
            {
                "signInType": "userPrincipalName",
                "issuer": upn.split("@", 1)[1],
                "issuerAssignedId": upn,
            }
        ],
        "otherMails": [],
        "proxyAddresses": [f"SMTP:{upn}"],
        "postalCode": None,
        "state": None,
        "streetAddress": None,
    }
    record.update(extra)
    return record


def _seed_users(
    state: DirectoryState, rng: random.Random, count: int, domain: str, created: str
) -> str:
    admin_id = _uuid(rng)
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
        user_id = _uuid(rng)
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


def new_group_record(*, object_id: str, display_name: str, created: str, **extra: object) -> Json:
    nickname = "".join(ch for ch in display_name.lower() if ch.isalnum()) or "group"
    record: Json = {
        "id": object_id,
        "classification": None,
        "createdDateTime": created,
        "deletedDateTime": None,
        "description": None,
        "displayName": display_name,
        "groupTypes": [],
        "isAssignableToRole": None,
        "mail": None,
        "mailEnabled": False,
        "mailNickname": nickname,
        "membershipRule": None,
        "membershipRuleProcessingState": None,
        "onPremisesSyncEnabled": None,
        "proxyAddresses": [],
        "renewedDateTime": created,
        "securityEnabled": True,
        "securityIdentifier": None,
        "visibility": None,
        "expirationDateTime": None,
        "onPremisesLastSyncDateTime": None,
        "onPremisesSecurityIdentifier": None,
        "preferredDataLocation": None,
        "preferredLanguage": None,
        "resourceBehaviorOptions": [],
        "resourceProvisioningOptions": [],
        "theme": None,
        "onPremisesProvisioningErrors": [],
    }
    record.update(extra)
    return record


def _seed_groups(
    state: DirectoryState, rng: random.Random, domain: str, created: str, admin_id: str
) -> None:
    everyone = _uuid(rng)
    state.groups[everyone] = new_group_record(
        object_id=everyone,
        display_name="All Staff",
        created=created,
        description="Every member of staff",
        securityEnabled=True,
    )
    admins = _uuid(rng)
    state.groups[admins] = new_group_record(
        object_id=admins,
        display_name="Helpdesk Administrators",
        created=created,
        description="Role-assignable group for helpdesk staff",
        isAssignableToRole=True,
    )
    by_department: dict[str, str] = {}
    for department in DEPARTMENTS[:3]:
        group_id = _uuid(rng)
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


def _new_group(
    state: DirectoryState, rng: random.Random, name: str, *, created: str, **extra: object
) -> str:
    group_id = _uuid(rng)
    state.groups[group_id] = new_group_record(
        object_id=group_id, display_name=name, created=created, **extra
    )
    return group_id


def _mail(domain: str, nickname: str, *, unified: bool) -> dict[str, object]:
    """The mail properties of a mail-enabled group (Microsoft 365 when ``unified``)."""
    mail = f"{nickname}@{domain}"
    kind: dict[str, object] = (
        {"groupTypes": ["Unified"], "securityEnabled": False, "visibility": "Private"}
        if unified
        else {}
    )
    return {
        "mailEnabled": True,
        "mail": mail,
        "mailNickname": nickname,
        "proxyAddresses": [f"SMTP:{mail}"],
        **kind,
    }


def _seed_group_kinds(
    state: DirectoryState, rng: random.Random, domain: str, created: str, admin_id: str
) -> None:
    """The realistic tenant's other groups: security groups per office nested into a region, a
    distribution list holding All Staff, a mail-enabled security group, a dynamic group and
    project groups (one per 200 users). Members are appended directly: the tenant is new, and
    checking each link against a 100,000-member list would make generation quadratic."""
    by_country = {
        country: _new_group(
            state, rng, f"Staff in {city}", created=created, description=f"Office in {city}"
        )
        for country, city, _ in LOCATIONS
    }
    emea = _new_group(state, rng, "EMEA Staff", created=created, description="Nested offices")
    distribution = _new_group(
        state,
        rng,
        "Company Announcements",
        created=created,
        securityEnabled=False,
        **_mail(domain, "announcements", unified=False),
    )
    approvers = _new_group(
        state,
        rng,
        "Finance Approvers",
        created=created,
        **_mail(domain, "finance-approvers", unified=False),
    )
    dynamic = _new_group(
        state,
        rng,
        "Sales (dynamic)",
        created=created,
        groupTypes=["DynamicMembership"],
        membershipRule='(user.department -eq "Sales")',
        membershipRuleProcessingState="On",
    )
    projects = [
        _new_group(state, rng, f"Project {index:04d}", created=created)
        for index in range(1, max(2, len(state.users) // 200) + 1)
    ]
    members, owners = state.members, state.owners
    for group_id in [*by_country.values(), emea, distribution, approvers, dynamic, *projects]:
        members[group_id] = []
        owners[group_id] = [admin_id]
        state.bump(group_id)
    user_ids = list(state.users)
    for user_id, user in state.users.items():
        country_group = by_country.get(user.get("usageLocation") or "")
        if country_group is not None:
            members[country_group].append(user_id)
        if user.get("department") == "Sales":
            members[dynamic].append(user_id)
        if user.get("department") == "Finance" and len(members[approvers]) < 20:
            members[approvers].append(user_id)
    members[emea] = [by_country["GB"], by_country["DE"], by_country["FR"]]
    everyone = next(g for g, group in state.groups.items() if group["displayName"] == "All Staff")
    members[distribution] = [everyone]
    for project in projects:
        members[project] = rng.sample(user_ids, min(len(user_ids), rng.randint(3, 25)))
        owners[project] = [members[project][0]]


def _seed_managers(state: DirectoryState, admin_id: str) -> None:
    """A reporting tree per department: each department's first user reports to the
    administrator, every other user to the colleague eight places ahead of them, so managers
    have up to eight direct reports and the tree is a few levels deep."""
    by_department: dict[str, list[str]] = {}
    for user_id, user in state.users.items():
        if user_id != admin_id:
            by_department.setdefault(user.get("department") or "", []).append(user_id)
    for colleagues in by_department.values():
        for position, user_id in enumerate(colleagues):
            state.managers[user_id] = admin_id if position == 0 else colleagues[(position - 1) // 8]


def _seed_deleted_items(
    state: DirectoryState, rng: random.Random, domain: str, created: str
) -> None:
    """Two departed users and a retired Microsoft 365 group in directory/deletedItems."""
    for name in ("Departed Contractor", "Former Intern"):
        user_id = _uuid(rng)
        nickname = name.lower().replace(" ", ".")
        state.users[user_id] = new_user_record(
            object_id=user_id, display_name=name, upn=f"{nickname}@{domain}", created=created
        )
        state.bump(user_id)
        state.soft_delete("users", user_id)
    group_id = _new_group(
        state, rng, "Retired Project", created=created, **_mail(domain, "retired", unified=True)
    )
    state.members[group_id] = []
    state.owners[group_id] = []
    state.bump(group_id)
    state.soft_delete("groups", group_id)


def _seed_applications(state: DirectoryState, rng: random.Random, created: str) -> None:
    graph_sp_id = _uuid(rng)
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
            app_id=_uuid(rng),
            object_id=_uuid(rng),
            service_principal_id=_uuid(rng),
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
            assignment_id = _uuid(rng)
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
