"""The audit history of a realistic tenant: the directoryAudits its seeded state would have left
over the week before, so a reader of ``auditLogs/directoryAudits`` (the guardian correlating
changes with their actors) starts on a lived-in log rather than an empty one.

Each entry has the shape the live routes write (the same activity names, categories and
services: Core Directory for users, groups, roles and apps; Conditional Access with the whole
policy as one JSON value; PIM for eligibility), made by the Global Administrator signed in from
the office, or by a line-of-business app for some user updates. Times count back from the
tenant's clock, oldest first, within Entra's default 30-day retention ("Microsoft Entra data
retention", https://learn.microsoft.com/entra/identity/monitoring-health/reference-reports-data-retention).
At most ``HISTORY_KEPT`` entries, whatever the tenant's size.
"""

from __future__ import annotations

import datetime
import random

from dirguard_sandbox.audit import (
    Actor,
    group_link_audit,
    modified_properties,
    record_audit,
    target,
    whole_value_change,
)
from dirguard_sandbox.directory_state import DirectoryState, Json, graph_time
from dirguard_sandbox.pim_audit import audit_schedule_request
from dirguard_sandbox.policy_records import CONDITIONAL_ACCESS, policies_of
from dirguard_sandbox.role_catalog import ROLES_BY_TEMPLATE

HISTORY_KEPT = 150
HISTORY_DAYS = 7
ADMIN_IP = "203.0.113.10"
_TITLES = ("Analyst", "Specialist", "Coordinator", "Associate")


def _admin(state: DirectoryState, admin_id: str) -> Actor:
    admin = state.users[admin_id]
    return Actor(
        user_id=admin_id,
        user_principal_name=admin["userPrincipalName"],
        display_name=admin["displayName"],
        ip_address=ADMIN_IP,
    )


def _app_actor(state: DirectoryState) -> Actor | None:
    for app in state.applications.values():
        if app.display_name.startswith("Line-of-business"):
            return Actor(
                app_id=app.app_id,
                service_principal_id=app.service_principal_id,
                display_name=app.display_name,
            )
    return None


def seed_audit_history(state: DirectoryState, rng: random.Random, admin_id: str) -> None:
    admin = _admin(state, admin_id)
    first = len(state.audits)
    _policies(state, admin)
    _roles(state, admin)
    _user_updates(state, rng, admin, _app_actor(state))
    _group_members(state, admin)
    _deletions(state, admin)
    made = state.audits[first:][:HISTORY_KEPT]
    del state.audits[first:]
    now = state.now()
    span = datetime.timedelta(days=HISTORY_DAYS)
    moments = sorted(now - span * rng.random() for _ in made)
    for entry, moment in zip(made, moments, strict=True):
        entry["activityDateTime"] = graph_time(moment)
    # Older than anything the tenant will do from now on: before every entry already there.
    state.audits[:0] = made


def _policies(state: DirectoryState, admin: Actor) -> None:
    for policy in policies_of(state)[CONDITIONAL_ACCESS].values():
        entry = record_audit(
            state,
            actor=admin,
            activity="Add conditional access policy",
            category="Policy",
            operation_type="Add",
            targets=[
                {
                    "id": policy["id"],
                    "displayName": policy["displayName"],
                    "type": "Policy",
                    "userPrincipalName": None,
                    "groupType": None,
                    "modifiedProperties": whole_value_change(
                        "ConditionalAccessPolicy", None, policy
                    ),
                }
            ],
        )
        entry["loggedByService"] = "Conditional Access"


def _roles(state: DirectoryState, admin: Actor) -> None:
    for assignment in state.role_assignments.values():
        principal = state.lookup(assignment["principalId"]) or {"id": assignment["principalId"]}
        role = ROLES_BY_TEMPLATE[assignment["roleDefinitionId"]]
        kind = "User" if principal["id"] in state.users else "Group"
        record_audit(
            state,
            actor=admin,
            activity="Add member to role",
            category="RoleManagement",
            operation_type="Assign",
            targets=[
                {
                    "id": role.template_id,
                    "displayName": role.display_name,
                    "type": "Role",
                    "userPrincipalName": None,
                    "groupType": None,
                    "modifiedProperties": [
                        {
                            "displayName": "Role.DisplayName",
                            "oldValue": None,
                            "newValue": f'"{role.display_name}"',
                        }
                    ],
                },
                {**target(state, principal["id"], principal), "type": kind},
            ],
        )
    for request in state.role_schedules.values():
        if request["kind"] == "eligibilityRequest":
            answer: Json = {k: v for k, v in request.items() if k != "kind"}
            audit_schedule_request(state, admin, answer, eligibility=True)


def _user_updates(
    state: DirectoryState, rng: random.Random, admin: Actor, app: Actor | None
) -> None:
    for index, (user_id, user) in enumerate(list(state.users.items())[1:41]):
        before = {**user, "jobTitle": rng.choice(_TITLES)}
        names = ["jobTitle"] if before["jobTitle"] != user.get("jobTitle") else []
        if not names:
            continue
        record_audit(
            state,
            actor=app if app is not None and index % 3 == 0 else admin,
            activity="Update user",
            category="UserManagement",
            operation_type="Update",
            targets=[target(state, user_id, user, modified_properties(before, user, names))],
        )


def _group_members(state: DirectoryState, admin: Actor) -> None:
    projects = [
        g for g, group in state.groups.items() if group["displayName"].startswith("Project")
    ]
    for group_id in projects[:10]:
        for member_id in state.members.get(group_id, [])[:3]:
            group_link_audit(state, admin, "Add member to group", state.groups[group_id], member_id)


def _deletions(state: DirectoryState, admin: Actor) -> None:
    for entry in state.deleted.values():
        kind, record = entry["kind"], entry["record"]
        noun = {"users": "user", "groups": "group"}.get(kind)
        if noun is None:
            continue
        record_audit(
            state,
            actor=admin,
            activity=f"Delete {noun}",
            category="UserManagement" if noun == "user" else "GroupManagement",
            operation_type="Delete",
            targets=[target(state, record["id"], record)],
        )
