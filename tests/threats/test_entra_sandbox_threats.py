"""Entra rules against the sandbox tenant, through the real Entra capture: the rogue (the
tenant's Global Administrator signed in through the device-code flow) disables one conditional
access policy, deletes another and opens guest invitations to everyone; ``dirguard capture
entra`` records it with the actors from the directory audit, and ``dirguard threats scan``
raises one alert per dangerous change, each with the rogue's name — and one more, rightly: the
tenant-wide consent to Directory.ReadWrite.All and friends that set up the rogue's tool."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from dirguard.store.column_types import utcnow
from tests.entra.helpers import SECRET_ENV, TENANT, rogue_user, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner

CA = "identity/conditionalAccess"


def _ok(answer: httpx.Response) -> dict[str, object]:
    assert answer.is_success, answer.text
    return answer.json() if answer.content else {}


def _policy(admin: httpx.Client, name: str) -> str:
    made = _ok(admin.post(f"/{CA}/policies", json={
        "displayName": name,
        "state": "enabled",
        "conditions": {
            "applications": {"includeApplications": ["All"]},
            "users": {"includeUsers": ["All"]},
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }))  # fmt: skip
    return str(made["id"])


def test_the_rogues_entra_changes_raise_one_alert_each(
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
        disabled, deleted = _policy(admin, "Require MFA for all"), _policy(admin, "MFA for admins")
        _ok(
            admin.patch(
                "/policies/authorizationPolicy", json={"allowInvitesFrom": "adminsAndGuestInviters"}
            )
        )
    config = write_config(graph_sandbox, tmp_path)
    with config.open("a", encoding="utf-8") as extra:  # alerts mailed through Graph sendMail
        extra.write(
            f'[[threats.email]]\ntenant = "{TENANT}"\nsender = "{info.admin_user_principal_name}"'
            '\nto = ["soc@contoso.example"]\nmin_severity = "critical"\n'
        )
    run = cli_runner(config, {SECRET_ENV: info.full_client_secret})
    run("snapshot", "entra", "--tenant", TENANT)
    since = (utcnow() - timedelta(seconds=1)).isoformat()

    with rogue_user(graph_sandbox) as rogue:
        _ok(rogue.patch(f"/{CA}/policies/{disabled}", json={"state": "disabled"}))
        _ok(rogue.delete(f"/{CA}/policies/{deleted}"))
        _ok(rogue.patch("/policies/authorizationPolicy", json={"allowInvitesFrom": "everyone"}))
    run("capture", "entra", "--tenant", TENANT)
    rogue_upn = info.admin_user_principal_name

    report = run("threats", "scan", "--since", since, "--notify")
    alerts = run("alerts", "list")["alerts"]
    by_rule = {a["rule"]: a for a in alerts}
    assert {
        r: by_rule[r]["severity"]
        for r in ("ENTRA-CA-DISABLED", "ENTRA-CA-DELETED", "ENTRA-GUEST-INVITES-OPENED")
        if r in by_rule
    } == {
        "ENTRA-CA-DISABLED": "high",
        "ENTRA-CA-DELETED": "critical",
        "ENTRA-GUEST-INVITES-OPENED": "medium",
    }, sorted(by_rule)
    consent = by_rule.pop("ENTRA-ADMIN-CONSENT-HIGH-RISK")
    assert consent["severity"] == "high"
    assert len(report["new_alerts"]) == len(alerts) == 4, sorted(by_rule)
    assert {a["actor"] for a in by_rule.values()} == {rogue_upn}
    assert run("threats", "scan", "--since", since)["new_alerts"] == []  # counted once

    # The critical one (the deleted policy) was mailed to the SOC, sent as the admin mailbox.
    sent = httpx.get(
        f"{info.login_base}/_sandbox/outbox",
        headers={"x-sandbox-admin-key": info.admin_key},
        verify=graph_sandbox.tls(),
    ).json()
    mails = [m for m in sent["messages"] if "dirguard critical" in str(m)]
    assert len(mails) == 1, sent
    assert "soc@contoso.example" in str(mails[0]) and "ENTRA-CA-DELETED" in str(mails[0])
