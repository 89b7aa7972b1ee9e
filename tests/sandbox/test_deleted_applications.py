"""Deleted applications and service principals in directory/deletedItems: listed by type cast,
read, restored (with their credentials and app role assignments), permanently deleted, expired
after 30 days; audited; and reported by delta as ``changed`` while restorable."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import jwt

from dirguard_sandbox.state_file import state_from_json, state_to_json
from tests.fixtures.graph_sandbox import InProcessTenant, RunningSandbox
from tests.sandbox.identity_helpers import register_app

DELETED = "/directory/deletedItems"


def _round(client: httpx.Client, url: str) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    while True:
        page = client.get(url)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["value"]
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]


def _activities(client: httpx.Client, object_id: str) -> list[str]:
    values = client.get("/auditLogs/directoryAudits", params={"$top": "999"}).json()["value"]
    return [
        entry["activityDisplayName"]
        for entry in reversed(values)
        if any(t["id"] == object_id for t in entry["targetResources"])
    ]


def _app_token(sandbox: RunningSandbox, app_id: str, secret: str) -> httpx.Response:
    info = sandbox.info
    return httpx.post(
        f"{info.login_base}/{info.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": secret,
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=sandbox.tls(),
    )


def test_a_deleted_application_is_restored_with_its_secret(graph_sandbox: RunningSandbox) -> None:
    """Deleting an application deletes its service principal too; restoring the application does
    not bring the service principal back, which is restored on its own."""
    with graph_sandbox.client() as client:
        app, sp = register_app(client, "Payroll export", permissions=("User.Read.All",))
        secret = client.post(f"/applications/{app['id']}/addPassword", json={}).json()["secretText"]
        assert _app_token(graph_sandbox, app["appId"], secret).status_code == 200
        assert client.delete(f"/applications/{app['id']}").status_code == 204
        live = client.get(f"/applications/{app['id']}")
        listed = client.get(f"{DELETED}/microsoft.graph.application").json()["value"]
        principals = client.get(f"{DELETED}/microsoft.graph.servicePrincipal").json()["value"]
        single = client.get(f"{DELETED}/{app['id']}").json()
        refused = _app_token(graph_sandbox, app["appId"], secret)
        restored = client.post(f"{DELETED}/{app['id']}/restore")
        back = client.get(f"/applications/{app['id']}")
        without_principal = _app_token(graph_sandbox, app["appId"], secret)
        principal_restored = client.post(f"{DELETED}/{sp['id']}/restore")
        token_again = _app_token(graph_sandbox, app["appId"], secret)
        activities = _activities(client, app["id"])
    assert live.status_code == 404
    entry = next(item for item in listed if item["id"] == app["id"])
    assert entry["@odata.type"] == "#microsoft.graph.application"
    assert entry["appId"] == app["appId"] and entry["deletedDateTime"]
    assert sp["id"] in {item["id"] for item in principals}
    assert single["@odata.type"] == "#microsoft.graph.application"
    assert single["displayName"] == "Payroll export"
    assert refused.json()["error"] == "unauthorized_client"
    assert restored.status_code == 200, restored.text
    assert restored.json()["@odata.type"] == "#microsoft.graph.application"
    assert back.status_code == 200 and back.json()["deletedDateTime"] is None
    assert without_principal.json()["error_codes"] == [7000229]
    assert principal_restored.status_code == 200, principal_restored.text
    assert token_again.status_code == 200, token_again.text
    assert (
        "User.Read.All"
        in jwt.decode(token_again.json()["access_token"], options={"verify_signature": False})[
            "roles"
        ]
    )
    assert activities[-2:] == ["Delete application", "Restore application"]


def test_a_restored_service_principal_gets_its_app_roles_back(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        _, sp = register_app(client, "Nightly audit", permissions=("AuditLog.Read.All",))
        assignments = f"/servicePrincipals/{sp['id']}/appRoleAssignments"
        before = client.get(assignments).json()["value"]
        assert client.delete(f"/servicePrincipals/{sp['id']}").status_code == 204
        listed = client.get(f"{DELETED}/microsoft.graph.servicePrincipal").json()["value"]
        gone = client.get(assignments)
        restored = client.post(f"{DELETED}/{sp['id']}/restore")
        after = client.get(assignments).json()["value"]
        activities = _activities(client, sp["id"])
    assert [a["appRoleId"] for a in before] != []
    assert [item["@odata.type"] for item in listed if item["id"] == sp["id"]] == [
        "#microsoft.graph.servicePrincipal"
    ]
    assert gone.status_code == 404
    assert restored.status_code == 200, restored.text
    assert [a["appRoleId"] for a in after] == [a["appRoleId"] for a in before]
    assert activities[-2:] == ["Remove service principal", "Restore service principal"]


def test_permanent_delete_and_restore_conflicts(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as client:
        app, sp = register_app(client, "Short-lived")
        client.delete(f"/servicePrincipals/{sp['id']}")
        replacement = client.post("/servicePrincipals", json={"appId": app["appId"]})
        conflict = client.post(f"{DELETED}/{sp['id']}/restore")
        client.delete(f"/applications/{app['id']}")
        purged = client.delete(f"{DELETED}/{app['id']}")
        after_purge = client.get(f"{DELETED}/{app['id']}")
        restore_purged = client.post(f"{DELETED}/{app['id']}/restore")
        activities = _activities(client, app["id"])
    assert replacement.status_code == 201, replacement.text
    assert conflict.status_code == 400
    assert app["appId"] in conflict.json()["error"]["message"]
    assert purged.status_code == 204
    assert after_purge.status_code == 404 and restore_purged.status_code == 404
    assert activities[-1] == "Hard delete application"


def test_restore_and_purge_need_the_permission_of_the_kind(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as admin:
        app, _ = register_app(admin, "To be restored")
        helper, _ = register_app(admin, "User restorer", permissions=("User.ReadWrite.All",))
        secret = admin.post(f"/applications/{helper['id']}/addPassword", json={}).json()
        admin.delete(f"/applications/{app['id']}")
    token = _app_token(graph_sandbox, helper["appId"], secret["secretText"]).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    base = graph_sandbox.info.graph_base
    verify = graph_sandbox.tls()
    restore = httpx.post(f"{base}{DELETED}/{app['id']}/restore", headers=headers, verify=verify)
    purge = httpx.delete(f"{base}{DELETED}/{app['id']}", headers=headers, verify=verify)
    with graph_sandbox.client(read_only=True) as reader:
        listed = reader.get(f"{DELETED}/microsoft.graph.application")
        reader_restore = reader.post(f"{DELETED}/{app['id']}/restore")
    for answer in (restore, purge, reader_restore):
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "Authorization_RequestDenied"
    assert app["id"] in {item["id"] for item in listed.json()["value"]}


def test_delta_reports_a_soft_delete_as_changed_and_the_restore(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        app, sp = register_app(client, "Delta restore")
        _, app_link = _round(client, "/applications/delta")
        _, sp_link = _round(client, "/servicePrincipals/delta")
        client.delete(f"/servicePrincipals/{sp['id']}")
        client.delete(f"/applications/{app['id']}")
        app_removed, app_next = _round(client, app_link)
        sp_removed, sp_next = _round(client, sp_link)
        client.post(f"{DELETED}/{app['id']}/restore")
        client.post(f"{DELETED}/{sp['id']}/restore")
        client.delete(f"/servicePrincipals/{sp['id']}")
        client.delete(f"{DELETED}/{sp['id']}")
        app_back, _ = _round(client, app_next)
        sp_purged, _ = _round(client, sp_next)
    assert app_removed == [{"id": app["id"], "@removed": {"reason": "changed"}}]
    assert sp_removed == [{"id": sp["id"], "@removed": {"reason": "changed"}}]
    assert [(item["id"], item["displayName"]) for item in app_back] == [
        (app["id"], "Delta restore")
    ]
    assert sp_purged == [{"id": sp["id"], "@removed": {"reason": "deleted"}}]


def test_deleted_applications_expire_after_30_days(
    inprocess_tenant: Callable[..., InProcessTenant],
) -> None:
    tenant = inprocess_tenant(throttling=False)
    headers = tenant.headers()
    created = tenant.http.post("/v1.0/applications", json={"displayName": "Old"}, headers=headers)
    app_id = created.json()["id"]
    tenant.http.delete(f"/v1.0/applications/{app_id}", headers=headers)

    def listed() -> set[str]:
        answer = tenant.http.get(f"/v1.0{DELETED}/microsoft.graph.application", headers=headers)
        assert answer.status_code == 200, answer.text
        return {item["id"] for item in answer.json()["value"]}

    selected = tenant.http.get(
        f"/v1.0{DELETED}/microsoft.graph.application",
        params={"$select": "id,displayName,deletedDateTime"},
        headers=headers,
    )
    assert selected.status_code == 200, selected.text
    assert [set(item) for item in selected.json()["value"]] == [
        {"@odata.type", "id", "displayName", "deletedDateTime"}
    ]
    saved = state_from_json(json.loads(json.dumps(state_to_json(tenant.state))))
    assert saved.deleted[app_id]["record"]["displayName"] == "Old"
    assert saved.deleted_links[app_id]["application"]["object_id"] == app_id
    tenant.clock.advance(29 * 86400)
    assert app_id in listed()
    tenant.clock.advance(2 * 86400)
    assert app_id not in listed()
    restore = tenant.http.post(f"/v1.0{DELETED}/{app_id}/restore", headers=headers)
    assert restore.status_code == 404


def test_applications_and_principals_sort_by_display_name_as_an_advanced_query(
    graph_sandbox: RunningSandbox,
) -> None:
    advanced = {"$count": "true", "$orderby": "displayName", "$top": "999"}
    with graph_sandbox.client() as client:
        for collection in ("/applications", "/servicePrincipals"):
            plain = client.get(collection, params={"$orderby": "displayName"})
            assert plain.status_code == 400, plain.text
            assert plain.json()["error"]["code"] == "Request_UnsupportedQuery"
            answer = client.get(
                collection, params=advanced, headers={"ConsistencyLevel": "eventual"}
            )
            assert answer.status_code == 200, answer.text
            names = [item["displayName"] for item in answer.json()["value"]]
            assert len(names) == answer.json()["@odata.count"] > 2
            assert names == sorted(names, key=str.casefold)
