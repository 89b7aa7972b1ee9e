"""``dirguard connect validate`` reads the granted set from the sandbox tenant and compares it
with the manifest: missing permissions are named with the features they break (exit 2)."""

from __future__ import annotations

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Mode, Service
from tests.connect.conftest import Validate
from tests.fixtures.graph_sandbox import RunningSandbox

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"


def _granted(sandbox: RunningSandbox, client_id: str) -> set[str]:
    """Graph application permissions the app holds (its app role assignments on Microsoft
    Graph's service principal, which offers every permission of Graph's reference)."""
    with sandbox.client() as graph:
        resource = graph.get(f"/servicePrincipals(appId='{GRAPH_APP_ID}')").json()
        names = {role["id"]: role["value"] for role in resource["appRoles"]}
        sp = _sp_id(sandbox, client_id)
        assignments = graph.get(f"/servicePrincipals/{sp}/appRoleAssignments").json()["value"]
    return {names[a["appRoleId"]] for a in assignments if a["resourceId"] == resource["id"]}


def _sp_id(sandbox: RunningSandbox, client_id: str) -> str:
    with sandbox.client() as graph:
        answer = graph.get(f"/servicePrincipals(appId='{client_id}')")
        answer.raise_for_status()
        return str(answer.json()["id"])


def test_full_app_lacks_only_what_the_tenant_cannot_grant(
    graph_sandbox: RunningSandbox, run_validate: Validate
) -> None:
    """The sandbox's full-access app holds the permissions the sandbox's endpoints check, not
    every one the manifest names, so it cannot be complete against the manifest there; exactly
    what it lacks is named missing."""
    sp = _sp_id(graph_sandbox, graph_sandbox.info.full_client_id)
    with graph_sandbox.client() as graph:
        graph.post(
            "/roleManagement/directory/roleAssignments",
            json={
                "principalId": sp,
                "roleDefinitionId": GLOBAL_ADMINISTRATOR,
                "directoryScopeId": "/",
            },
        ).raise_for_status()
    granted = _granted(graph_sandbox, graph_sandbox.info.full_client_id)
    code, report, _ = run_validate(mode="full")
    tenant = report["tenants"][0]
    missing = {m["name"] for m in tenant["missing"] if m["kind"] == "graph-application"}
    required = {
        p.name
        for p in MANIFEST.select(service=Service.GUARDIAN, mode=Mode.FULL)
        if p.kind is Kind.GRAPH_APPLICATION and p.lifecycle.value == "required"
    }
    assert missing == required - granted
    assert "Global Administrator" not in missing
    assert "Directory.ReadWrite.All" in tenant["satisfied"] or any(
        key.endswith("Directory.ReadWrite.All") for key in tenant["satisfied"]
    )
    kinds = {row["kind"] for row in tenant["not_checked"]}
    assert {"exchange-application", "o365-management-application", "azure-rbac-role"} <= kinds
    assert code == (2 if tenant["missing"] else 0)


def test_removed_grant_is_named_with_its_features(
    graph_sandbox: RunningSandbox, run_validate: Validate
) -> None:
    _, before, _ = run_validate(mode="full")
    assert ("Group.ReadWrite.All", "graph-application") not in {
        (m["name"], m["kind"]) for m in before["tenants"][0]["missing"]
    }
    sp = _sp_id(graph_sandbox, graph_sandbox.info.full_client_id)
    with graph_sandbox.client() as graph:
        resource = graph.get(f"/servicePrincipals(appId='{GRAPH_APP_ID}')").json()
        role_id = next(r["id"] for r in resource["appRoles"] if r["value"] == "Group.ReadWrite.All")
        assignments = graph.get(f"/servicePrincipals/{sp}/appRoleAssignments").json()["value"]
        victim = next(a for a in assignments if a["appRoleId"] == role_id)
        graph.delete(
            f"/servicePrincipals/{sp}/appRoleAssignments/{victim['id']}"
        ).raise_for_status()
    code, report, _ = run_validate(mode="full")
    assert code == 2
    rows = [
        m
        for m in report["tenants"][0]["missing"]
        if (m["name"], m["kind"]) == ("Group.ReadWrite.All", "graph-application")
    ]
    assert len(rows) == 1
    expected = {f.key for f in MANIFEST.features_for(rows[0]["key"], Mode.FULL)}
    assert set(rows[0]["features"]) == expected and expected
    assert report["tenants"][0]["complete"] is False


def test_read_only_app_in_full_mode_misses_the_write_permissions(
    run_validate: Validate,
) -> None:
    code, report, _ = run_validate(read_only=True, mode="full", services='"administrator"')
    assert code == 2
    missing = {m["name"]: m for m in report["tenants"][0]["missing"]}
    for name in ("Directory.ReadWrite.All", "Group.ReadWrite.All", "User.ReadWrite.All"):
        assert name in missing, name
        assert missing[name]["features"]
    assert "Directory.Read.All" not in missing
