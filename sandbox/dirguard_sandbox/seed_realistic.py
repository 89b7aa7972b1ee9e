"""What a realistic tenant holds besides the fresh one's people and groups
(``SeedOptions(realistic=True)``): Microsoft's first-party apps with the device-code client and an
Azure subscription, as in every real tenant (so ``dirguard connect entra`` works on the same
tenant that holds data and audit history), a reporting tree, groups of every kind with nested
membership, soft-deleted items and the week of audit history they left
(``seed_audit_history``); the identity side (apps, conditional access, roles) comes
from ``seed_identity.seed_directory_extras``."""

from __future__ import annotations

import random

from dirguard_sandbox.directory_state import DirectoryState
from dirguard_sandbox.first_party_apps import add_first_party_apps
from dirguard_sandbox.seed_audit_history import seed_audit_history
from dirguard_sandbox.seed_identity import seed_directory_extras
from dirguard_sandbox.seed_records import (
    LOCATIONS,
    new_group_record,
    new_user_record,
    seeded_uuid,
)


def seed_realistic(
    state: DirectoryState, rng: random.Random, domain: str, created: str, admin_id: str
) -> None:
    add_first_party_apps(state)
    _seed_managers(state, admin_id)
    _seed_group_kinds(state, rng, domain, created, admin_id)
    seed_directory_extras(state, rng, admin_id)
    _seed_deleted_items(state, rng, domain, created)
    seed_audit_history(state, rng, admin_id)


def _new_group(
    state: DirectoryState, rng: random.Random, name: str, *, created: str, **extra: object
) -> str:
    group_id = seeded_uuid(rng)
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
        user_id = seeded_uuid(rng)
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
