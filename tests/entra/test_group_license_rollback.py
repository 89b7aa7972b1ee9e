"""Group-based licensing through the CLI against the sandbox over HTTPS: a rogue application
removes a licence from a group with members; ``capture entra`` and ``changes`` show the group's
change with the rogue and the members' licences lost as inherited (``licenseAssignmentStates``
naming the group, no actor); ``rollback plan --actor`` puts the group's licence back and
assigns nothing directly to the members; ``rollback apply`` restores it, and the members inherit
it again."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.entra import rogue_day
from tests.entra.helpers import SECRET_ENV, TENANT, rogue_app, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner

E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
EXCHANGE_PLAN = "efb87545-963c-4e0d-99df-69c6916d9eb0"
ROGUE = "licence tidy-up script"


def _licences(sandbox: RunningSandbox, object_path: str) -> dict[str, Any]:
    select = "assignedLicenses" + (",licenseAssignmentStates" if "users" in object_path else "")
    with sandbox.client() as client:
        answer = client.get(object_path, params={"$select": select})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_a_rogue_removing_a_group_licence_is_rolled_back_on_the_group(
    graph_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    info = graph_sandbox.info
    run = cli_runner(write_config(graph_sandbox, tmp_path), {SECRET_ENV: info.full_client_secret})
    members = [
        uid
        for uid, user in graph_sandbox.state.users.items()
        if not user["assignedLicenses"] and user["usageLocation"]
    ][:2]
    assert len(members) == 2
    with graph_sandbox.client() as admin:
        group = admin.post(
            "/groups",
            json={
                "displayName": "E3 for sales",
                "mailEnabled": False,
                "mailNickname": "e3sales",
                "securityEnabled": True,
                "members@odata.bind": [f"{info.graph_base}/directoryObjects/{m}" for m in members],
            },
        ).json()
        licensed = admin.post(
            f"/groups/{group['id']}/assignLicense",
            json={
                "addLicenses": [{"skuId": E3, "disabledPlans": [EXCHANGE_PLAN]}],
                "removeLicenses": [],
            },
        )
        assert licensed.status_code == 202, licensed.text
    run("snapshot", "entra", "--tenant", TENANT)
    since = datetime.now(UTC).isoformat()
    with rogue_app(graph_sandbox, ROGUE, ("LicenseAssignment.ReadWrite.All",)) as rogue:
        removed = rogue.post(
            f"/groups/{group['id']}/assignLicense",
            json={"addLicenses": [], "removeLicenses": [E3]},
        )
        assert removed.status_code == 202, removed.text
    assert _licences(graph_sandbox, f"/users/{members[0]}")["assignedLicenses"] == []

    assert run("capture", "entra")["captures"][0]["actors"]["attributed"] >= 1
    changes = run("changes", "--tenant", TENANT, "--since", since)["changes"]
    on_group = [c for c in changes if c["object"]["guid"] == group["id"]]
    assert [(c["attribute"], c["actor"]) for c in on_group] == [("assignedLicenses", ROGUE)]
    on_members = [c for c in changes if c["object"]["guid"] in members]
    assert on_members, "the members' lost licences are recorded"
    assert all(c["actor"] != ROGUE for c in on_members)
    inherited = [c for c in on_members if c["attribute"] == "licenseAssignmentStates"]
    assert len(inherited) == 2
    for change in inherited:
        assert group["id"] in repr(change["old"])  # assignedByGroup: the group, not direct

    plan = run("rollback", "plan", "--tenant", TENANT, "--actor", ROGUE, "--since", since)
    steps = plan["steps"]
    assert [(s["kind"], s["dn"]) for s in steps] == [("write-apart", "E3 for sales")], steps
    assert E3 in steps[0]["description"]
    applied = run("rollback", "apply", str(plan["id"]))
    assert applied["status"] == "applied", applied

    wanted = [{"disabledPlans": [EXCHANGE_PLAN], "skuId": E3}]
    assert _licences(graph_sandbox, f"/groups/{group['id']}")["assignedLicenses"] == wanted
    for member in members:
        user = _licences(graph_sandbox, f"/users/{member}")
        assert user["assignedLicenses"] == wanted
        assert [s["assignedByGroup"] for s in user["licenseAssignmentStates"]] == [group["id"]]


def _free_skus(admin: Any) -> list[dict[str, Any]]:
    skus = admin.get("/subscribedSkus").json()["value"]
    return [s for s in skus if s["prepaidUnits"]["enabled"] - s["consumedUnits"] >= 1]


def test_a_purged_member_comes_back_with_its_direct_licence_and_inherits_the_groups(
    graph_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    info = graph_sandbox.info
    domain = info.admin_user_principal_name.split("@", 1)[1]
    run = cli_runner(write_config(graph_sandbox, tmp_path), {SECRET_ENV: info.full_client_secret})
    with graph_sandbox.client() as admin:
        [user] = rogue_day._day_users(admin, domain, 1)
        direct_sku, group_sku = (str(s["skuId"]) for s in _free_skus(admin)[:2])
        group = rogue_day.ok(
            admin.post(
                "/groups",
                json={
                    "displayName": "Licensed night shift",
                    "mailEnabled": False,
                    "mailNickname": "licensed-night",
                    "securityEnabled": True,
                },
            )
        ).json()
        rogue_day.ok(
            admin.post(
                f"/groups/{group['id']}/assignLicense",
                json={"addLicenses": [{"skuId": group_sku}], "removeLicenses": []},
            )
        )
        rogue_day.ok(
            admin.post(
                f"/groups/{group['id']}/members/$ref",
                json=rogue_day.ref(info.graph_base, user["id"]),
            )
        )
        rogue_day._license(admin, user, direct_sku, [])
    run("snapshot", "entra", "--tenant", TENANT)
    with graph_sandbox.client() as admin:
        rogue_day.ok(admin.delete(f"/users/{user['id']}"))
        rogue_day.ok(admin.delete(f"/directory/deletedItems/{user['id']}"))
    run("capture", "entra", "--tenant", TENANT)

    changes = run("changes", "--tenant", TENANT)["changes"]
    [deletion] = [c for c in changes if c["op"] == "delete" and c["object"]["type"] == "entra.user"]
    plan = run("rollback", "plan", "--tenant", TENANT, "--event", str(deletion["sequence"]))
    [licences] = [s for s in plan["steps"] if s["kind"] == "write-apart"]
    assert direct_sku in licences["description"]
    assert f"{group_sku} come(s) from its groups" in licences["description"], licences
    applied = run("rollback", "apply", str(plan["id"]))
    assert applied["status"] == "applied", applied

    with graph_sandbox.client() as fresh:
        upn = user["userPrincipalName"]
        [again] = rogue_day.get(fresh, f"/users?$filter=userPrincipalName eq '{upn}'")["value"]
    assert again["id"] != user["id"]
    held = _licences(graph_sandbox, f"/users/{again['id']}")
    assert sorted(a["skuId"] for a in held["assignedLicenses"]) == sorted([direct_sku, group_sku])
    assignments = sorted(
        (s["skuId"], str(s["assignedByGroup"])) for s in held["licenseAssignmentStates"]
    )
    # the group's licence is inherited only: nothing assigned it to the user directly
    assert assignments == sorted([(direct_sku, "None"), (group_sku, group["id"])])
