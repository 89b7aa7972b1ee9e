"""Applications, service principals and consent through the sandbox's Graph API: what a setup
application does to register the API-access app, and what its tokens then hold."""

from __future__ import annotations

import httpx
import jwt

from dirguard_sandbox.permissions_table import GRAPH_APP_ID, PERMISSIONS_BY_VALUE
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.identity_helpers import graph_sp_id, make_certificate, register_app


def _token(sandbox: RunningSandbox, client_id: str, secret: str) -> httpx.Response:
    info = sandbox.info
    return httpx.post(
        f"{info.login_base}/{info.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=sandbox.tls(),
    )


def _audits(client: httpx.Client, activity: str) -> list[dict[str, object]]:
    entries = client.get("/auditLogs/directoryAudits", params={"$top": "999"}).json()["value"]
    return [entry for entry in entries if entry["activityDisplayName"] == activity]


def test_ready_apps_are_listed_with_their_permissions_and_a_hidden_secret(
    graph_sandbox: RunningSandbox,
) -> None:
    info = graph_sandbox.info
    with graph_sandbox.client() as client:
        answer = client.get(f"/applications(appId='{info.read_only_client_id}')")
        assert answer.status_code == 200, answer.text
        app = answer.json()
        listed = client.get("/applications", params={"$select": "appId,displayName"}).json()
    assert info.full_client_id in {item["appId"] for item in listed["value"]}
    access = app["requiredResourceAccess"][0]
    assert access["resourceAppId"] == GRAPH_APP_ID
    assert {item["id"] for item in access["resourceAccess"]} == {
        PERMISSIONS_BY_VALUE[value].id
        for value in graph_sandbox.state.applications[info.read_only_client_id].granted
    }
    [secret] = app["passwordCredentials"]
    assert secret["secretText"] is None
    assert secret["hint"] == info.read_only_client_secret[:3]
    assert info.read_only_client_secret not in answer.text


