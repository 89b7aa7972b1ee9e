"""Azure RBAC roles of the connection at subscription scope, through the sandbox's Resource
Manager: ``connect entra --mode full`` assigns the manifest's roles, a second run keeps them,
read-only mode only reports what is missing, and ``connect validate`` names a removed role with
the features it breaks. The Resource Manager answers themselves are checked against the
documented shapes and error codes of Microsoft.Authorization (api-version 2022-04-01)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
from typer.testing import CliRunner

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Mode, Service
from dirguard.cli.app import app
from dirguard_sandbox.arm_catalog import add_subscription
from tests.connect.admin_only_tenant import (
    admin_arm,
    admin_graph,
    admin_only_sandbox,
    connect_entra,
    validate_config,
    write_setup_config,
)
from tests.fixtures.graph_sandbox import RunningSandbox

__all__ = ["admin_only_sandbox"]

PROVIDER = "/subscriptions/{}/providers/Microsoft.Authorization"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


def _roles(mode: Mode) -> set[str]:
    return {
        row.name
        for row in MANIFEST.select(service=Service.GUARDIAN, mode=mode)
        if row.kind is Kind.AZURE_RBAC_ROLE
    }


def _held(arm: httpx.Client, subscription: str, principal: str) -> dict[str, str]:
    """Role name -> assignment name, read back from Resource Manager."""
    base = PROVIDER.format(subscription)
    names = {
        d["name"]: d["properties"]["roleName"]
        for d in arm.get(f"{base}/roleDefinitions").json()["value"]
    }
    assignments = arm.get(
        f"{base}/roleAssignments", params={"$filter": f"principalId eq '{principal}'"}
    ).json()["value"]
    return {
        names[a["properties"]["roleDefinitionId"].rsplit("/", 1)[-1]]: a["name"]
        for a in assignments
    }


def _subscription(sandbox: RunningSandbox) -> str:
    return next(iter(sandbox.state.subscriptions))


def test_full_mode_assigns_the_roles_and_validate_names_a_removed_one(
    admin_only_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sandbox = admin_only_sandbox
    subscription = _subscription(sandbox)
    config = write_setup_config(tmp_path)
    code, report, stderr = connect_entra(sandbox, config, "full", "--subscription", subscription)
    assert code == 0, stderr
    added = {a["detail"] for a in report["actions"] if a["step"] == "azure role"}
    assert added == {f"{role} on subscription {subscription}" for role in _roles(Mode.FULL)}
    sp_id = report["service_principal_id"]
    with admin_arm(sandbox) as arm:
        held = _held(arm, subscription, sp_id)
    assert set(held) == _roles(Mode.FULL)
    assert _roles(Mode.FULL) == {
        "Reader",
        "User Access Administrator",
        "Contributor",
        "Storage Blob Data Contributor",
    }

    code, again, stderr = connect_entra(sandbox, config, "full", "--subscription", subscription)
    assert code == 0, stderr
    assert again["changed"] is False
    assert 'subscriptions = ["' + subscription in again["config"]

    checked = validate_config(tmp_path, report)
    runner = CliRunner()
    ok = runner.invoke(app, ["--config", str(checked), "connect", "validate", "--json"])
    assert ok.exit_code == 0, ok.stdout + ok.stderr
    tenant = json.loads(ok.stdout)["tenants"][0]
    assert "azure-rbac-role" not in {row["kind"] for row in tenant["not_checked"]}

    with admin_arm(sandbox) as arm:
        removed = arm.delete(
            f"{PROVIDER.format(subscription)}/roleAssignments/{held['User Access Administrator']}"
        )
        assert removed.status_code == 200
        assert removed.json()["properties"]["principalId"] == sp_id
    failed = runner.invoke(app, ["--config", str(checked), "connect", "validate", "--json"])
    assert failed.exit_code == 2
    [missing] = json.loads(failed.stdout)["tenants"][0]["missing"]
    assert (missing["name"], missing["kind"]) == ("User Access Administrator", "azure-rbac-role")
    row = next(p for p in MANIFEST.permissions if p.name == "User Access Administrator")
    assert set(missing["features"]) == {f.key for f in MANIFEST.features_for(row.key, Mode.FULL)}
    assert missing["features"]


def test_read_only_mode_reports_missing_roles_without_assigning(
    admin_only_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    sandbox = admin_only_sandbox
    admin_id = next(iter(sandbox.state.passwords))
    second = add_subscription(sandbox.state, "Second Subscription", admin_id)
    config = write_setup_config(tmp_path)
    before = dict(sandbox.state.rbac_assignments)
    code, report, stderr = connect_entra(sandbox, config, "read-only", "--subscription", second)
    assert code == 0, stderr
    missing = {a["detail"] for a in report["actions"] if a["change"] == "missing"}
    assert missing == {f"{role} on subscription {second}" for role in _roles(Mode.READ_ONLY)}
    assert sandbox.state.rbac_assignments == before


def test_resource_manager_answers_as_documented(admin_only_sandbox: RunningSandbox) -> None:
    sandbox = admin_only_sandbox
    subscription = _subscription(sandbox)
    base = PROVIDER.format(subscription)
    with admin_arm(sandbox) as arm:
        [reader] = arm.get(
            f"{base}/roleDefinitions", params={"$filter": "roleName eq 'Reader'"}
        ).json()["value"]
        assert reader["id"] == f"{base}/roleDefinitions/{READER}"
        assert reader["type"] == "Microsoft.Authorization/roleDefinitions"
        assert reader["properties"]["permissions"][0]["actions"] == ["*/read"]

        unversioned = httpx.get(
            f"{sandbox.info.login_base}{base}/roleAssignments",
            headers={"Authorization": arm.headers["Authorization"]},
            verify=sandbox.tls(),
        )
        name = str(uuid.uuid4())
        body = {
            "properties": {
                "roleDefinitionId": f"{base}/roleDefinitions/{READER}",
                "principalId": next(iter(sandbox.state.passwords)),
            }
        }
        created = arm.put(f"{base}/roleAssignments/{name}", json=body)
        duplicate = arm.put(f"{base}/roleAssignments/{uuid.uuid4()}", json=body)
        not_a_guid = arm.put(f"{base}/roleAssignments/reader-for-admin", json=body)
        nobody = arm.put(
            f"{base}/roleAssignments/{uuid.uuid4()}",
            json={"properties": {**body["properties"], "principalId": str(uuid.uuid4())}},
        )
        gone = arm.get(
            f"/subscriptions/{uuid.uuid4()}/providers/Microsoft.Authorization/roleAssignments"
        )
        assert arm.delete(f"{base}/roleAssignments/{name}").status_code == 200
        assert arm.delete(f"{base}/roleAssignments/{name}").status_code == 204
    assert unversioned.status_code == 400
    assert unversioned.json()["error"]["code"] == "MissingApiVersionParameter"
    assert created.status_code == 201
    assert created.json()["id"] == f"{base}/roleAssignments/{name}"
    assert created.json()["properties"]["scope"] == f"/subscriptions/{subscription}"
    assert created.json()["properties"]["principalType"] == "User"
    codes = {
        answer.json()["error"]["code"]: answer.status_code
        for answer in (duplicate, not_a_guid, nobody, gone)
    }
    assert codes == {
        "RoleAssignmentExists": 409,
        "InvalidRoleAssignmentId": 400,
        "PrincipalNotFound": 400,
        "SubscriptionNotFound": 404,
    }
    with admin_graph(sandbox) as graph:
        graph_token = graph.headers["Authorization"]
    wrong_audience = httpx.get(
        f"{sandbox.info.login_base}{base}/roleAssignments",
        params={"api-version": "2022-04-01"},
        headers={"Authorization": graph_token},
        verify=sandbox.tls(),
    )
    assert wrong_audience.status_code == 401
    assert wrong_audience.json()["error"]["code"] == "InvalidAuthenticationTokenAudience"
