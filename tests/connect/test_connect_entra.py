"""``dirguard connect entra`` against a sandbox tenant that holds only its Global Administrator:
the API-access application ends with exactly the manifest's permissions for the mode (read back
through Graph), a second run changes nothing, and a grant removed afterwards makes ``connect
validate`` exit 2 naming it and the features it breaks."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Lifecycle, Mode, Principal, Service
from dirguard.cli.app import app
from dirguard.config.secret_store import SecretStore
from tests.connect.admin_only_tenant import (
    admin_graph,
    admin_only_sandbox,
    connect_entra,
    validate_config,
    write_setup_config,
)
from tests.fixtures.graph_sandbox import RunningSandbox

__all__ = ["admin_only_sandbox"]

RESOURCES = {
    Kind.GRAPH_APPLICATION: ("00000003-0000-0000-c000-000000000000", "Role"),
    Kind.GRAPH_DELEGATED: ("00000003-0000-0000-c000-000000000000", "Scope"),
    Kind.EXCHANGE_APPLICATION: ("00000002-0000-0ff1-ce00-000000000000", "Role"),
    Kind.EXCHANGE_DELEGATED: ("00000002-0000-0ff1-ce00-000000000000", "Scope"),
    Kind.O365_MANAGEMENT_APPLICATION: ("c5393580-f805-4401-95e8-94b7a6ef2fc2", "Role"),
    Kind.O365_MANAGEMENT_DELEGATED: ("c5393580-f805-4401-95e8-94b7a6ef2fc2", "Scope"),
    Kind.AZURE_SERVICE_MANAGEMENT_DELEGATED: ("797f4846-ba00-4fd7-ba43-dac1f8f63013", "Scope"),
}
BOTH = (Service.ADMINISTRATOR, Service.GUARDIAN)


def _expected(mode: Mode) -> tuple[set[tuple[str, str, str]], set[str]]:
    """(resource app id, Role/Scope, name) and directory roles, straight from the manifest."""
    grants: set[tuple[str, str, str]] = set()
    roles: set[str] = set()
    for service in BOTH:
        for row in MANIFEST.select(service=service, mode=mode):
            if row.principal is Principal.ADMINISTRATOR_SETUP_APP:
                continue
            if row.principal not in (Principal.ADMINISTRATOR_API_APP, Principal.GUARDIAN_APP):
                continue
            assert row.lifecycle is not Lifecycle.SETUP_ONLY
            if row.kind is Kind.DIRECTORY_ROLE:
                roles.add(row.name)
            elif row.kind in RESOURCES:
                grants.add((*RESOURCES[row.kind], row.name))
    return grants, roles


def _by_value(graph: httpx.Client, app_id: str) -> tuple[str, dict[tuple[str, str], str]]:
    sp = graph.get(f"/servicePrincipals(appId='{app_id}')").json()
    names = {("Role", r["id"]): r["value"] for r in sp.get("appRoles", [])}
    names.update({("Scope", s["id"]): s["value"] for s in sp.get("oauth2PermissionScopes", [])})
    return sp["id"], names


def _read_back(graph: httpx.Client, client_id: str) -> dict[str, Any]:
    """What the tenant says the application holds, by permission name."""
    application = graph.get(f"/applications(appId='{client_id}')").json()
    sp = graph.get(f"/servicePrincipals(appId='{client_id}')").json()
    resources = {app_id: _by_value(graph, app_id) for app_id, _ in RESOURCES.values()}
    by_sp = {sp_id: (app_id, names) for app_id, (sp_id, names) in resources.items()}
    requested = {
        (
            entry["resourceAppId"],
            a["type"],
            resources[entry["resourceAppId"]][1][(a["type"], a["id"])],
        )
        for entry in application["requiredResourceAccess"]
        for a in entry["resourceAccess"]
    }
    assignments = graph.get(f"/servicePrincipals/{sp['id']}/appRoleAssignments").json()["value"]
    consented = {
        (by_sp[a["resourceId"]][0], "Role", by_sp[a["resourceId"]][1][("Role", a["appRoleId"])])
        for a in assignments
    }
    grants = graph.get(f"/servicePrincipals/{sp['id']}/oauth2PermissionGrants").json()["value"]
    consented |= {
        (by_sp[g["resourceId"]][0], "Scope", name)
        for g in grants
        if g["consentType"] == "AllPrincipals"
        for name in g["scope"].split()
    }
    definitions = {
        d["id"]: d["displayName"]
        for d in graph.get("/roleManagement/directory/roleDefinitions").json()["value"]
    }
    roles = {
        definitions[a["roleDefinitionId"]]
        for a in graph.get("/roleManagement/directory/roleAssignments").json()["value"]
        if a["principalId"] == sp["id"]
    }
    return {
        "requested": requested,
        "consented": consented,
        "roles": roles,
        "keys": application["keyCredentials"],
        "sp_id": sp["id"],
        "assignments": assignments,
    }


def test_connect_entra_grants_exactly_the_manifest_and_validate_names_a_removed_grant(
    admin_only_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sandbox = admin_only_sandbox
    config = write_setup_config(tmp_path)
    code, report, stderr = connect_entra(sandbox, config, "full")
    assert code == 0, stderr
    assert report["changed"] is True
    assert "/devicelogin" in stderr
    client_id = report["client_id"]

    expected, expected_roles = _expected(Mode.FULL)
    with admin_graph(sandbox) as graph:
        held = _read_back(graph, client_id)
    assert held["requested"] == expected
    assert held["consented"] == expected
    assert held["roles"] == expected_roles == {"Global Administrator"}
    assert len(held["keys"]) == 1

    store = SecretStore(tmp_path / "secret.key", tmp_path / "secrets.json")
    pem = store.get(report["certificate"].removeprefix("secret:"))
    key_lines = [line for line in pem.splitlines() if line and "-----" not in line]
    assert "PRIVATE KEY" in pem
    assert "PRIVATE KEY" not in stderr + json.dumps(report)
    assert not any(line in stderr + json.dumps(report) for line in key_lines[-4:])
    assert "PRIVATE KEY" not in (tmp_path / "secrets.json").read_text(encoding="utf-8")

    seq = sandbox.state.seq
    code, again, stderr = connect_entra(sandbox, config, "full")
    assert code == 0, stderr
    assert again["changed"] is False
    assert again["client_id"] == client_id
    assert {a["change"] for a in again["actions"]} == {"kept"}
    assert sandbox.state.seq == seq, "the second run wrote to the tenant"
    code, text, stderr = connect_entra(sandbox, config, "full", as_json=False)
    assert code == 0, stderr
    assert "Nothing to change" in text
    assert f'client_id = "{client_id}"' in text
    assert "PRIVATE KEY" not in text + stderr
    assert sandbox.state.seq == seq

    checked = validate_config(tmp_path, report)
    runner = CliRunner()
    ok = runner.invoke(app, ["--config", str(checked), "connect", "validate", "--json"])
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    validated = json.loads(ok.stdout)["tenants"][0]
    assert validated["complete"] is True
    assert any(
        key.endswith("exchange-application:Exchange.ManageAsApp") for key in validated["satisfied"]
    )
    assert any(
        key.endswith("o365-management-application:ActivityFeed.Read")
        for key in validated["satisfied"]
    )

    victim = "Group.ReadWrite.All"
    with admin_graph(sandbox) as graph:
        graph_sp = graph.get("/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')")
        role_id = next(r["id"] for r in graph_sp.json()["appRoles"] if r["value"] == victim)
        [assignment] = [a for a in held["assignments"] if a["appRoleId"] == role_id]
        graph.delete(
            f"/servicePrincipals/{held['sp_id']}/appRoleAssignments/{assignment['id']}"
        ).raise_for_status()
    failed = runner.invoke(app, ["--config", str(checked), "connect", "validate", "--json"])
    assert failed.exit_code == 2
    missing = json.loads(failed.stdout)["tenants"][0]["missing"]
    assert {m["name"] for m in missing} == {victim}
    breaks = {f for m in missing for f in m["features"]}
    needed_by = {
        f.key
        for row in MANIFEST.permissions
        if row.name == victim and row.kind is Kind.GRAPH_APPLICATION
        for f in MANIFEST.features_for(row.key, Mode.FULL)
    }
    assert breaks == needed_by and breaks
    text = runner.invoke(app, ["--config", str(checked), "connect", "validate"])
    assert text.exit_code == 2
    assert f"✗ {victim}" in text.stdout
    assert "partial consent" in text.stderr


def test_mode_change_adds_what_is_missing_and_removes_only_when_asked(
    admin_only_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sandbox = admin_only_sandbox
    config = write_setup_config(tmp_path)
    code, full, stderr = connect_entra(sandbox, config, "full")
    assert code == 0, stderr
    full_grants, _ = _expected(Mode.FULL)
    read_only_grants, read_only_roles = _expected(Mode.READ_ONLY)
    assert full_grants != read_only_grants

    code, report, stderr = connect_entra(sandbox, config, "read-only")
    assert code == 0, stderr
    added = [a for a in report["actions"] if a["change"] == "added"]
    # Read-only mode holds Global Reader and the read counterparts of the seed's write
    # permissions (RoleManagement.Read.Directory, ...), which full mode lacks.
    assert {a["step"] for a in added} == {"directory role", "permissions", "admin consent"}
    consented = next(a["detail"] for a in added if a["step"] == "admin consent")
    assert "RoleManagement.Read.Directory" in consented
    assert not [a for a in report["actions"] if a["change"] == "removed"]
    with admin_graph(sandbox) as graph:
        held = _read_back(graph, full["client_id"])
    assert held["roles"] == {"Global Administrator", "Global Reader"}
    assert held["consented"] == full_grants | read_only_grants

    code, report, stderr = connect_entra(sandbox, config, "read-only", "--remove-extra")
    assert code == 0, stderr
    assert any(a["change"] == "removed" for a in report["actions"])
    with admin_graph(sandbox) as graph:
        held = _read_back(graph, full["client_id"])
    assert held["requested"] == read_only_grants
    assert held["consented"] == read_only_grants
    assert held["roles"] == read_only_roles == {"Global Reader"}
    assert len(held["keys"]) == 1, "certificates of earlier runs stay only without --remove-extra"


def test_unknown_service_and_bad_tenant_are_named(tmp_path: Path) -> None:
    config = write_setup_config(tmp_path)
    runner = CliRunner()
    bad_service = runner.invoke(
        app,
        [
            *("--config", str(config), "connect", "entra"),
            *("--tenant", "contoso.onmicrosoft.com", "--mode", "full"),
            *("--services", "guardian,payroll"),
        ],
    )
    assert bad_service.exit_code == 3
    assert "unknown service 'payroll'" in bad_service.stderr
    bad_tenant = runner.invoke(
        app, ["--config", str(config), "connect", "entra", "--tenant", "prod", "--mode", "full"]
    )
    assert bad_tenant.exit_code == 3
    assert "'prod' is neither a configured tenant" in bad_tenant.stderr
    tenant = ["--config", str(config), "connect", "entra", "--tenant", str(uuid.uuid4())]
    plain = runner.invoke(app, [*tenant, "--mode", "full", "--graph-url", "http://graph.test"])
    assert plain.exit_code == 3
    assert "--graph-url must be an https:// URL" in plain.stderr
    bad_subscription = runner.invoke(app, [*tenant, "--mode", "full", "--subscription", "prod"])
    assert bad_subscription.exit_code == 3
    assert "--subscription 'prod' is not a subscription id" in bad_subscription.stderr
    bad_mode = runner.invoke(app, [*tenant, "--mode", "admin"])
    assert bad_mode.exit_code == 2
    assert "read-only" in bad_mode.stderr
