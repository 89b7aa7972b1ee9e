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

CA = "identity/conditionalAccess"
PRIVILEGED_GROUP = "Helpdesk Administrators"
LOCATION_NAME = "Blocked range"
POLICY_NAME = "Block sign-in from the blocked range"

Run = Callable[..., Any]


def get(client: httpx.Client, path: str) -> dict[str, Any]:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def ids(client: httpx.Client, path: str) -> list[str]:
    return sorted(item["id"] for item in get(client, path)["value"])


def by_name(client: httpx.Client, path: str, name: str) -> dict[str, Any]:
    return next(item for item in get(client, path)["value"] if item["displayName"] == name)


def ok(answer: httpx.Response) -> httpx.Response:
    assert answer.is_success, answer.text
    return answer


def ref(graph_base: str, object_id: str) -> dict[str, str]:
    return {"@odata.id": f"{graph_base}/directoryObjects/{object_id}"}


@dataclass
class Scene:
    """The tenant as the day finds it: the objects the rogue is about to touch."""

    graph_base: str
    disabled: list[dict[str, Any]]
    member: dict[str, Any]
    privileged: dict[str, Any]
    owner: dict[str, Any]
    app: dict[str, Any]
    location: dict[str, Any]
    policy: dict[str, Any]
    authorization: dict[str, Any]
    deleted_users: list[dict[str, Any]]
    m365: dict[str, Any]
    before: dict[str, Any] = field(default_factory=dict)


