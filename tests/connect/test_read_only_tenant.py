"""A read-only Guardian connection that really is read-only, against the sandbox tenant.

``connect entra --mode read-only`` registers and consents exactly the manifest's read-only rows
(the read counterparts of the seed's write permissions, Global Reader); the token the app gets
carries no write permission, so Graph answers a write with it 403, and the sandbox's audit log
shows no write by the app. ``connect validate`` reports a write permission granted to a
read-only app as too much (exit 1) and a missing read permission as partial consent (exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Mode, Principal, Service
from dirguard.catalog.permission_rows_guardian_reads import graph_permission_writes
from dirguard.cli.app import app
from dirguard.config.loader import load_config
from dirguard.providers.entra.graph_client import GraphError
from dirguard.services.runtime import connect_entra as open_tenant
from tests.connect.admin_only_tenant import (
    admin_graph,
    admin_only_sandbox,
    connect_entra,
    validate_config,
    write_setup_config,
)
from tests.fixtures.graph_sandbox import RunningSandbox

__all__ = ["admin_only_sandbox"]

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


def _app_writes(sandbox: RunningSandbox, client_id: str) -> list[str]:
    """Activities of the sandbox's directory audit log initiated by the app (held-back entries
    included: read from the tenant's state, not through the delayed API)."""
    return [
        str(entry["activityDisplayName"])
        for entry in list(sandbox.state.audits)
        if ((entry.get("initiatedBy") or {}).get("app") or {}).get("appId") == client_id
    ]


def _graph_roles(sandbox: RunningSandbox, client_id: str) -> tuple[str, dict[str, str], set[str]]:
    """(the app's service principal id, Graph app role id -> value, values it holds)."""
    with admin_graph(sandbox) as graph:
        sp = graph.get(f"/servicePrincipals(appId='{client_id}')").json()
        resource = graph.get(f"/servicePrincipals(appId='{GRAPH_APP_ID}')").json()
        names = {r["id"]: r["value"] for r in resource["appRoles"]}
        held = {
            names[a["appRoleId"]]
            for a in graph.get(f"/servicePrincipals/{sp['id']}/appRoleAssignments").json()["value"]
            if a["resourceId"] == resource["id"]
        }
    return str(sp["id"]), {v: k for k, v in names.items()}, held


def _validate(config: Path) -> tuple[int, dict[str, object], str]:
    """``connect validate --json``: (exit code, the tenant's JSON, what the text run said on
    standard error, which must exit alike)."""
    args = ["--config", str(config), "connect", "validate"]
    result = CliRunner().invoke(app, [*args, "--json"])
    text = CliRunner().invoke(app, args)
    assert text.exit_code == result.exit_code, text.stdout + text.stderr
    return result.exit_code, json.loads(result.stdout)["tenants"][0], text.stderr


def test_read_only_app_holds_only_reads_and_cannot_write(
    admin_only_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sandbox = admin_only_sandbox
    setup = write_setup_config(tmp_path)
    code, report, stderr = connect_entra(sandbox, setup, "read-only", services="guardian")
    assert code == 0, stderr
    client_id = report["client_id"]
    sp_id, role_ids, held = _graph_roles(sandbox, client_id)
    expected = {
        p.name
        for p in MANIFEST.select(service=Service.GUARDIAN, mode=Mode.READ_ONLY)
        if p.principal is Principal.GUARDIAN_APP and p.kind is Kind.GRAPH_APPLICATION
    }
    assert held == expected
    assert {"Directory.Read.All", "Application.Read.All", "RoleManagement.Read.Directory"} <= held
    assert not [name for name in held if graph_permission_writes(name)]

    config = validate_config(tmp_path, report)
    code, tenant, stderr = _validate(config)
    assert code == 0, stderr
    assert tenant["complete"] is True and tenant["excess"] == []

    # The app's own token (a certificate credential, as connect entra set it up) reads, and
    # a write with it is refused by Graph.
    loaded = load_config(config)
    [entry] = loaded.config.entra.tenants
    graph = open_tenant(loaded.config, entry)
    try:
        users = graph.get("/users", params={"$select": "id,displayName"})["value"]
        assert users
        with pytest.raises(GraphError) as refused:
            graph.request(
                "PATCH", f"/users/{users[0]['id']}", json={"jobTitle": "written read-only"}
            )
        assert refused.value.status == 403
    finally:
        graph.close()
    assert _app_writes(sandbox, client_id) == []

    # A write permission granted to the read-only app is too much (exit 1); a read permission
    # taken away is partial consent (exit 2).
    with admin_graph(sandbox) as admin:
        graph_sp = admin.get(f"/servicePrincipals(appId='{GRAPH_APP_ID}')").json()["id"]
        added = admin.post(
            f"/servicePrincipals/{sp_id}/appRoleAssignments",
            json={
                "principalId": sp_id,
                "resourceId": graph_sp,
                "appRoleId": role_ids["Directory.ReadWrite.All"],
            },
        )
        added.raise_for_status()
    code, tenant, stderr = _validate(config)
    assert code == 1, stderr
    assert tenant["complete"] is True
    assert [e["name"] for e in tenant["excess"]] == ["Directory.ReadWrite.All"]
    assert "read-only mode holds 1 permission(s) or role(s) that write" in stderr
    with admin_graph(sandbox) as admin:
        admin.delete(
            f"/servicePrincipals/{sp_id}/appRoleAssignments/{added.json()['id']}"
        ).raise_for_status()
        assignments = admin.get(f"/servicePrincipals/{sp_id}/appRoleAssignments").json()["value"]
        [group_read] = [a for a in assignments if a["appRoleId"] == role_ids["Group.Read.All"]]
        admin.delete(
            f"/servicePrincipals/{sp_id}/appRoleAssignments/{group_read['id']}"
        ).raise_for_status()
    code, tenant, stderr = _validate(config)
    assert code == 2, stderr
    assert [m["name"] for m in tenant["missing"]] == ["Group.Read.All"]  # type: ignore[union-attr]
    assert "partial consent" in stderr
    assert _app_writes(sandbox, client_id) == []
