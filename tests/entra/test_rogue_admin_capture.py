"""A rogue administrator's bad hour in the sandbox tenant, undone by one actor plan.

The rogue (the tenant's Global Administrator, signed in through the device-code flow) disables
a user, removes a member from a privileged group, adds an owner and a client secret to an
application, deletes a conditional access policy together with the named location it used,
loosens the authorization policy, and deletes a user, the group the policy excluded and an M365
group. ``dirguard snapshot entra`` took the state before, ``capture entra`` records the bad
hour; plan and apply go through ``dirguard rollback`` over HTTPS: the actors come from the
directory audit, the plan undoes exactly the rogue's changes (what no audit record names, such
as the deleted user leaving its groups, stays unknown and out of the plan), and a fresh read
of the tenant matches the state before, but for the ids of re-created objects — and every
reference to those is fixed."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dirguard.store.column_types import utcnow
from tests.entra.helpers import (
    SECRET_ENV,
    TENANT,
    rogue_user,
    write_config,
)
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner

CA = "identity/conditionalAccess"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"


def _get(client: httpx.Client, path: str) -> dict[str, Any]:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _ids(client: httpx.Client, path: str) -> list[str]:
    return sorted(item["id"] for item in _get(client, path)["value"])


def _by_name(client: httpx.Client, path: str, name: str) -> dict[str, Any]:
    return next(item for item in _get(client, path)["value"] if item["displayName"] == name)


def _ok(answer: httpx.Response) -> None:
    assert answer.is_success, answer.text


def test_one_actor_plan_undoes_the_rogue_admins_bad_hour(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    monkeypatch.setenv(SECRET_ENV, info.full_client_secret)
    with graph_sandbox.client() as admin:
        users = _get(admin, "/users?$top=8")["value"]
        disabled, member, owner, deleted_user = users[2], users[3], users[4], users[5]
        privileged = _by_name(admin, "/groups", "Helpdesk Administrators")
        if member["id"] not in _ids(admin, f"/groups/{privileged['id']}/members"):
            _ok(
                admin.post(
                    f"/groups/{privileged['id']}/members/$ref",
                    json={"@odata.id": f"{info.graph_base}/directoryObjects/{member['id']}"},
                )
            )
        m365 = admin.post(
            "/groups",
            json={
                "displayName": "Project Falcon",
                "mailEnabled": True,
                "mailNickname": "falcon",
                "securityEnabled": False,
                "groupTypes": ["Unified"],
            },
        ).json()
        app = admin.post("/applications", json={"displayName": "Payroll export"}).json()
        made = admin.post(
            f"/{CA}/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "displayName": "Blocked range",
                "isTrusted": False,
                "ipRanges": [
                    {
                        "@odata.type": "#microsoft.graph.iPv4CidrRange",
                        "cidrAddress": "203.0.113.0/24",
                    }
                ],
            },
        )
        _ok(made)
        location = _get(admin, f"/{CA}/namedLocations/{made.json()['id']}")
        made = admin.post(
            f"/{CA}/policies",
            json={
                "displayName": "Block sign-in from the blocked range",
                "state": "disabled",
                "conditions": {
                    "applications": {"includeApplications": ["All"]},
                    "users": {"includeUsers": ["All"], "excludeGroups": [privileged["id"]]},
                    "locations": {"includeLocations": [location["id"]]},
                },
                "grantControls": {"operator": "OR", "builtInControls": ["block"]},
            },
        )
        _ok(made)
        policy = _get(admin, f"/{CA}/policies/{made.json()['id']}")
        tightened = {"allowInvitesFrom": "adminsAndGuestInviters"}
        _ok(admin.patch("/policies/authorizationPolicy", json=tightened))
        authorization = _get(admin, "/policies/authorizationPolicy")
        before = {
            "disabled": _get(admin, f"/users/{disabled['id']}"),
            "members": _ids(admin, f"/groups/{privileged['id']}/members"),
            "owners": _ids(admin, f"/applications/{app['id']}/owners"),
            "passwords": _get(admin, f"/applications/{app['id']}")["passwordCredentials"],
        }

    run = cli_runner(write_config(graph_sandbox, tmp_path), {SECRET_ENV: info.full_client_secret})
    baseline = run("snapshot", "entra", "--tenant", TENANT)["snapshots"][0]
    assert baseline["objects"] > 0, baseline
    start = utcnow() - timedelta(seconds=1)

    with rogue_user(graph_sandbox) as rogue:
        _ok(rogue.patch(f"/users/{disabled['id']}", json={"accountEnabled": False}))
        _ok(rogue.delete(f"/groups/{privileged['id']}/members/{member['id']}/$ref"))
        _ok(
            rogue.post(
                f"/applications/{app['id']}/owners/$ref",
                json={"@odata.id": f"{info.graph_base}/directoryObjects/{owner['id']}"},
            )
        )
        _ok(
            rogue.post(
                f"/applications/{app['id']}/addPassword",
                json={"passwordCredential": {"displayName": "backdoor"}},
            )
        )
        _ok(rogue.delete(f"/{CA}/policies/{policy['id']}"))
        _ok(rogue.delete(f"/{CA}/namedLocations/{location['id']}"))
        _ok(rogue.patch("/policies/authorizationPolicy", json={"allowInvitesFrom": "everyone"}))
        _ok(rogue.delete(f"/users/{deleted_user['id']}"))
        _ok(rogue.delete(f"/groups/{privileged['id']}"))
        _ok(rogue.delete(f"/groups/{m365['id']}"))
    captured = run("capture", "entra", "--tenant", TENANT)["captures"][0]
    assert captured["events"] >= 10, captured

    rogue_upn = info.admin_user_principal_name
    since = start.isoformat()
    plan = run("rollback", "plan", "--tenant", TENANT, "--actor", rogue_upn, "--since", since)
    changes = run("changes", "--tenant", TENANT, "--since", since)["changes"]
    by_rogue = [c for c in changes if c["actor"] == rogue_upn]
    assert sorted((c["op"], c["attribute"]) for c in by_rogue) == sorted(
        # the member removed from the privileged group is no event of its own: the group was
        # deleted before the capture ran; restoring it brings its recorded members back
        [("modify", "accountEnabled"), ("add-value", "owners")]
        + [("add-value", "passwordCredentials"), ("modify", "allowInvitesFrom")]
        + [("delete", "id")] * 5  # the policy, its location, a user, two groups
    ), [(c["op"], c["attribute"], c["actor"]) for c in changes]
    assert {c["actor_address"] for c in by_rogue} == {"127.0.0.1"}
    unknown = [c for c in changes if c["actor"] is None]
    # what no audit record names stays unknown: the deleted user leaving its groups
    assert ("remove-value", "members", deleted_user["id"]) in {
        (c["op"], c["attribute"], c["old"]) for c in unknown
    }
    steps = plan["steps"]
    assert Counter(step["kind"] for step in steps) == {
        "restore": 3,  # the user and both groups (same ids, or anew if gone)
        "create": 2,  # the named location, then the policy that uses it
        "patch": 2,  # accountEnabled, allowInvitesFrom
        "add-link": 3,  # the removed member; the deleted group's other member and its owner
        "remove-link": 1,  # the owner added
        "remove-password": 1,  # the client secret added
    }, [s["description"] for s in steps]
    assert plan["selection"]["unattributed_left_out"] == len(unknown)
    order = [(s["kind"], s["dn"]) for s in steps]
    assert order.index(("create", location["displayName"])) < order.index(
        ("create", policy["displayName"])
    ), "the named location is made before the policy that uses it"

    applied = run("rollback", "apply", str(plan["id"]))
    outcomes = [(s["description"], s["status"], s["outcome"]) for s in applied["steps"]]
    assert applied["status"] == "applied", outcomes
    again = run("rollback", "apply", str(plan["id"]), code=1, as_json=False)
    assert "already applied" in again.output

    with graph_sandbox.client() as fresh:
        assert _get(fresh, f"/users/{disabled['id']}?$select=accountEnabled")["accountEnabled"]
        assert _get(fresh, f"/users/{deleted_user['id']}")["id"] == deleted_user["id"]
        assert _get(fresh, f"/groups/{m365['id']}")["groupTypes"] == ["Unified"]
        # A security group is not kept in deleted items: it is created anew with its members
        recreated = _by_name(fresh, "/groups", privileged["displayName"])
        assert recreated["id"] != privileged["id"]
        assert _ids(fresh, f"/groups/{recreated['id']}/members") == before["members"]
        assert _ids(fresh, f"/applications/{app['id']}/owners") == before["owners"]
        passwords = _get(fresh, f"/applications/{app['id']}")["passwordCredentials"]
        assert passwords == before["passwords"]
        assert (
            _get(fresh, "/policies/authorizationPolicy")["allowInvitesFrom"]
            == (authorization["allowInvitesFrom"])
        )
        new_location = _by_name(fresh, f"/{CA}/namedLocations", location["displayName"])
        assert new_location["id"] != location["id"]
        volatile = {"id", "createdDateTime", "modifiedDateTime", "@odata.context"}
        assert {k: v for k, v in new_location.items() if k not in volatile} == {
            k: v for k, v in location.items() if k not in volatile
        }
        new_policy = _by_name(fresh, f"/{CA}/policies", policy["displayName"])
        assert new_policy["conditions"]["locations"]["includeLocations"] == [new_location["id"]]
        users_then = {**policy["conditions"]["users"], "excludeGroups": [recreated["id"]]}
        assert new_policy["conditions"]["users"] == users_then, "the new group's id, not the old"
        assert new_policy["state"] == policy["state"]
        assert new_policy["grantControls"] == policy["grantControls"]
