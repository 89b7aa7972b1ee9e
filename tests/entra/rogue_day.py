"""The rogue administrator's bad day in the sandbox tenant, as a driver other tests reuse.

``set_up`` makes the tenant the day starts from (with the full application: the tenant's own
administrator), ``play_day`` is the rogue's bad hour (with the rogue's Graph client),
``undo_by_actor`` plans and applies the one ``--actor`` rollback through dirguard's CLI, and
``check_restored`` compares a fresh read of the tenant with the state before. The fault-injection
and kill tests run the same day under their faults."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.entra.tenant_read import Snapshot, differences, get
from tests.entra.tenant_read import tenant_snapshot as tenant_snapshot

CA = "identity/conditionalAccess"
PRIVILEGED_GROUP = "Helpdesk Administrators"
LOCATION_NAME = "Blocked range"
POLICY_NAME = "Block sign-in from the blocked range"

Run = Callable[..., Any]


def ids(client: httpx.Client, path: str) -> list[str]:
    return sorted(item["id"] for item in get(client, path)["value"])


def by_name(client: httpx.Client, path: str, name: str) -> dict[str, Any]:
    return next(item for item in get(client, path)["value"] if item["displayName"] == name)


def ok(answer: httpx.Response) -> httpx.Response:
    assert answer.is_success, answer.text
    return answer


def ref(graph_base: str, object_id: str) -> dict[str, str]:
    return {"@odata.id": f"{graph_base}/directoryObjects/{object_id}"}


GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
ROGUE_NAME = "rogue.admin"
ROGUE_PASSWORD = "Rogue-Day-2026!"
ROLES = "roleManagement/directory"


@dataclass
class Rogue:
    """The rogue identity: a user holding a directory role, who works through an application
    of their own (an admin-consented public client, signed in with the device-code flow)."""

    user: dict[str, Any]
    password: str
    tool: str

    @property
    def upn(self) -> str:
        return str(self.user["userPrincipalName"])


def make_rogue(admin: httpx.Client, domain: str, role: str = GLOBAL_ADMINISTRATOR) -> Rogue:
    """A user with ``role`` assigned (the tenant's administrator made them an admin)."""
    user = ok(
        admin.post(
            "/users",
            json={
                "accountEnabled": True,
                "displayName": "Rogue Admin",
                "mailNickname": ROGUE_NAME,
                "userPrincipalName": f"{ROGUE_NAME}@{domain}",
                "passwordProfile": {
                    "password": ROGUE_PASSWORD,
                    "forceChangePasswordNextSignIn": False,
                },
            },
        )
    ).json()
    ok(
        admin.post(
            f"/{ROLES}/roleAssignments",
            json={"principalId": user["id"], "roleDefinitionId": role, "directoryScopeId": "/"},
        )
    )
    return Rogue(user=user, password=ROGUE_PASSWORD, tool="Rogue's tool")


@dataclass
class Scene:
    """The tenant as the day finds it: the objects the rogue is about to touch."""

    graph_base: str
    disabled: list[dict[str, Any]]
    members: list[dict[str, Any]]
    privileged: dict[str, Any]
    owner: dict[str, Any]
    app: dict[str, Any]
    location: dict[str, Any]
    policy: dict[str, Any]
    authorization: dict[str, Any]
    deleted_users: list[dict[str, Any]]
    m365: dict[str, Any]
    role_assignment: dict[str, Any]
    eligibility: dict[str, Any]
    team: dict[str, Any]
    sku: str | None
    purged: dict[str, Any]
    """A licensed team member the rogue deletes and then purges from deleted items."""
    disabled_plan: str
    """The service plan of ``sku`` the purged user's licence leaves out."""
    eligible_user: dict[str, Any]
    """A user holding a PIM eligibility (started in the past, ending on a set date), deleted."""
    eligible_schedule: dict[str, Any]
    before: dict[str, Any] = field(default_factory=dict)
    purge_and_pim: bool = True
    """The day (``play_day``) deletes the PIM-eligible user and deletes and purges ``purged``."""


def _day_users(admin: httpx.Client, domain: str, count: int) -> list[dict[str, Any]]:
    made = []
    for n in range(count):
        made.append(
            ok(
                admin.post(
                    "/users",
                    json={
                        "accountEnabled": True,
                        "displayName": f"Day user {n:03d}",
                        "mailNickname": f"day{n:03d}",
                        "userPrincipalName": f"day{n:03d}@{domain}",
                        "department": "Operations",
                        "usageLocation": "US",
                        "passwordProfile": {"password": f"Day-user-{n:03d}!x"},
                    },
                )
            ).json()
        )
    return made


def _free_sku(admin: httpx.Client, wanted: int) -> dict[str, Any] | None:
    for sku in get(admin, "/subscribedSkus")["value"]:
        free = sku["prepaidUnits"]["enabled"] - sku["consumedUnits"]
        if free >= wanted and sku["servicePlans"]:
            return sku
    return None


def _license(admin: httpx.Client, user: dict[str, Any], sku: str, disabled: list[str]) -> None:
    ok(
        admin.post(
            f"/users/{user['id']}/assignLicense",
            json={"addLicenses": [{"skuId": sku, "disabledPlans": disabled}], "removeLicenses": []},
        )
    )


def _eligibility(
    admin: httpx.Client, principal: str, role: str, schedule: dict[str, Any] | None = None
) -> dict[str, Any]:
    request = ok(
        admin.post(
            f"/{ROLES}/roleEligibilityScheduleRequests",
            json={
                "action": "adminAssign",
                "principalId": principal,
                "roleDefinitionId": role,
                "directoryScopeId": "/",
                "justification": "on call for security incidents",
                "scheduleInfo": schedule or {"expiration": {"type": "noExpiration"}},
            },
        )
    ).json()
    return get(admin, f"/{ROLES}/roleEligibilitySchedules/{request['targetScheduleId']}")


def _moment(days: int) -> str:
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def tenant_domain(admin: httpx.Client) -> str:
    """The tenant's default verified domain."""
    [organization] = get(admin, "/organization")["value"]
    domains = organization["verifiedDomains"]
    return str(next((d for d in domains if d.get("isDefault")), domains[0])["name"])


def set_up(
    admin: httpx.Client,
    graph_base: str,
    domain: str | None = None,
    *,
    disabled: int = 50,
    deleted: int = 10,
) -> Scene:
    """The tenant before the day, made by its administrator (the full application): users to
    disable and to delete (those in a team group, licensed), a privileged group with members,
    an application, a named location and the policy that uses it, a role assignment and a PIM
    eligibility, and a tightened authorization policy."""
    users = _day_users(admin, domain or tenant_domain(admin), 3 + 2 + 2 + disabled + deleted)
    members, holder, owner = users[0:3], users[3], users[4]
    purged, eligible_user = users[5], users[6]
    to_disable = users[7 : 7 + disabled]
    to_delete = users[7 + disabled :]
    privileged = by_name(admin, "/groups", PRIVILEGED_GROUP)
    for member in members:
        ok(
            admin.post(
                f"/groups/{privileged['id']}/members/$ref", json=ref(graph_base, member["id"])
            )
        )
    team = ok(
        admin.post(
            "/groups",
            json={
                "displayName": "Payroll team",
                "mailEnabled": False,
                "mailNickname": "payroll-team",
                "securityEnabled": True,
            },
        )
    ).json()
    subscribed = _free_sku(admin, len(to_delete) + 1)
    assert subscribed is not None, "the sandbox tenant has no licence with enough free units"
    sku, disabled_plan = (
        str(subscribed["skuId"]),
        str(subscribed["servicePlans"][0]["servicePlanId"]),
    )
    for user in [*to_delete, purged]:
        ok(admin.post(f"/groups/{team['id']}/members/$ref", json=ref(graph_base, user["id"])))
        _license(admin, user, sku, [disabled_plan] if user is purged else [])
    m365 = ok(
        admin.post(
            "/groups",
            json={
                "displayName": "Project Falcon",
                "mailEnabled": True,
                "mailNickname": "falcon",
                "securityEnabled": False,
                "groupTypes": ["Unified"],
                "members@odata.bind": [f"{graph_base}/users/{members[0]['id']}"],
            },
        )
    ).json()
    app = ok(admin.post("/applications", json={"displayName": "Payroll export"})).json()
    made = ok(
        admin.post(
            f"/{CA}/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "displayName": LOCATION_NAME,
                "isTrusted": False,
                "ipRanges": [
                    {
                        "@odata.type": "#microsoft.graph.iPv4CidrRange",
                        "cidrAddress": "203.0.113.0/24",
                    }
                ],
            },
        )
    )
    location = get(admin, f"/{CA}/namedLocations/{made.json()['id']}")
    made = ok(
        admin.post(
            f"/{CA}/policies",
            json={
                "displayName": POLICY_NAME,
                "state": "disabled",
                "conditions": {
                    "applications": {"includeApplications": ["All"]},
                    "users": {"includeUsers": ["All"], "excludeGroups": [privileged["id"]]},
                    "locations": {"includeLocations": [location["id"]]},
                },
                "grantControls": {"operator": "OR", "builtInControls": ["block"]},
            },
        )
    )
    policy = get(admin, f"/{CA}/policies/{made.json()['id']}")
    assignment = ok(
        admin.post(
            f"/{ROLES}/roleAssignments",
            json={
                "principalId": holder["id"],
                "roleDefinitionId": USER_ADMINISTRATOR,
                "directoryScopeId": "/",
            },
        )
    ).json()
    eligibility = _eligibility(admin, holder["id"], SECURITY_ADMINISTRATOR)
    eligible_schedule = _eligibility(
        admin,
        eligible_user["id"],
        USER_ADMINISTRATOR,
        {
            "startDateTime": _moment(-2),
            "expiration": {"type": "afterDateTime", "endDateTime": _moment(180)},
        },
    )
    ok(
        admin.patch(
            "/policies/authorizationPolicy", json={"allowInvitesFrom": "adminsAndGuestInviters"}
        )
    )
    return Scene(
        graph_base=graph_base,
        disabled=to_disable,
        members=members,
        privileged=privileged,
        owner=owner,
        app=app,
        location=location,
        policy=policy,
        authorization=get(admin, "/policies/authorizationPolicy"),
        deleted_users=to_delete,
        m365=m365,
        role_assignment=assignment,
        eligibility=eligibility,
        team=team,
        sku=sku,
        purged=purged,
        disabled_plan=disabled_plan,
        eligible_user=eligible_user,
        eligible_schedule=eligible_schedule,
    )