def set_up(admin: httpx.Client, graph_base: str, *, disabled: int = 1, deleted: int = 1) -> Scene:
    """The tenant before the day, made by its administrator (the full application)."""
    users = get(admin, f"/users?$top={2 + 2 + disabled + deleted}")["value"]
    member, owner = users[2], users[3]
    to_disable = users[4 : 4 + disabled]
    to_delete = users[4 + disabled : 4 + disabled + deleted]
    privileged = by_name(admin, "/groups", PRIVILEGED_GROUP)
    if member["id"] not in ids(admin, f"/groups/{privileged['id']}/members"):
        ok(
            admin.post(
                f"/groups/{privileged['id']}/members/$ref", json=ref(graph_base, member["id"])
            )
        )
    m365 = ok(
        admin.post(
            "/groups",
            json={
                "displayName": "Project Falcon",
                "mailEnabled": True,
                "mailNickname": "falcon",
                "securityEnabled": False,
                "groupTypes": ["Unified"],
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
    ok(
        admin.patch(
            "/policies/authorizationPolicy", json={"allowInvitesFrom": "adminsAndGuestInviters"}
        )
    )
    scene = Scene(
        graph_base=graph_base,
        disabled=to_disable,
        member=member,
        privileged=privileged,
        owner=owner,
        app=app,
        location=location,
        policy=policy,
        authorization=get(admin, "/policies/authorizationPolicy"),
        deleted_users=to_delete,
        m365=m365,
    )
    scene.before = {
        "members": ids(admin, f"/groups/{privileged['id']}/members"),
        "owners": ids(admin, f"/applications/{app['id']}/owners"),
        "passwords": get(admin, f"/applications/{app['id']}")["passwordCredentials"],
    }
    return scene


def play_day(rogue: httpx.Client, scene: Scene) -> None:
    """The rogue's bad hour, every write with the rogue's own token."""
    for user in scene.disabled:
        ok(rogue.patch(f"/users/{user['id']}", json={"accountEnabled": False}))
    group, app = scene.privileged["id"], scene.app["id"]
    ok(rogue.delete(f"/groups/{group}/members/{scene.member['id']}/$ref"))
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
    ok(rogue.patch("/policies/authorizationPolicy", json={"allowInvitesFrom": "everyone"}))
    for user in scene.deleted_users:
        ok(rogue.delete(f"/users/{user['id']}"))
    ok(rogue.delete(f"/groups/{group}"))
    ok(rogue.delete(f"/groups/{scene.m365['id']}"))


def check_changes(changes: list[dict[str, Any]], scene: Scene, rogue: str, address: str) -> None:
    """``dirguard changes`` names the rogue (and the rogue's address) for every change the rogue
    made, and leaves what no audit record names unknown."""
    by_rogue = [c for c in changes if c["actor"] == rogue]
    assert sorted((c["op"], c["attribute"]) for c in by_rogue) == sorted(
        # the member removed from the privileged group is no event of its own: the group was
        # deleted before the capture ran; restoring it brings its recorded members back
        [("modify", "accountEnabled")] * len(scene.disabled)
        + [("add-value", "owners"), ("add-value", "passwordCredentials")]
        + [("modify", "allowInvitesFrom")]
        # the policy, its location, the users and two groups
        + [("delete", "id")] * (4 + len(scene.deleted_users))
    ), [(c["op"], c["attribute"], c["actor"]) for c in changes]
    assert {c["actor_address"] for c in by_rogue} == {address}
    unknown = [c for c in changes if c["actor"] is None]
    # what no audit record names stays unknown: a deleted user leaving its groups
    left = {(c["op"], c["attribute"], c["old"]) for c in unknown}
    for user in scene.deleted_users:
        assert ("remove-value", "members", user["id"]) in left or not any(
            c["old"] == user["id"] for c in changes
        )


def undo_by_actor(
    run: Run, tenant: str, rogue: str, since: str, scene: Scene
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``rollback plan --actor`` and ``rollback apply``: the plan and the applied plan."""
    plan = run("rollback", "plan", "--tenant", tenant, "--actor", rogue, "--since", since)
    steps = plan["steps"]
    assert Counter(step["kind"] for step in steps) == {
        # the users and both groups (same ids, or anew if gone)
        "restore": 2 + len(scene.deleted_users),
        "create": 2,  # the named location, then the policy that uses it
        "patch": len(scene.disabled) + 1,  # accountEnabled, allowInvitesFrom
        "add-link": 3,  # the removed member; the deleted group's other member and its owner
        "remove-link": 1,  # the owner added
        "remove-password": 1,  # the client secret added
    }, [s["description"] for s in steps]
    order = [(s["kind"], s["dn"]) for s in steps]
    assert order.index(("create", LOCATION_NAME)) < order.index(("create", POLICY_NAME)), (
        "the named location is made before the policy that uses it"
    )
    applied = run("rollback", "apply", str(plan["id"]))
    outcomes = [(s["description"], s["status"], s["outcome"]) for s in applied["steps"]]
    assert applied["status"] == "applied", outcomes
    return plan, applied


def check_restored(fresh: httpx.Client, scene: Scene) -> None:
    """A fresh read of the tenant matches the state before, but for the ids of re-created
    objects, and every reference to those is fixed."""
    for user in scene.disabled:
        assert get(fresh, f"/users/{user['id']}?$select=accountEnabled")["accountEnabled"]
    for user in scene.deleted_users:
        assert get(fresh, f"/users/{user['id']}")["id"] == user["id"]
    assert get(fresh, f"/groups/{scene.m365['id']}")["groupTypes"] == ["Unified"]
    # A security group is not kept in deleted items: it is created anew with its members
    recreated = by_name(fresh, "/groups", scene.privileged["displayName"])
    assert recreated["id"] != scene.privileged["id"]
    assert ids(fresh, f"/groups/{recreated['id']}/members") == scene.before["members"]
    assert ids(fresh, f"/applications/{scene.app['id']}/owners") == scene.before["owners"]
    passwords = get(fresh, f"/applications/{scene.app['id']}")["passwordCredentials"]
    assert passwords == scene.before["passwords"]
    allowed = get(fresh, "/policies/authorizationPolicy")["allowInvitesFrom"]
    assert allowed == scene.authorization["allowInvitesFrom"]
    location, policy = scene.location, scene.policy
    new_location = by_name(fresh, f"/{CA}/namedLocations", location["displayName"])
    assert new_location["id"] != location["id"]
    volatile = {"id", "createdDateTime", "modifiedDateTime", "@odata.context"}
    assert {k: v for k, v in new_location.items() if k not in volatile} == {
        k: v for k, v in location.items() if k not in volatile
    }
    new_policy = by_name(fresh, f"/{CA}/policies", policy["displayName"])
    assert new_policy["conditions"]["locations"]["includeLocations"] == [new_location["id"]]
    users_then = {**policy["conditions"]["users"], "excludeGroups": [recreated["id"]]}
    assert new_policy["conditions"]["users"] == users_then, "the new group's id, not the old"
    assert new_policy["state"] == policy["state"]
    assert new_policy["grantControls"] == policy["grantControls"]
