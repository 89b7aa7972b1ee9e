"""``dirguard connect validate`` checks delegated consent: after ``dirguard connect entra`` every
delegated permission of the manifest is found in the app's AllPrincipals oauth2PermissionGrants;
a scope the administrator takes out of a grant afterwards is named with the features it breaks
(exit 2), just like a missing application permission."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Lifecycle, Mode, Principal
from dirguard.cli.app import app
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
VICTIM = "Mail.Send.Shared"
"""A delegated Graph permission both the Administrator and the Guardian rows name."""


def _delegated_keys(mode: Mode) -> set[str]:
    """Keys of the delegated-consent rows of the API-access app, from the manifest."""
    return {
        row.key
        for row in MANIFEST.permissions
        if row.principal in (Principal.ADMINISTRATOR_API_APP, Principal.GUARDIAN_APP)
        and row.lifecycle is Lifecycle.DELEGATED_CONSENT
        and mode in row.modes
    }


def test_a_scope_removed_from_the_grant_is_named_with_its_features(
    admin_only_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sandbox = admin_only_sandbox
    code, report, stderr = connect_entra(sandbox, write_setup_config(tmp_path), "read-only")
    assert code == 0, stderr
    checked = validate_config(tmp_path, report)
    runner = CliRunner()

    ok = runner.invoke(app, ["--config", str(checked), "connect", "validate", "--json"])
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    tenant = json.loads(ok.stdout)["tenants"][0]
    delegated = _delegated_keys(Mode.READ_ONLY)
    assert delegated and delegated <= set(tenant["satisfied"])
    assert not {row["key"] for row in tenant["not_checked"]} & delegated

    with admin_graph(sandbox) as graph:
        sp = graph.get(f"/servicePrincipals(appId='{report['client_id']}')").json()
        resource = graph.get(f"/servicePrincipals(appId='{GRAPH_APP_ID}')").json()
        grants = graph.get(f"/servicePrincipals/{sp['id']}/oauth2PermissionGrants").json()
        [grant] = [
            g
            for g in grants["value"]
            if g["resourceId"] == resource["id"] and g["consentType"] == "AllPrincipals"
        ]
        scopes = grant["scope"].split()
        assert VICTIM in scopes
        kept = " ".join(s for s in scopes if s != VICTIM)
        graph.patch(
            f"/oauth2PermissionGrants/{grant['id']}", json={"scope": kept}
        ).raise_for_status()
        after = graph.get(f"/oauth2PermissionGrants/{grant['id']}").json()
    assert VICTIM not in after["scope"].split()

    failed = runner.invoke(app, ["--config", str(checked), "connect", "validate", "--json"])
    assert failed.exit_code == 2, failed.stdout + failed.stderr
    tenant = json.loads(failed.stdout)["tenants"][0]
    assert tenant["complete"] is False
    missing = tenant["missing"]
    assert {(m["name"], m["kind"]) for m in missing} == {(VICTIM, Kind.GRAPH_DELEGATED.value)}
    rows = [
        row
        for row in MANIFEST.permissions
        if row.key in delegated and row.name == VICTIM and row.kind is Kind.GRAPH_DELEGATED
    ]
    assert {m["key"] for m in missing} == {row.key for row in rows}
    for m in missing:
        expected = {f.key for f in MANIFEST.features_for(m["key"], Mode.READ_ONLY)}
        assert set(m["features"]) == expected and expected

    text = runner.invoke(app, ["--config", str(checked), "connect", "validate"])
    assert text.exit_code == 2
    assert f"✗ {VICTIM} (graph-delegated" in text.stdout
    assert "guardian.notifications" in text.stdout
    assert "partial consent" in text.stderr

    code, again, stderr = connect_entra(sandbox, write_setup_config(tmp_path), "read-only")
    assert code == 0, stderr
    assert any(
        a["step"] == "delegated consent" and a["change"] == "added" and VICTIM in a["detail"]
        for a in again["actions"]
    )
    healed = runner.invoke(app, ["--config", str(checked), "connect", "validate", "--json"])
    assert healed.exit_code == 0, healed.stdout + healed.stderr
