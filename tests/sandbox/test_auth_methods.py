"""Users' authentication methods through the sandbox's Graph API, and the beta per-user MFA state
(``/beta/users/{id}/authentication/requirements``) next to v1.0."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

import httpx

from tests.fixtures.graph_sandbox import InProcessTenant, RunningSandbox

PASSWORD_METHOD = "28c10230-6103-485e-b985-444c60001490"
MOBILE_PHONE_METHOD = "3179e48a-750b-4051-897c-87b9720928f7"


def _someone(sandbox: RunningSandbox) -> str:
    admin_id = next(iter(sandbox.state.passwords))
    return next(user_id for user_id in sandbox.state.users if user_id != admin_id)


def _new_user(sandbox: RunningSandbox, client: httpx.Client) -> str:
    """A user made for the test: no authentication method registered yet."""
    nickname = f"methods{len(sandbox.state.users)}"
    domain = sandbox.info.admin_user_principal_name.split("@")[1]
    created = client.post(
        "/users",
        json={
            "accountEnabled": True,
            "displayName": nickname,
            "mailNickname": nickname,
            "userPrincipalName": f"{nickname}@{domain}",
            "passwordProfile": {"password": "Sandbox-Pa55word!"},
        },
    )
    assert created.status_code == 201, created.text
    user_id: str = created.json()["id"]
    return user_id


def _audits(client: httpx.Client, user_id: str) -> list[dict[str, Any]]:
    values = client.get("/auditLogs/directoryAudits", params={"$top": "999"}).json()["value"]
    return [e for e in values if any(t["id"] == user_id for t in e["targetResources"])]


def _beta(sandbox: RunningSandbox, path: str) -> str:
    return sandbox.info.graph_base.removesuffix("/v1.0") + "/beta" + path


def test_every_user_lists_a_password_method_and_what_they_registered(
    graph_sandbox: RunningSandbox,
) -> None:
    admin_id = next(iter(graph_sandbox.state.passwords))
    with graph_sandbox.client(read_only=True) as client:
        methods = client.get(f"/users/{admin_id}/authentication/methods").json()["value"]
        phones = client.get(f"/users/{admin_id}/authentication/phoneMethods").json()["value"]
        password = client.get(f"/users/{admin_id}/authentication/methods/{PASSWORD_METHOD}")
    types = [method["@odata.type"] for method in methods]
    assert types[0] == "#microsoft.graph.passwordAuthenticationMethod"
    assert "#microsoft.graph.phoneAuthenticationMethod" in types
    assert "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod" in types
    assert [(p["id"], p["phoneType"]) for p in phones] == [(MOBILE_PHONE_METHOD, "mobile")]
    assert password.status_code == 200
    assert password.json()["password"] is None


def test_phone_and_email_methods_are_added_read_and_deleted_with_audits(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        user_id = _new_user(graph_sandbox, client)
        base = f"/users/{user_id}/authentication"
        phone = client.post(
            f"{base}/phoneMethods", json={"phoneNumber": "+1 2065550123", "phoneType": "mobile"}
        )
        assert phone.status_code == 201, phone.text
        email = client.post(f"{base}/emailMethods", json={"emailAddress": "kim@personal.example"})
        assert email.status_code == 201, email.text
        again = client.post(
            f"{base}/phoneMethods", json={"phoneNumber": "+1 2065550199", "phoneType": "mobile"}
        )
        listed = client.get(f"{base}/methods").json()["value"]
        fetched = client.get(f"{base}/phoneMethods/{phone.json()['id']}").json()
        deleted = client.delete(f"{base}/emailMethods/{email.json()['id']}")
        after = client.get(f"{base}/emailMethods").json()["value"]
        audits = _audits(client, user_id)
    assert phone.json()["id"] == MOBILE_PHONE_METHOD
    assert again.status_code == 400
    assert "already has a phone method" in again.json()["error"]["message"]
    assert {m["@odata.type"].rsplit(".", 1)[1] for m in listed} == {
        "passwordAuthenticationMethod",
        "phoneAuthenticationMethod",
        "emailAuthenticationMethod",
    }
    assert fetched["phoneNumber"] == "+1 2065550123"
    assert deleted.status_code == 204
    assert after == []
    activities = [(a["activityDisplayName"], a["loggedByService"]) for a in audits]
    assert activities.count(("Admin registered security info", "Authentication Methods")) == 2
    assert ("Admin deleted security info", "Authentication Methods") in activities
    removal = next(a for a in audits if a["activityDisplayName"] == "Admin deleted security info")
    change = removal["targetResources"][0]["modifiedProperties"][0]
    assert json.loads(change["oldValue"])[0]["emailAddress"] == "kim@personal.example"
    assert json.loads(change["newValue"]) == []
    assert removal["initiatedBy"]["app"]["appId"] == graph_sandbox.info.full_client_id


def test_bad_method_bodies_are_refused_with_the_field_named(graph_sandbox: RunningSandbox) -> None:
    user_id = _someone(graph_sandbox)
    base = f"/users/{user_id}/authentication"
    with graph_sandbox.client() as client:
        number = client.post(
            f"{base}/phoneMethods", json={"phoneNumber": "2065550123", "phoneType": "mobile"}
        )
        kind = client.post(
            f"{base}/phoneMethods", json={"phoneNumber": "+1 2065550123", "phoneType": "pager"}
        )
        lifetime = client.post(f"{base}/temporaryAccessPassMethods", json={"lifetimeInMinutes": 5})
        missing = client.get(f"{base}/phoneMethods/00000000-0000-0000-0000-000000000000")
    assert number.status_code == 400 and "phone number" in number.json()["error"]["message"]
    assert kind.status_code == 400 and "phoneType" in kind.json()["error"]["message"]
    assert (
        lifetime.status_code == 400 and "lifetimeInMinutes" in lifetime.json()["error"]["message"]
    )
    assert missing.status_code == 404


def test_a_temporary_access_pass_is_shown_once(graph_sandbox: RunningSandbox) -> None:
    user_id = _someone(graph_sandbox)
    base = f"/users/{user_id}/authentication/temporaryAccessPassMethods"
    with graph_sandbox.client() as client:
        created = client.post(base, json={"lifetimeInMinutes": 60, "isUsableOnce": True})
        assert created.status_code == 201, created.text
        second = client.post(base, json={})
        fetched = client.get(f"{base}/{created.json()['id']}").json()
        audits = _audits(client, user_id)
    issued = created.json()
    assert issued["temporaryAccessPass"]
    assert issued["isUsable"] is True and issued["isUsableOnce"] is True
    assert fetched["temporaryAccessPass"] is None
    assert second.status_code == 400
    logged = json.dumps(audits)
    assert "Admin registered temporary access pass method for user" in logged
    assert issued["temporaryAccessPass"] not in logged


def test_methods_need_the_authentication_method_permissions(
    graph_sandbox: RunningSandbox,
) -> None:
    user_id = _someone(graph_sandbox)
    base = f"/users/{user_id}/authentication"
    with graph_sandbox.client(read_only=True) as client:
        listed = client.get(f"{base}/methods")
        added = client.post(
            f"{base}/phoneMethods", json={"phoneNumber": "+1 2065550123", "phoneType": "office"}
        )
    assert listed.status_code == 200
    assert added.status_code == 403
    assert added.json()["error"]["code"] == "Authorization_RequestDenied"


def test_per_user_mfa_state_is_a_beta_resource(graph_sandbox: RunningSandbox) -> None:
    registered = _someone(graph_sandbox)
    with graph_sandbox.client() as client:
        bare = _new_user(graph_sandbox, client)
        path = f"/users/{bare}/authentication/requirements"
        before = client.get(_beta(graph_sandbox, path))
        v1 = client.get(path)
        enabled = client.patch(_beta(graph_sandbox, path), json={"perUserMfaState": "enabled"})
        after = client.get(_beta(graph_sandbox, path)).json()
        wrong = client.patch(_beta(graph_sandbox, path), json={"perUserMfaState": "on"})
        client.post(
            f"/users/{registered}/authentication/phoneMethods",
            json={"phoneNumber": "+44 2079460000", "phoneType": "office"},
        )
        registered_path = _beta(graph_sandbox, f"/users/{registered}/authentication/requirements")
        client.patch(registered_path, json={"perUserMfaState": "enabled"})
        enforced = client.get(registered_path).json()
        user_on_beta = client.get(_beta(graph_sandbox, f"/users/{bare}")).json()
        audits = _audits(client, bare)
    assert before.status_code == 200
    assert before.json()["perUserMfaState"] == "disabled"
    assert "/beta/$metadata#" in before.json()["@odata.context"]
    assert v1.status_code == 400
    assert enabled.status_code == 204
    assert after["perUserMfaState"] == "enabled"
    assert wrong.status_code == 400 and "perUserMfaState" in wrong.json()["error"]["message"]
    # Documented: enabling a user who already registered an MFA method enforces it.
    assert enforced["perUserMfaState"] == "enforced"
    assert user_on_beta["id"] == bare
    update = next(a for a in audits if a["activityDisplayName"] == "Update user")
    change = update["targetResources"][0]["modifiedProperties"][0]
    assert change["displayName"] == "StrongAuthenticationRequirement"
    assert (json.loads(change["oldValue"]), json.loads(change["newValue"])) == (
        ["disabled"],
        ["enabled"],
    )


def test_per_user_mfa_needs_the_policy_permission(graph_sandbox: RunningSandbox) -> None:
    user_id = _someone(graph_sandbox)
    path = _beta(graph_sandbox, f"/users/{user_id}/authentication/requirements")
    with graph_sandbox.client(read_only=True) as client:
        read = client.get(path)
        write = client.patch(path, json={"perUserMfaState": "enforced"})
    assert read.status_code == 200
    assert write.status_code == 403


def test_phone_and_email_methods_are_updated_and_password_methods_read(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        user_id = _new_user(graph_sandbox, client)
        base = f"/users/{user_id}/authentication"
        client.post(
            f"{base}/phoneMethods", json={"phoneNumber": "+1 2065550111", "phoneType": "office"}
        )
        client.post(f"{base}/emailMethods", json={"emailAddress": "old@personal.example"})
        office = "e37fc753-ff3b-4958-9484-eaa9425c82bc"
        moved = client.patch(f"{base}/phoneMethods/{office}", json={"phoneNumber": "+1 2065550222"})
        retyped = client.patch(f"{base}/phoneMethods/{office}", json={"phoneType": "mobile"})
        emails = client.get(f"{base}/emailMethods").json()["value"]
        email = client.patch(
            f"{base}/emailMethods/{emails[0]['id']}", json={"emailAddress": "new@personal.example"}
        )
        phone = client.get(f"{base}/phoneMethods/{office}").json()
        after = client.get(f"{base}/emailMethods").json()["value"]
        passwords = client.get(f"{base}/passwordMethods").json()["value"]
        password = client.get(f"{base}/passwordMethods/{PASSWORD_METHOD}")
        audits = _audits(client, user_id)
    assert moved.status_code == 204 and email.status_code == 204
    assert retyped.status_code == 400 and "phoneType" in retyped.json()["error"]["message"]
    assert phone["phoneNumber"] == "+1 2065550222"
    assert [entry["emailAddress"] for entry in after] == ["new@personal.example"]
    assert [entry["id"] for entry in passwords] == [PASSWORD_METHOD]
    assert password.status_code == 200 and password.json()["password"] is None
    updates = [a for a in audits if a["activityDisplayName"] == "Admin updated security info"]
    assert len(updates) == 2
    phone_change = updates[-1]["targetResources"][0]["modifiedProperties"][0]
    assert json.loads(phone_change["oldValue"])[0]["phoneNumber"] == "+1 2065550111"
    assert json.loads(phone_change["newValue"])[0]["phoneNumber"] == "+1 2065550222"


def test_a_temporary_access_pass_expires_with_its_lifetime(
    inprocess_tenant: Callable[..., InProcessTenant],
) -> None:
    tenant = inprocess_tenant(throttling=False)
    user_id = list(tenant.state.users)[1]
    base = f"/v1.0/users/{user_id}/authentication/temporaryAccessPassMethods"
    later = (tenant.state.now() + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    created = tenant.http.post(
        base, json={"lifetimeInMinutes": 30, "startDateTime": later}, headers=tenant.headers()
    )
    assert created.status_code == 201, created.text
    method = f"{base}/{created.json()['id']}"

    def usability() -> tuple[bool, str]:
        answer = tenant.http.get(method, headers=tenant.headers()).json()
        return answer["isUsable"], answer["methodUsabilityReason"]

    assert usability() == (False, "NotYetValid")
    tenant.clock.advance(3600 + 60)
    assert usability() == (True, "EnabledByPolicy")
    tenant.clock.advance(30 * 60)
    assert usability() == (False, "Expired")
