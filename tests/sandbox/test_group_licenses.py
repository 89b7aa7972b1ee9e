"""Group-based licensing through the sandbox's Graph API: ``groups/{id}/assignLicense``, the
group's assignedLicenses, members inheriting them (``licenseAssignmentStates`` with
``assignedByGroup``), membership changes, a seat per user, the refusal to remove an inherited
license directly, and the group change's audit. Bodies are held against Microsoft's CSDL."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.test_fidelity import _problems

E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
EXCHANGE_PLAN = "efb87545-963c-4e0d-99df-69c6916d9eb0"
LICENSES = {"$select": "id,assignedLicenses,licenseAssignmentStates"}


def _e3_units(client: httpx.Client) -> int:
    skus = client.get("/subscribedSkus").json()["value"]
    return int(next(sku["consumedUnits"] for sku in skus if sku["skuId"] == E3))


def _user(client: httpx.Client, user_id: str) -> dict[str, Any]:
    answer = client.get(f"/users/{user_id}", params=LICENSES)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def _holders(sandbox: RunningSandbox) -> tuple[str, str]:
    users = sandbox.state.users
    direct = next(
        uid
        for uid, user in users.items()
        if [entry["skuId"] for entry in user["assignedLicenses"]] == [E3]
    )
    without = next(
        uid for uid, user in users.items() if not user["assignedLicenses"] and user["usageLocation"]
    )
    return direct, without


def test_members_inherit_a_group_license_and_lose_it_when_they_leave(
    graph_sandbox: RunningSandbox,
) -> None:
    direct_id, plain_id = _holders(graph_sandbox)
    with graph_sandbox.client() as client:
        group = client.post(
            "/groups",
            json={
                "displayName": "Licensed E3",
                "mailEnabled": False,
                "mailNickname": "licensede3",
                "securityEnabled": True,
                "members@odata.bind": [
                    f"{graph_sandbox.info.graph_base}/directoryObjects/{uid}"
                    for uid in (direct_id, plain_id)
                ],
            },
        ).json()
        before = _e3_units(client)
        assigned = client.post(
            f"/groups/{group['id']}/assignLicense",
            json={
                "addLicenses": [{"skuId": E3, "disabledPlans": [EXCHANGE_PLAN]}],
                "removeLicenses": [],
            },
        )
        read_group = client.get(f"/groups/{group['id']}", params={"$select": "id,assignedLicenses"})
        plain, direct = _user(client, plain_id), _user(client, direct_id)
        during = _e3_units(client)
        refused = client.post(
            f"/users/{plain_id}/assignLicense", json={"addLicenses": [], "removeLicenses": [E3]}
        )
        direct_removed = client.post(
            f"/users/{direct_id}/assignLicense", json={"addLicenses": [], "removeLicenses": [E3]}
        )
        direct_after = _user(client, direct_id)
        left = client.delete(f"/groups/{group['id']}/members/{plain_id}/$ref")
        plain_left = _user(client, plain_id)
        after_leaving = _e3_units(client)
        client.post(
            f"/groups/{group['id']}/members/$ref",
            json={"@odata.id": f"{graph_sandbox.info.graph_base}/directoryObjects/{plain_id}"},
        )
        plain_back = _user(client, plain_id)
        audits = client.get("/auditLogs/directoryAudits", params={"$top": "999"}).json()["value"]

    assert assigned.status_code == 202, assigned.text
    assert assigned.json()["id"] == group["id"]
    wanted = [{"disabledPlans": [EXCHANGE_PLAN], "skuId": E3}]
    assert assigned.json()["assignedLicenses"] == wanted
    assert read_group.json()["assignedLicenses"] == wanted
    assert plain["assignedLicenses"] == wanted
    (inherited,) = plain["licenseAssignmentStates"]
    assert inherited["assignedByGroup"] == group["id"]
    assert (inherited["state"], inherited["error"]) == ("Active", None)
    assert inherited["disabledPlans"] == [EXCHANGE_PLAN]
    # Held directly (every plan) and from the group (Exchange off): one license, every plan on.
    assert direct["assignedLicenses"] == [{"disabledPlans": [], "skuId": E3}]
    assert sorted(str(s["assignedByGroup"]) for s in direct["licenseAssignmentStates"]) == sorted(
        ["None", group["id"]]
    )
    assert during == before + 1  # the direct holder takes no second seat
    assert refused.status_code == 400
    assert "inherited from a group membership" in refused.json()["error"]["message"]
    assert direct_removed.status_code == 200, direct_removed.text
    assert direct_after["assignedLicenses"] == wanted  # the group's assignment stays
    assert [s["assignedByGroup"] for s in direct_after["licenseAssignmentStates"]] == [group["id"]]
    assert left.status_code == 204
    assert plain_left["assignedLicenses"] == []
    assert plain_left["licenseAssignmentStates"] == []
    assert after_leaving == during - 1
    assert plain_back["assignedLicenses"] == wanted
    problems = _problems(assigned.json(), "microsoft.graph.group", "group")
    for user in (plain, direct, direct_after):
        problems += _problems(user, "microsoft.graph.user", "user")
    assert problems == []
    group_audits = [
        entry
        for entry in audits
        if entry["targetResources"][0]["id"] == group["id"]
        and entry["activityDisplayName"] == "Set group license"
    ]
    assert len(group_audits) == 1
    assert group_audits[0]["initiatedBy"]["app"] or group_audits[0]["initiatedBy"]["user"]
    assert (
        "ENTERPRISEPACK"
        in group_audits[0]["targetResources"][0]["modifiedProperties"][0]["newValue"]
    )


def test_a_group_license_removed_leaves_its_members_and_bad_bodies_are_refused(
    graph_sandbox: RunningSandbox,
) -> None:
    _, plain_id = _holders(graph_sandbox)
    with graph_sandbox.client() as client:
        group = client.post(
            "/groups",
            json={
                "displayName": "Licensed then not",
                "mailEnabled": False,
                "mailNickname": "licensedthennot",
                "securityEnabled": True,
                "members@odata.bind": [
                    f"{graph_sandbox.info.graph_base}/directoryObjects/{plain_id}"
                ],
            },
        ).json()
        path = f"/groups/{group['id']}/assignLicense"
        client.post(path, json={"addLicenses": [{"skuId": E3}], "removeLicenses": []})
        holding = _user(client, plain_id)
        removed = client.post(path, json={"addLicenses": [], "removeLicenses": [E3]})
        gone = _user(client, plain_id)
        not_held = client.post(path, json={"addLicenses": [], "removeLicenses": [E3]})
        no_removals = client.post(path, json={"addLicenses": []})
        unknown_sku = client.post(
            path,
            json={
                "addLicenses": [{"skuId": "00000000-0000-0000-0000-000000000001"}],
                "removeLicenses": [],
            },
        )
    assert holding["assignedLicenses"] == [{"disabledPlans": [], "skuId": E3}]
    assert removed.status_code == 202
    assert removed.json()["assignedLicenses"] == []
    assert gone["assignedLicenses"] == [] and gone["licenseAssignmentStates"] == []
    assert not_held.status_code == 400
    assert no_removals.status_code == 400
    assert "removeLicenses" in no_removals.json()["error"]["message"]
    assert unknown_sku.status_code == 400
    assert "valid company License" in unknown_sku.json()["error"]["message"]
