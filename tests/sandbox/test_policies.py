"""Conditional access, named locations and the tenant's policy singletons through Graph."""

from __future__ import annotations

import json
from typing import Any

from tests.fixtures.graph_sandbox import RunningSandbox

CA = "/identity/conditionalAccess"


def _audits(sandbox: RunningSandbox, target_id: str) -> list[dict[str, Any]]:
    with sandbox.client(read_only=True) as client:
        values = client.get("/auditLogs/directoryAudits", params={"$top": "999"}).json()["value"]
    return [e for e in values if any(t["id"] == target_id for t in e["targetResources"])]


def _mfa_policy(state: str, location_id: str, group_id: str) -> dict[str, Any]:
    return {
        "displayName": "Require MFA outside the office",
        "state": state,
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"]},
            "users": {"includeGroups": [group_id], "excludeRoles": []},
            "locations": {"includeLocations": ["All"], "excludeLocations": [location_id]},
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }


def test_a_fresh_tenant_has_security_defaults_and_no_conditional_access(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client(read_only=True) as client:
        defaults = client.get("/policies/identitySecurityDefaultsEnforcementPolicy").json()
        policies = client.get(f"{CA}/policies").json()
        authorization = client.get("/policies/authorizationPolicy").json()
        flows = client.get("/policies/authenticationFlowsPolicy").json()
        methods = client.get("/policies/authenticationMethodsPolicy").json()
        cross = client.get("/policies/crossTenantAccessPolicy/default").json()
    assert defaults["isEnabled"] is True
    assert defaults["id"] == "00000000-0000-0000-0000-000000000005"
    assert policies["value"] == []
    assert authorization["defaultUserRolePermissions"]["allowedToCreateApps"] is True
    assert authorization["allowInvitesFrom"] == "everyone"
    assert flows["selfServiceSignUp"] == {"isEnabled": True}
    ids = {item["id"] for item in methods["authenticationMethodConfigurations"]}
    assert {"MicrosoftAuthenticator", "Fido2", "Sms", "TemporaryAccessPass", "Email"} <= ids
    assert cross["isServiceDefault"] is True


def test_conditional_access_lifecycle_with_named_locations_and_audit(
    graph_sandbox: RunningSandbox,
) -> None:
    group_id = next(iter(graph_sandbox.state.groups))
    with graph_sandbox.client() as client:
        office = client.post(
            f"{CA}/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "displayName": "Head office",
                "isTrusted": True,
                "ipRanges": [{"cidrAddress": "203.0.113.0/24"}, {"cidrAddress": "2001:db8::/48"}],
            },
        )
        assert office.status_code == 201, office.text
        location = office.json()
        assert [r["@odata.type"] for r in location["ipRanges"]] == [
            "#microsoft.graph.iPv4CidrRange",
            "#microsoft.graph.iPv6CidrRange",
        ]
        countries = client.post(
            f"{CA}/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.countryNamedLocation",
                "displayName": "Blocked countries",
                "countriesAndRegions": ["KP", "IR"],
            },
        )
        assert countries.status_code == 201
        assert countries.json()["includeUnknownCountriesAndRegions"] is False
        blocked = client.post(
            f"{CA}/policies", json=_mfa_policy("enabled", location["id"], group_id)
        )
        assert blocked.status_code == 400
        assert "Security Defaults" in blocked.json()["error"]["message"]
        off = client.patch(
            "/policies/identitySecurityDefaultsEnforcementPolicy", json={"isEnabled": False}
        )
        assert off.status_code == 204
        created = client.post(
            f"{CA}/policies", json=_mfa_policy("enabled", location["id"], group_id)
        )
        assert created.status_code == 201, created.text
        policy = created.json()
        assert policy["conditions"]["users"]["includeGroups"] == [group_id]
        assert policy["grantControls"]["builtInControls"] == ["mfa"]
        back_on = client.patch(
            "/policies/identitySecurityDefaultsEnforcementPolicy", json={"isEnabled": True}
        )
        assert back_on.status_code == 400
        in_use = client.delete(f"{CA}/namedLocations/{location['id']}")
        assert in_use.status_code == 400
        assert "Require MFA outside the office" in in_use.json()["error"]["message"]
        patched = client.patch(f"{CA}/policies/{policy['id']}", json={"state": "disabled"})
        assert patched.status_code == 204
        fetched = client.get(f"{CA}/policies/{policy['id']}").json()
        assert fetched["state"] == "disabled"
        assert fetched["modifiedDateTime"] is not None
        assert client.delete(f"{CA}/policies/{policy['id']}").status_code == 204
        assert client.get(f"{CA}/policies/{policy['id']}").status_code == 404
        assert client.delete(f"{CA}/namedLocations/{location['id']}").status_code == 204
        bad_type = client.post(f"{CA}/namedLocations", json={"displayName": "x"})
        assert bad_type.status_code == 400
        missing = client.post(f"{CA}/policies", json={"displayName": "x", "state": "enabled"})
        assert missing.status_code == 400
        assert "conditions" in missing.json()["error"]["message"]
    entries = _audits(graph_sandbox, policy["id"])
    assert sorted(e["activityDisplayName"] for e in entries) == [
        "Add conditional access policy",
        "Delete conditional access policy",
        "Update conditional access policy",
    ]
    assert {e["loggedByService"] for e in entries} == {"Conditional Access"}
    # "Use audit logs to troubleshoot Conditional Access policy changes"
    # (https://learn.microsoft.com/entra/identity/conditional-access/troubleshoot-policy-changes-audit-log):
    # the old and the new policy, each one JSON value.
    changes = {
        e["activityDisplayName"].split(" ", 1)[0]: e["targetResources"][0]["modifiedProperties"]
        for e in entries
    }
    assert {len(value) for value in changes.values()} == {1}
    (update,) = changes["Update"]
    assert update["displayName"] == "ConditionalAccessPolicy"
    assert json.loads(update["oldValue"])["state"] == "enabled"
    assert json.loads(update["newValue"])["state"] == "disabled"
    assert json.loads(update["newValue"])["conditions"] == policy["conditions"]
    (deletion,) = changes["Delete"]
    fetched.pop("@odata.context")
    assert json.loads(deletion["oldValue"]) == fetched and deletion["newValue"] is None
    (addition,) = changes["Add"]
    assert addition["oldValue"] is None and json.loads(addition["newValue"])["id"] == policy["id"]