def play_day(rogue: httpx.Client, scene: Scene, *, purge_and_pim: bool = True) -> None:
    """The rogue's bad hour, every write with the rogue's own token; without
    ``purge_and_pim``, the day before it learnt to purge a user and delete a PIM-eligible one
    (the threat rules' test counts its alerts on that day)."""
    scene.purge_and_pim = purge_and_pim
    for user in scene.disabled:
        ok(rogue.patch(f"/users/{user['id']}", json={"accountEnabled": False}))
    group, app = scene.privileged["id"], scene.app["id"]
    for member in scene.members:
        ok(rogue.delete(f"/groups/{group}/members/{member['id']}/$ref"))
    ok(
        rogue.post(
            f"/applications/{app}/owners/$ref", json=ref(scene.graph_base, scene.owner["id"])
        )
    )
    ok(
        rogue.post(
            f"/applications/{app}/addPassword",
            json={"passwordCredential": {"displayName": "backdoor"}},
        )
    )
    ok(rogue.delete(f"/{CA}/policies/{scene.policy['id']}"))
    ok(rogue.delete(f"/{CA}/namedLocations/{scene.location['id']}"))
    ok(rogue.delete(f"/{ROLES}/roleAssignments/{scene.role_assignment['id']}"))
    eligibility = scene.eligibility
    ok(
        rogue.post(
            f"/{ROLES}/roleEligibilityScheduleRequests",
            json={
                "action": "adminRemove",
                "principalId": eligibility["principalId"],
                "roleDefinitionId": eligibility["roleDefinitionId"],
                "directoryScopeId": eligibility["directoryScopeId"],
                "justification": "cleanup",
            },
        )
    )
    ok(rogue.patch("/policies/authorizationPolicy", json={"allowInvitesFrom": "everyone"}))
    for user in scene.deleted_users:
        ok(rogue.delete(f"/users/{user['id']}"))
    ok(rogue.delete(f"/groups/{scene.m365['id']}"))
    if not purge_and_pim:
        return
    ok(rogue.delete(f"/users/{scene.eligible_user['id']}"))  # PIM ends its eligibility
    ok(rogue.delete(f"/users/{scene.purged['id']}"))
    ok(rogue.delete(f"/directory/deletedItems/{scene.purged['id']}"))  # gone for good


