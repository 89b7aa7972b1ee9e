"""Entra auto-undo against the sandbox tenant, through the real Entra capture, the monitor's
detection and the Entra rollback services (plan by event, applied with the tenant's step
writer and read back): the rogue (the tenant's Global Administrator, signed in through the
device-code flow) disables a conditional access policy and ``dirguard monitor --once``
raises ENTRA-CA-DISABLED and puts the policy back to enabled (the tenant shows it);
dirguard's own re-enabling raises nothing in the next pass. A Global Administrator assignment and
a member added to a role-assignable group are removed again the same way."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.entra.helpers import SECRET_ENV, TENANT, rogue_user, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner
from tests.threats.ad_config import alerts_of

CA = "identity/conditionalAccess"


def _ok(answer: httpx.Response) -> dict[str, object]:
    assert answer.is_success, answer.text
    return answer.json() if answer.content else {}


def test_a_disabled_conditional_access_policy_is_put_back_and_alerted(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    monkeypatch.setenv(SECRET_ENV, info.full_client_secret)
    with graph_sandbox.client() as admin:
        _ok(
            admin.patch(
                "/policies/identitySecurityDefaultsEnforcementPolicy", json={"isEnabled": False}
            )
        )
        made = _ok(admin.post(f"/{CA}/policies", json={
            "displayName": "Require MFA for all",
            "state": "enabled",
            "conditions": {
                "applications": {"includeApplications": ["All"]},
                "users": {"includeUsers": ["All"]},
            },
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
        }))  # fmt: skip
    policy = str(made["id"])
    config = write_config(graph_sandbox, tmp_path)
    with config.open("a", encoding="utf-8") as extra:
        extra.write("[threats]\nactor_grace = 0\nexposure_interval = 0\n"
                    "[threats.rules.ENTRA-CA-DISABLED]\nauto_undo = true\n")  # fmt: skip
    run = cli_runner(config, {SECRET_ENV: info.full_client_secret})
    run("snapshot", "entra", "--tenant", TENANT)
    run("monitor", "--once", "--tenant", TENANT, "--no-notify", as_json=False)
    assert alerts_of(run) == []

    with rogue_user(graph_sandbox) as rogue:
        _ok(rogue.patch(f"/{CA}/policies/{policy}", json={"state": "disabled"}))
    run("monitor", "--once", "--tenant", TENANT, "--no-notify", as_json=False)
    [alert] = alerts_of(run, "ENTRA-CA-DISABLED")
    assert alert["actor"] == info.admin_user_principal_name
    assert alert["undo"]["status"] == "undone", alert["undo"]
    with graph_sandbox.client() as admin:
        assert _ok(admin.get(f"/{CA}/policies/{policy}"))["state"] == "enabled"
    plan = run("rollback", "show", str(alert["undo"]["plan_id"]))
    assert plan["status"] == "applied" and plan["selection"]["auto_undo"] == "ENTRA-CA-DISABLED"

    run("monitor", "--once", "--tenant", TENANT, "--no-notify", as_json=False)
    # dirguard's own re-enabling raised nothing; the one other alert is, rightly, the
    # tenant-wide consent that set up the rogue's tool (see test_entra_sandbox_threats.py).
    assert sorted(a["rule"] for a in alerts_of(run)) == [
        "ENTRA-ADMIN-CONSENT-HIGH-RISK",
        "ENTRA-CA-DISABLED",
    ]
    assert alerts_of(run, "ENTRA-CA-DISABLED")[0]["count"] == 1


GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"


def test_a_global_administrator_assignment_is_removed_again(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    monkeypatch.setenv(SECRET_ENV, info.full_client_secret)
    with graph_sandbox.client() as admin:
        user = _ok(admin.post("/users", json={
            "accountEnabled": True,
            "displayName": "Mallory Helper",
            "mailNickname": "mallory",
            "userPrincipalName": f"mallory@{info.admin_user_principal_name.split('@')[1]}",
            "passwordProfile": {"password": "Mall0ry!Pass-2026"},
        }))  # fmt: skip
    config = write_config(graph_sandbox, tmp_path)
    with config.open("a", encoding="utf-8") as extra:
        extra.write("[threats]\nactor_grace = 0\nexposure_interval = 0\n"
                    "[threats.rules.ENTRA-GLOBAL-ADMIN-ASSIGNED]\nauto_undo = true\n")  # fmt: skip
    run = cli_runner(config, {SECRET_ENV: info.full_client_secret})
    run("snapshot", "entra", "--tenant", TENANT)

    with rogue_user(graph_sandbox) as rogue:
        made = _ok(rogue.post("/roleManagement/directory/roleAssignments", json={
            "roleDefinitionId": GLOBAL_ADMIN,
            "principalId": user["id"],
            "directoryScopeId": "/",
        }))  # fmt: skip
    run("monitor", "--once", "--tenant", TENANT, "--no-notify", as_json=False)
    [alert] = alerts_of(run, "ENTRA-GLOBAL-ADMIN-ASSIGNED")
    assert alert["severity"] == "critical"
    assert alert["actor"] == info.admin_user_principal_name
    assert alert["undo"]["status"] == "undone", alert["undo"]
    with graph_sandbox.client() as admin:
        gone = admin.get(f"/roleManagement/directory/roleAssignments/{made['id']}")
    assert gone.status_code == 404, gone.text


def test_a_member_added_to_a_role_assignable_group_is_removed_again(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    monkeypatch.setenv(SECRET_ENV, info.full_client_secret)
    domain = info.admin_user_principal_name.split("@")[1]
    with graph_sandbox.client() as admin:
        user = _ok(admin.post("/users", json={
            "accountEnabled": True,
            "displayName": "Trudy Helper",
            "mailNickname": "trudy",
            "userPrincipalName": f"trudy@{domain}",
            "passwordProfile": {"password": "Trudy!Pass-2026x"},
        }))  # fmt: skip
        group = _ok(admin.post("/groups", json={
            "displayName": "Tier0 Helpdesk Admins",
            "mailEnabled": False,
            "mailNickname": "tier0hd",
            "securityEnabled": True,
            "isAssignableToRole": True,
        }))  # fmt: skip
    config = write_config(graph_sandbox, tmp_path)
    with config.open("a", encoding="utf-8") as extra:
        extra.write(
            "[threats]\nactor_grace = 0\nexposure_interval = 0\n"
            "[threats.rules.ENTRA-ROLE-GROUP-MEMBER-ADDED]\nauto_undo = true\n"
        )
    run = cli_runner(config, {SECRET_ENV: info.full_client_secret})
    run("snapshot", "entra", "--tenant", TENANT)

    with rogue_user(graph_sandbox) as rogue:
        _ok(rogue.post(f"/groups/{group['id']}/members/$ref", json={
            "@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{user['id']}",
        }))  # fmt: skip
    run("monitor", "--once", "--tenant", TENANT, "--no-notify", as_json=False)
    [alert] = alerts_of(run, "ENTRA-ROLE-GROUP-MEMBER-ADDED")
    assert (alert["severity"], alert["actor"]) == ("high", info.admin_user_principal_name)
    assert alert["undo"]["status"] == "undone", alert["undo"]
    with graph_sandbox.client() as admin:
        members = _ok(admin.get(f"/groups/{group['id']}/members"))["value"]
    assert user["id"] not in {m["id"] for m in members}  # type: ignore[union-attr]