def test_read_only_app_reads_policies_but_cannot_write_them(graph_sandbox: RunningSandbox) -> None:
    writes = [
        ("POST", f"{CA}/policies", {"displayName": "x"}),
        ("POST", f"{CA}/namedLocations", {"displayName": "x"}),
        ("PATCH", "/policies/authorizationPolicy", {"allowedToUseSSPR": False}),
        (
            "PATCH",
            "/policies/authenticationFlowsPolicy",
            {"selfServiceSignUp": {"isEnabled": False}},
        ),
        ("PATCH", "/policies/identitySecurityDefaultsEnforcementPolicy", {"isEnabled": False}),
        ("PATCH", "/policies/crossTenantAccessPolicy/default", {"inboundTrust": None}),
        ("POST", "/policies/crossTenantAccessPolicy/partners", {"tenantId": "x"}),
    ]
    with graph_sandbox.client(read_only=True) as client:
        for method, path, body in writes:
            answer = client.request(method, path, json=body)
            assert answer.status_code == 403, path
            assert answer.json()["error"]["code"] == "Authorization_RequestDenied"
        assert client.get(f"{CA}/namedLocations").status_code == 200


def test_singleton_patches_merge_and_refuse_read_only_properties(
    graph_sandbox: RunningSandbox,
) -> None:
    partner = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    with graph_sandbox.client() as client:
        patched = client.patch(
            "/policies/authorizationPolicy",
            json={"defaultUserRolePermissions": {"allowedToCreateApps": False}},
        )
        assert patched.status_code == 204
        permissions = client.get("/policies/authorizationPolicy").json()[
            "defaultUserRolePermissions"
        ]
        assert permissions["allowedToCreateApps"] is False
        assert permissions["allowedToReadOtherUsers"] is True
        read_only = client.patch("/policies/authorizationPolicy", json={"id": "other"})
        assert read_only.status_code == 400
        assert "'id'" in read_only.json()["error"]["message"]
        fido = "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Fido2"
        assert client.patch(fido, json={"state": "enabled"}).status_code == 204
        assert client.get(fido).json()["state"] == "enabled"
        assert client.patch(fido, json={"state": "on"}).status_code == 400
        made = client.post(
            "/policies/crossTenantAccessPolicy/partners",
            json={"tenantId": partner, "inboundTrust": {"isMfaAccepted": True}},
        )
        assert made.status_code == 201
        assert made.json()["inboundTrust"] == {"isMfaAccepted": True}
        again = client.post(
            "/policies/crossTenantAccessPolicy/partners", json={"tenantId": partner}
        )
        assert again.status_code == 409
        listed = client.get("/policies/crossTenantAccessPolicy/partners").json()["value"]
        assert [item["tenantId"] for item in listed] == [partner]
        path = f"/policies/crossTenantAccessPolicy/partners/{partner}"
        assert client.delete(path).status_code == 204
        assert client.get(path).status_code == 404
    activities = [e["activityDisplayName"] for e in _audits(graph_sandbox, "authorizationPolicy")]
    assert activities == ["Update authorization policy"]


def test_policy_reads_answer_only_what_select_names(graph_sandbox: RunningSandbox) -> None:
    """``$select`` on every policy read of one entity: the singletons, one named location."""
    paths = [
        "/policies/authorizationPolicy",
        "/policies/authenticationFlowsPolicy",
        "/policies/identitySecurityDefaultsEnforcementPolicy",
        "/policies/crossTenantAccessPolicy",
        "/policies/authenticationMethodsPolicy",
    ]
    with graph_sandbox.client(read_only=True) as client:
        for path in paths:
            body = client.get(path, params={"$select": "displayName"}).json()
            assert set(body) == {"@odata.context", "displayName"}, path
            assert body["@odata.context"].endswith("(displayName)/$entity"), path
        default = client.get(
            "/policies/crossTenantAccessPolicy/default", params={"$select": "isServiceDefault"}
        ).json()
        assert set(default) == {"@odata.context", "isServiceDefault"}
        refused = client.get(
            "/policies/authorizationPolicy", params={"$select": "displayName,noSuchProperty"}
        )
        assert refused.status_code == 400
        assert "noSuchProperty" in refused.json()["error"]["message"]
    with graph_sandbox.client() as client:
        made = client.post(
            f"{CA}/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "displayName": "Office",
                "isTrusted": True,
                "ipRanges": [
                    {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "10.0.0.0/8"}
                ],
            },
        ).json()
        one = client.get(
            f"{CA}/namedLocations/{made['id']}", params={"$select": "displayName"}
        ).json()
        assert set(one) - {"@odata.type"} == {"@odata.context", "displayName"}