ROGUE_CHANGES = Counter[tuple[str, str]]


def expected_by_rogue(scene: Scene) -> ROGUE_CHANGES:
    """The events the rogue's day makes, as ``(op, attribute)``."""
    return Counter(
        {
            ("modify", "accountEnabled"): len(scene.disabled),
            ("remove-value", "members"): len(scene.members),
            ("add-value", "owners"): 1,
            ("add-value", "passwordCredentials"): 1,
            ("modify", "allowInvitesFrom"): 1,
            # the policy, its location, the role assignment and the active schedule Graph lists
            # for it (roleAssignmentSchedules show direct assignments too), the eligibility,
            # the users, the M365 group, the PIM-eligible user, the purged user
            ("delete", "id"): 6 + 2 * scene.purge_and_pim + len(scene.deleted_users),
        }
    )


def check_changes(changes: list[dict[str, Any]], scene: Scene, rogue: str, address: str) -> None:
    """``dirguard changes`` names the rogue (and the rogue's address) for every change the rogue
    made, and leaves what no audit record names unknown: the deleted users leaving their
    groups, the deleted user's PIM eligibility ending with it."""
    by_rogue = [c for c in changes if c["actor"] == rogue]
    seen = Counter((c["op"], c["attribute"]) for c in by_rogue)
    wanted = expected_by_rogue(scene)
    assert seen == wanted, (
        f"missing {wanted - seen}, extra {seen - wanted}; not the rogue's: "
        + repr(
            [
                (c["op"], c["attribute"], c["object"]["type"], c["actor"])
                for c in changes
                if c["actor"] != rogue
            ]
        )
    )
    assert {c["actor_address"] for c in by_rogue} == {address}
    unknown = {(c["op"], c["attribute"], c["old"]) for c in changes if c["actor"] is None}
    for user in _deleted(scene):
        assert ("remove-value", "members", user["id"]) in unknown, unknown
    ended = [
        c
        for c in changes
        if c["actor"] is None
        and c["op"] == "delete"
        and c["object"]["type"].endswith("eligible_schedule")
    ]
    assert len(ended) == scene.purge_and_pim, ended


