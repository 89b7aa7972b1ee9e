"""``dirguard connect validate``: token errors, MFA posture and credential expiry, read from the
sandbox tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from dirguard.cli.app import app
from tests.connect.conftest import SECRET_ENV, Validate, write_config
from tests.fixtures.graph_sandbox import RunningSandbox


def test_wrong_secret_names_tenant_and_code_but_not_the_secret(run_validate: Validate) -> None:
    wrong = "NotTheRealSecret~0123456789abcdef"
    code, _, stderr = run_validate(secret=wrong)
    assert code == 1
    assert "sandbox" in stderr
    assert "AADSTS7000215" in stderr
    assert wrong not in stderr


def test_security_defaults_are_reported_on_then_off(
    graph_sandbox: RunningSandbox, run_validate: Validate
) -> None:
    _, report, _ = run_validate(mode="read-only")
    assert report["tenants"][0]["mfa"]["security_defaults"] is True
    with graph_sandbox.client() as graph:
        graph.patch(
            "/policies/identitySecurityDefaultsEnforcementPolicy", json={"isEnabled": False}
        ).raise_for_status()
    _, report, _ = run_validate(mode="read-only")
    assert report["tenants"][0]["mfa"]["security_defaults"] is False


def test_secret_expiring_in_ten_days_is_warned(
    graph_sandbox: RunningSandbox, run_validate: Validate
) -> None:
    _, report, _ = run_validate(mode="read-only")
    assert report["tenants"][0]["expiring_credentials"] == []
    client_id = graph_sandbox.info.full_client_id
    end = datetime.now(UTC) + timedelta(days=10, hours=1)
    with graph_sandbox.client() as graph:
        app_object = graph.get(f"/applications(appId='{client_id}')").json()
        graph.post(
            f"/applications/{app_object['id']}/addPassword",
            json={
                "passwordCredential": {
                    "displayName": "short-lived",
                    "endDateTime": end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            },
        ).raise_for_status()
    _, report, _ = run_validate(mode="read-only")
    expiring = report["tenants"][0]["expiring_credentials"]
    assert [(e["kind"], e["name"], e["days_left"]) for e in expiring] == [
        ("secret", "short-lived", 10)
    ]


def test_text_output_shows_banner_and_posture(
    graph_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, graph_sandbox, read_only=True, mode="full", services='"administrator"'
    )
    result = CliRunner().invoke(
        app,
        ["--config", str(config), "connect", "validate"],
        env={SECRET_ENV: graph_sandbox.info.read_only_client_secret},
    )
    assert result.exit_code == 2
    assert "✗ Directory.ReadWrite.All" in result.stdout
    assert "breaks:" in result.stdout
    assert "Security defaults:" in result.stdout
    assert "partial consent" in result.stderr
    assert graph_sandbox.info.read_only_client_secret not in result.output


def test_conditional_access_policies_requiring_mfa_are_listed(
    graph_sandbox: RunningSandbox, run_validate: Validate
) -> None:
    def policy(name: str, state: str, users: list[str]) -> dict[str, object]:
        return {
            "displayName": name,
            "state": state,
            "conditions": {
                "users": {"includeUsers": users},
                "applications": {"includeApplications": ["All"]},
                "clientAppTypes": ["all"],
            },
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
        }

    with graph_sandbox.client() as graph:
        for body in (
            policy("MFA for everyone", "enabled", ["All"]),
            policy("MFA trial", "enabledForReportingButNotEnforced", ["All"]),
            policy("MFA for guests", "enabled", ["GuestsOrExternalUsers"]),
        ):
            graph.post("/identity/conditionalAccess/policies", json=body).raise_for_status()
    _, report, _ = run_validate(mode="read-only")
    assert report["tenants"][0]["mfa"]["conditional_access_mfa_policies"] == ["MFA for everyone"]


def test_unknown_tenant_and_unset_secret_are_configuration_errors(
    graph_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path, graph_sandbox, read_only=True, mode="read-only", services='"guardian"'
    )
    runner = CliRunner()
    unknown = runner.invoke(
        app,
        ["--config", str(config), "connect", "validate", "--tenant", "nope"],
        env={SECRET_ENV: graph_sandbox.info.read_only_client_secret},
    )
    assert unknown.exit_code == 3
    assert "'nope'" in unknown.stderr and "sandbox" in unknown.stderr
    unset = runner.invoke(
        app, ["--config", str(config), "connect", "validate"], env={SECRET_ENV: ""}
    )
    assert unset.exit_code == 3
    assert SECRET_ENV in unset.stderr and "client_secret" in unset.stderr