def test_add_password_gives_a_working_secret_once_and_remove_password_revokes_it(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        app, _sp = register_app(client, "secret rotation", permissions=("User.Read.All",))
        added = client.post(
            f"/applications/{app['id']}/addPassword",
            json={"passwordCredential": {"displayName": "rotation"}},
        )
        assert added.status_code == 200, added.text
        secret = added.json()["secretText"]
        shown = client.get(f"/applications/{app['id']}").json()["passwordCredentials"]
        assert [(c["displayName"], c["secretText"]) for c in shown] == [("rotation", None)]
        assert _token(graph_sandbox, app["appId"], secret).status_code == 200
        removed = client.post(
            f"/applications/{app['id']}/removePassword", json={"keyId": added.json()["keyId"]}
        )
        assert removed.status_code == 204
        again = client.post(
            f"/applications/{app['id']}/removePassword", json={"keyId": added.json()["keyId"]}
        )
        assert again.status_code == 400
        audits = _audits(client, "Update application – Certificates and secrets management ")
    assert _token(graph_sandbox, app["appId"], secret).json()["error"] == "invalid_client"
    assert any(entry["targetResources"][0]["id"] == app["id"] for entry in audits)  # type: ignore[index]


def test_app_role_assignments_feed_the_roles_claim_and_can_be_revoked(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        app, sp = register_app(client, "roles claim", permissions=("Group.Read.All",))
        secret = client.post(f"/applications/{app['id']}/addPassword", json={}).json()["secretText"]
        token = _token(graph_sandbox, app["appId"], secret).json()["access_token"]
        assert jwt.decode(token, options={"verify_signature": False})["roles"] == ["Group.Read.All"]
        assigned = client.get(f"/servicePrincipals/{sp['id']}/appRoleAssignments").json()
        [assignment] = assigned["value"]
        assert assignment["resourceId"] == graph_sp_id(client)
        assert assignment["principalType"] == "ServicePrincipal"
        duplicate = client.post(
            f"/servicePrincipals/{sp['id']}/appRoleAssignments",
            json={
                "principalId": sp["id"],
                "resourceId": assignment["resourceId"],
                "appRoleId": assignment["appRoleId"],
            },
        )
        assert duplicate.status_code == 400
        revoked = client.delete(
            f"/servicePrincipals/{sp['id']}/appRoleAssignments/{assignment['id']}"
        )
        assert revoked.status_code == 204
        assert _audits(client, "Remove app role assignment from service principal")
    token = _token(graph_sandbox, app["appId"], secret).json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["roles"] == []
    with httpx.Client(
        base_url=graph_sandbox.info.graph_base,
        verify=graph_sandbox.tls(),
        headers={"Authorization": f"Bearer {token}"},
    ) as revoked_client:
        denied = revoked_client.get("/groups")
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"


def test_unknown_app_role_and_missing_service_principal_are_named(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        resource = graph_sp_id(client)
        app = client.post("/applications", json={"displayName": "no sp yet"}).json()
        secret = client.post(f"/applications/{app['id']}/addPassword", json={}).json()["secretText"]
        missing_sp = _token(graph_sandbox, app["appId"], secret)
        assert missing_sp.json()["error_codes"] == [7000229]
        sp = client.post("/servicePrincipals", json={"appId": app["appId"]}).json()
        wrong_role = client.post(
            f"/servicePrincipals/{resource}/appRoleAssignedTo",
            json={
                "principalId": sp["id"],
                "resourceId": resource,
                "appRoleId": "11111111-2222-3333-4444-555555555555",
            },
        )
        second_sp = client.post("/servicePrincipals", json={"appId": app["appId"]})
        nameless = client.post("/applications", json={"description": "no name"})
    assert wrong_role.status_code == 400
    assert "11111111-2222-3333-4444-555555555555" in wrong_role.json()["error"]["message"]
    assert second_sp.status_code == 400
    assert nameless.status_code == 400
    assert "displayName" in nameless.json()["error"]["message"]


def test_oauth2_permission_grants_are_created_patched_listed_and_deleted(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        _app, sp = register_app(client, "delegated grants")
        resource = graph_sp_id(client)
        created = client.post(
            "/oauth2PermissionGrants",
            json={
                "clientId": sp["id"],
                "consentType": "AllPrincipals",
                "resourceId": resource,
                "scope": "User.Read.All  Group.Read.All",
            },
        )
        assert created.status_code == 201, created.text
        grant = created.json()
        assert grant["scope"] == "User.Read.All Group.Read.All"
        assert grant["principalId"] is None
        patched = client.patch(
            f"/oauth2PermissionGrants/{grant['id']}", json={"scope": "User.Read.All"}
        )
        assert patched.status_code == 204
        listed = client.get(
            "/oauth2PermissionGrants", params={"$filter": f"clientId eq '{sp['id']}'"}
        ).json()["value"]
        assert [item["scope"] for item in listed] == ["User.Read.All"]
        principal_without_user = client.post(
            "/oauth2PermissionGrants",
            json={
                "clientId": sp["id"],
                "consentType": "Principal",
                "resourceId": resource,
                "scope": "User.Read.All",
            },
        )
        assert principal_without_user.status_code == 400
        assert client.delete(f"/oauth2PermissionGrants/{grant['id']}").status_code == 204
        assert client.get(f"/oauth2PermissionGrants/{grant['id']}").status_code == 404
        assert _audits(client, "Add delegated permission grant")
        assert _audits(client, "Remove delegated permission grant")


def test_writes_need_their_documented_permission(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client(read_only=True) as client:
        assert client.get("/applications").status_code == 200
        assert client.get("/directoryRoles").status_code == 200
        denied = [
            client.post("/applications", json={"displayName": "x"}),
            client.post("/oauth2PermissionGrants", json={}),
            client.post(
                "/roleManagement/directory/roleAssignments",
                json={"principalId": "x", "roleDefinitionId": "y", "directoryScopeId": "/"},
            ),
        ]
    assert [answer.status_code for answer in denied] == [403, 403, 403]


def test_certificate_added_by_patch_is_shown_without_its_key(
    graph_sandbox: RunningSandbox,
) -> None:
    certificate = make_certificate()
    with graph_sandbox.client() as client:
        app = client.post("/applications", json={"displayName": "certificate holder"}).json()
        patched = client.patch(
            f"/applications/{app['id']}",
            json={
                "keyCredentials": [
                    {
                        "type": "AsymmetricX509Cert",
                        "usage": "Verify",
                        "key": certificate.der_base64,
                        "displayName": "CN=dirguard test app",
                    }
                ]
            },
        )
        assert patched.status_code == 204, patched.text
        [shown] = client.get(f"/applications/{app['id']}").json()["keyCredentials"]
        bad = client.patch(
            f"/applications/{app['id']}",
            json={
                "keyCredentials": [{"type": "AsymmetricX509Cert", "usage": "Verify", "key": "eA=="}]
            },
        )
    assert shown["key"] is None
    assert shown["type"] == "AsymmetricX509Cert"
    assert shown["endDateTime"].startswith(
        certificate.certificate.not_valid_after_utc.strftime("%Y-%m-%d")
    )
    assert bad.status_code == 400
    assert "X.509" in bad.json()["error"]["message"]