def _deleted(scene: Scene) -> list[dict[str, Any]]:
    """The users the day deletes that were in the team (licensed)."""
    return [*scene.deleted_users, *([scene.purged] if scene.purge_and_pim else [])]


def undo_by_actor(
    run: Run, tenant: str, rogue: str, since: str, scene: Scene
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``rollback plan --actor`` and ``rollback apply``: the plan and the applied plan."""
    plan = run("rollback", "plan", "--tenant", tenant, "--actor", rogue, "--since", since)
    steps = plan["steps"]
    kinds = Counter(step["kind"] for step in steps)
    more = int(scene.purge_and_pim)
    restored = [*_deleted(scene), *([scene.eligible_user] if more else [])]
    assert kinds == {
        # the users (the purged one falls back to creating it anew) and the M365 group
        "restore": 1 + len(restored),
        # the named location, then the policy that uses it; the role assignment; the
        # eligibility removed; the eligibility PIM ended with the deleted user
        "create": 4 + more,
        "patch": len(scene.disabled) + 1,  # accountEnabled, allowInvitesFrom
        # the members removed; the M365 group's member (its restore brings it back itself);
        # the team memberships the deleted users lost (a restore brings them back itself, the
        # purged user created anew gets its own here)
        "add-link": len(scene.members) + 1 + len(_deleted(scene)),
        "write-apart": len(_deleted(scene)),  # the licensed users' licences
        "remove-link": 1,  # the owner added
        "remove-password": 1,  # the client secret added
    }, (kinds, [s["description"] for s in steps if s["kind"] not in ("patch", "restore")])
    order = [(s["kind"], s["dn"]) for s in steps]
    assert order.index(("create", LOCATION_NAME)) < order.index(("create", POLICY_NAME)), (
        "the named location is made before the policy that uses it"
    )
    purged = scene.purged["userPrincipalName"]
    if more:
        assert order.index(("restore", purged)) < order.index(("write-apart", purged))
    applied = run("rollback", "apply", str(plan["id"]))
    outcomes = [(s["description"], s["status"], s["outcome"]) for s in applied["steps"]]
    assert applied["status"] == "applied", outcomes
    return plan, applied


def check_spots(fresh: httpx.Client, scene: Scene) -> None:
    """Spot checks of a fresh read against what the day touched (``check_restored``
    compares the whole tenant)."""
    for user in scene.disabled:
        assert get(fresh, f"/users/{user['id']}?$select=accountEnabled")["accountEnabled"]
    for user in scene.deleted_users:
        assert get(fresh, f"/users/{user['id']}")["id"] == user["id"]
    members = ids(fresh, f"/groups/{scene.privileged['id']}/members")
    assert {m["id"] for m in scene.members} <= set(members)
    assert get(fresh, f"/groups/{scene.m365['id']}")["groupTypes"] == ["Unified"]
    assert scene.owner["id"] not in ids(fresh, f"/applications/{scene.app['id']}/owners")
    passwords = get(fresh, f"/applications/{scene.app['id']}")["passwordCredentials"]
    assert "backdoor" not in {p.get("displayName") for p in passwords}
    allowed = get(fresh, "/policies/authorizationPolicy")["allowInvitesFrom"]
    assert allowed == scene.authorization["allowInvitesFrom"]
    location = by_name(fresh, f"/{CA}/namedLocations", LOCATION_NAME)
    policy = by_name(fresh, f"/{CA}/policies", POLICY_NAME)
    assert policy["conditions"]["locations"]["includeLocations"] == [location["id"]]
    held = {
        (a["principalId"], a["roleDefinitionId"])
        for a in get(fresh, f"/{ROLES}/roleAssignments")["value"]
    }
    assert (scene.role_assignment["principalId"], USER_ADMINISTRATOR) in held
    eligible = {
        (e["principalId"], e["roleDefinitionId"])
        for e in get(fresh, f"/{ROLES}/roleEligibilitySchedules")["value"]
    }
    assert (scene.eligibility["principalId"], SECURITY_ADMINISTRATOR) in eligible
    if scene.purge_and_pim:
        _check_purged_and_eligible(fresh, scene)


def _check_purged_and_eligible(fresh: httpx.Client, scene: Scene) -> None:
    """The purged user is there again (a new id), with the licence it had, its disabled plan
    left out, in its team; the deleted user's eligibility keeps its start and end."""
    upn = scene.purged["userPrincipalName"]
    [again] = get(fresh, f"/users?$filter=userPrincipalName eq '{upn}'")["value"]
    assert again["id"] != scene.purged["id"]
    licenses = get(fresh, f"/users/{again['id']}?$select=assignedLicenses")["assignedLicenses"]
    assert licenses == [{"skuId": scene.sku, "disabledPlans": [scene.disabled_plan]}], licenses
    assert again["id"] in ids(fresh, f"/groups/{scene.team['id']}/members")
    [schedule] = [
        e
        for e in get(fresh, f"/{ROLES}/roleEligibilitySchedules")["value"]
        if e["principalId"] == scene.eligible_user["id"]
    ]
    assert schedule["id"] != scene.eligible_schedule["id"]
    then, now = scene.eligible_schedule["scheduleInfo"], schedule["scheduleInfo"]
    assert now["startDateTime"] == then["startDateTime"]
    assert now["expiration"] == then["expiration"]


def check_restored(before: Snapshot, after: Snapshot, scene: Scene) -> dict[str, str]:
    """A fresh read of the tenant matches the one before the day, but for volatile fields and
    the ids of re-created objects (every reference to those fixed); the id map."""
    users, groups = before["entra.user"], before["entra.group"]
    assert all(u["id"] in users for u in scene.disabled + scene.deleted_users)
    assert set(u["id"] for u in scene.deleted_users) <= set(groups[scene.team["id"]]["members"])
    for user in [*scene.deleted_users, scene.purged]:
        licenses = users[user["id"]]["assignedLicenses"]
        assert [x["skuId"] for x in licenses] == [scene.sku], licenses
    assert scene.purged["id"] in groups[scene.team["id"]]["members"]
    assert scene.eligibility["id"] in before["entra.pim_eligible_schedule"]
    assert scene.eligible_schedule["id"] in before["entra.pim_eligible_schedule"]
    found, new_ids = differences(before, after)
    assert not found, "\n".join(found)
    recreated = {
        scene.location["id"],
        scene.policy["id"],
        scene.role_assignment["id"],
        scene.eligibility["id"],
    }
    if scene.purge_and_pim:
        recreated |= {scene.eligible_schedule["id"], scene.purged["id"]}
    assert set(new_ids) == recreated, new_ids
    # the references: the new policy names the new location, the team the new user
    policy = after["entra.conditional_access_policy"][new_ids[scene.policy["id"]]]
    assert policy["conditions"]["locations"]["includeLocations"] == [new_ids[scene.location["id"]]]
    team = after["entra.group"][scene.team["id"]]["members"]
    if scene.purge_and_pim:
        assert new_ids[scene.purged["id"]] in team and scene.purged["id"] not in team
    return new_ids
