"""Subscriptions and license assignment through the sandbox's Graph API: subscribedSkus with the
units in use, assignLicense with Graph's errors, licenseDetails, and the audit it leaves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from dirguard_sandbox.seed_data import SeedOptions, generate_tenant
from dirguard_sandbox.state_file import load_state, save_state
from tests.fixtures.graph_sandbox import RunningSandbox

E3 = "6fd2c87f-b296-42f0-b197-1e91e994b900"
P1 = "078d2b04-f1bd-4111-bbd4-b4b1b354cef4"
EXCHANGE_PLAN = "efb87545-963c-4e0d-99df-69c6916d9eb0"


def _skus(client: httpx.Client) -> dict[str, dict[str, Any]]:
    return {sku["skuId"]: sku for sku in client.get("/subscribedSkus").json()["value"]}


def _unlicensed(sandbox: RunningSandbox) -> str:
    return next(
        user_id
        for user_id, user in sandbox.state.users.items()
        if not user["assignedLicenses"] and user["usageLocation"]
    )


def test_subscribed_skus_count_the_units_users_hold(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client(read_only=True) as client:
        skus = _skus(client)
        one = client.get(f"/subscribedSkus/{skus[E3]['id']}").json()
    holders = sum(
        1
        for user in graph_sandbox.state.users.values()
        if any(entry["skuId"] == E3 for entry in user["assignedLicenses"])
    )
    assert skus[E3]["skuPartNumber"] == "ENTERPRISEPACK"
    assert skus[E3]["consumedUnits"] == holders > 0
    assert skus[E3]["prepaidUnits"]["enabled"] >= holders
    assert EXCHANGE_PLAN in {plan["servicePlanId"] for plan in skus[E3]["servicePlans"]}
    assert one["consumedUnits"] == holders
    assert one["@odata.context"].endswith("$metadata#subscribedSkus/$entity")


def test_assign_license_adds_and_removes_and_is_audited(graph_sandbox: RunningSandbox) -> None:
    user_id = _unlicensed(graph_sandbox)
    with graph_sandbox.client() as client:
        before = _skus(client)[E3]["consumedUnits"]
        added = client.post(
            f"/users/{user_id}/assignLicense",
            json={
                "addLicenses": [{"skuId": E3, "disabledPlans": [EXCHANGE_PLAN]}, {"skuId": P1}],
                "removeLicenses": [],
            },
        )
        assert added.status_code == 200, added.text
        details = client.get(f"/users/{user_id}/licenseDetails").json()["value"]
        e3_detail = next(detail["id"] for detail in details if detail["skuId"] == E3)
        one_detail = client.get(f"/users/{user_id}/licenseDetails/{e3_detail}")
        no_detail = client.get(f"/users/{user_id}/licenseDetails/not-a-license")
        holders = client.get(
            "/users", params={"$filter": f"assignedLicenses/any(x:x/skuId eq {P1})", "$top": "999"}
        ).json()["value"]
        during = _skus(client)[E3]["consumedUnits"]
        removed = client.post(
            f"/users/{user_id}/assignLicense", json={"addLicenses": [], "removeLicenses": [P1]}
        )
        user = client.get(f"/users/{user_id}", params={"$select": "assignedLicenses"}).json()
        audits = client.get("/auditLogs/directoryAudits", params={"$top": "999"}).json()["value"]
    assert added.json()["id"] == user_id
    assert during == before + 1
    e3 = next(detail for detail in details if detail["skuId"] == E3)
    plans = {plan["servicePlanId"]: plan["provisioningStatus"] for plan in e3["servicePlans"]}
    assert plans[EXCHANGE_PLAN] == "Disabled"
    assert {status for plan_id, status in plans.items() if plan_id != EXCHANGE_PLAN} == {"Success"}
    assert user_id in {holder["id"] for holder in holders}
    assert one_detail.status_code == 200 and one_detail.json()["skuPartNumber"] == "ENTERPRISEPACK"
    assert no_detail.status_code == 404
    assert removed.status_code == 200
    assert user["assignedLicenses"] == [{"disabledPlans": [EXCHANGE_PLAN], "skuId": E3}]
    changes = [
        entry
        for entry in audits
        if entry["activityDisplayName"] == "Change user license"
        and entry["targetResources"][0]["id"] == user_id
    ]
    assert len(changes) == 2
    removal = changes[0]["targetResources"][0]["modifiedProperties"][0]
    assert removal["displayName"] == "AssignedLicense"
    assert any("SkuName=AAD_PREMIUM," in text for text in json.loads(removal["oldValue"]))
    assert not any("SkuName=AAD_PREMIUM," in text for text in json.loads(removal["newValue"]))


def test_assign_license_errors_are_graphs(graph_sandbox: RunningSandbox) -> None:
    user_id = _unlicensed(graph_sandbox)
    nowhere = next(iter(graph_sandbox.state.users))
    with graph_sandbox.client() as client:
        client.patch(f"/users/{nowhere}", json={"usageLocation": None})
        unknown = client.post(
            f"/users/{user_id}/assignLicense",
            json={
                "addLicenses": [{"skuId": "11111111-1111-1111-1111-111111111111"}],
                "removeLicenses": [],
            },
        )
        no_location = client.post(
            f"/users/{nowhere}/assignLicense",
            json={"addLicenses": [{"skuId": P1}], "removeLicenses": []},
        )
        not_held = client.post(
            f"/users/{user_id}/assignLicense", json={"addLicenses": [], "removeLicenses": [P1]}
        )
        missing = client.post(f"/users/{user_id}/assignLicense", json={"addLicenses": []})
        unchanged = client.get(f"/users/{user_id}", params={"$select": "assignedLicenses"}).json()
    with graph_sandbox.client(read_only=True) as reader:
        read_only = reader.post(
            f"/users/{user_id}/assignLicense", json={"addLicenses": [], "removeLicenses": []}
        )
    for answer in (unknown, no_location, not_held, missing):
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "Request_BadRequest"
    assert "does not correspond to a valid company License" in unknown.json()["error"]["message"]
    assert no_location.json()["error"]["message"] == (
        "License assignment cannot be done for user with invalid usage location."
    )
    assert "does not have a corresponding license" in not_held.json()["error"]["message"]
    assert "removeLicenses" in missing.json()["error"]["message"]
    assert read_only.status_code == 403
    assert unchanged["assignedLicenses"] == []


def test_seeded_licenses_are_the_same_for_the_same_seed() -> None:
    first = generate_tenant(SeedOptions(users=30, seed=3))
    again = generate_tenant(SeedOptions(users=30, seed=3))
    other = generate_tenant(SeedOptions(users=30, seed=4))

    def seeded(state: Any) -> Any:
        return (
            [user["assignedLicenses"] for user in state.users.values()],
            sorted(state.administrative_units),
            sorted(state.contacts),
            [entry["id"] for entry in state.sign_in_log],
            {user: sorted(methods) for user, methods in state.auth_methods.items()},
        )

    assert seeded(first) == seeded(again)
    assert seeded(first) != seeded(other)
    licensed = sum(1 for user in first.users.values() if user["assignedLicenses"])
    assert 0 < licensed < len(first.users)
    assert len(first.sign_in_log) == 90
    assert [entry["createdDateTime"] for entry in first.sign_in_log] == sorted(
        entry["createdDateTime"] for entry in first.sign_in_log
    )


def test_seeded_records_survive_a_state_file(tmp_path: Path) -> None:
    state = generate_tenant(SeedOptions(users=20, seed=9))
    state.outbox.append({"from": "a@b.example", "message": {"subject": "kept"}})
    path = tmp_path / "tenant.json"
    save_state(state, path)
    loaded = load_state(path)
    for name in (
        "subscribed_skus",
        "auth_methods",
        "mfa_states",
        "administrative_units",
        "unit_members",
        "contacts",
        "sign_in_log",
        "outbox",
    ):
        assert getattr(loaded, name) == getattr(state, name), name
    assert loaded.users == state.users
