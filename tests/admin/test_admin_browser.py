"""The Administrator in Debian's Chromium (Playwright), against a real ``dirguard serve`` over
HTTPS with the session's Samba DC and the sandbox tenant: a help-desk account scoped to one OU
and one administrative unit signs in and, from the browser, creates an AD user, resets a
password, sees the tenant's seats and domains, creates a licensed cloud user (one seat fewer),
invites a guest, enforces a user's MFA, suspends a leaver, retires their device and reads a LAPS
password once — each in the directory afterwards, in dirguard's audit log with the operator
named, and in the guardian's change history (a snapshot before, a capture after) as "dirguard
Administrator (for <operator>)". Screenshots go to ``tests/artifacts/admin/``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import ldap
import pytest
from sqlalchemy import select

from dirguard.config.loader import load_config
from dirguard.services.admin.delegation import assign, save_role, save_scope
from dirguard.services.history_use_cases import ChangesRequest, list_changes
from dirguard.services.runtime import open_runtime
from dirguard.store.models import AuditRecord
from dirguard.throwaway.samba_dc import SambaDC
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.fixtures.requirements import unavailable
from tests.web.served_console import DIRGUARD, console_config, free_port, served_console
from tests.web.test_browser_sign_in import CHROMIUM, FLAGS

pytestmark = pytest.mark.samba

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "admin"
PASSWORD = "correct horse battery staple"
DESK = "desk"


def _toml(samba_dc: SambaDC, org: dict[str, str], sandbox: RunningSandbox) -> str:
    info = sandbox.info
    return f"""
[[ad.domains]]
name = "{samba_dc.realm.lower()}"
servers = ["{samba_dc.host}"]
ca_file = "{samba_dc.ca_cert_path}"
bind_upn = "{samba_dc.admin_upn}"
password = "env:T_AD_PASSWORD"
admin_bind_upn = "{org["admin_upn"]}"
admin_password = "env:T_ADMIN_PASSWORD"

[[entra.tenants]]
name = "sandbox"
tenant_id = "{info.tenant_id}"
client_id = "{info.full_client_id}"
client_secret = "env:T_TENANT_SECRET"
authority = "{info.login_base}"
graph_url = "{info.login_base}"
ca_file = "{info.ca_file}"
services = ["guardian", "administrator"]
mode = "full"
"""


def _delegate(config: Path, samba_dc: SambaDC, org: dict[str, str], europe: str) -> None:
    with open_runtime(load_config(config).config, "root") as runtime:
        save_role(
            runtime,
            {
                "name": "Help desk",
                "write_fields": ["*"],
                "actions": [
                    "ad.user.create",
                    "ad.user.reset-password",
                    "entra.user.create",
                    "entra.user.invite",
                    "entra.user.suspend",
                    "entra.user.set-mfa-state",
                    "entra.managed-device.retire",
                    "entra.device.reveal-laps",
                ],
            },
        )
        save_scope(
            runtime,
            {
                "name": "Sales OU",
                "kind": "ad-subtree",
                "source": f"ad:{samba_dc.realm.lower()}",
                "base": org["sales"],
            },
        )
        save_scope(
            runtime,
            {
                "name": "Europe",
                "kind": "entra-admin-unit",
                "source": "entra:sandbox",
                "base": europe,
            },
        )
        save_scope(
            runtime,
            {
                "name": "Guests",
                "kind": "virtual",
                "query": {
                    "directories": ["entra"],
                    "object_kinds": ["user"],
                    "conditions": [
                        {"field": "userType", "comparison": "equals", "values": ["Guest"]}
                    ],
                },
            },
        )
        for scope in ("Sales OU", "Europe", "Guests"):
            assign(runtime, "Help desk", scope, "user", DESK)


def _guardian(config: Path, verb: str) -> None:
    """A snapshot or capture of the domain and the tenant, as the CLI's use cases do it."""
    from dirguard.services.capture.use_cases import (
        CaptureRequest,
        SnapshotRequest,
        capture,
        snapshot,
    )

    with open_runtime(load_config(config).config, "root") as runtime:
        for kind in ("ad", "entra"):
            if verb == "snapshot":
                snapshot(runtime, SnapshotRequest(kind=kind))
            else:
                capture(runtime, CaptureRequest(kind=kind))


def _free_seats(table: Any, part_number: str) -> int:
    """The Free column of the SKU's row in the tenant facts table."""
    row = table.locator("tbody tr", has_text=part_number)
    return int(row.locator("td").nth(3).inner_text().split()[0])


def _submit(page: Any, label: str) -> None:
    page.get_by_role("button", name=label).click()


def test_a_help_desk_day_in_the_browser(
    tmp_path: Path,
    samba_dc: SambaDC,
    org: dict[str, str],
    ldap_admin: Any,
    graph_sandbox: RunningSandbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if shutil.which(CHROMIUM) is None:
        unavailable("chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    env = {
        "T_AD_PASSWORD": samba_dc.admin_password,
        "T_ADMIN_PASSWORD": org["admin_password"],
        "T_TENANT_SECRET": graph_sandbox.info.full_client_secret,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    state = graph_sandbox.state
    europe = next(
        u["id"] for u in state.administrative_units.values() if u["displayName"] == "Europe"
    )
    port = free_port()
    extra = _toml(samba_dc, org, graph_sandbox)
    config = console_config(tmp_path, port, extra)
    _delegate(config, samba_dc, org, europe)
    subprocess.run(
        [str(DIRGUARD), "--config", str(config), "account", "add", DESK, "--role", "viewer"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        text=True,
        check=True,
        capture_output=True,
        env={**os.environ, **env},
    )
    members = set(state.unit_members.get(europe, ()))
    leaver = next(m for m in members if m in state.users and state.users[m].get("accountEnabled"))
    device = next(d for d in state.managed_devices.values() if d["userId"] in members)
    entra_device = next(
        d["id"] for d in state.devices.values() if d["deviceId"] == device["azureADDeviceId"]
    )
    _guardian(config, "snapshot")  # the guardian's baseline of both directories
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with served_console(tmp_path, port, extra, env=env) as served, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_context(
                ignore_https_errors=True, viewport={"width": 1366, "height": 768}
            ).new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{served.url}/admin")
            page.fill("input[name=name]", DESK)
            page.fill("input[name=password]", PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"{served.url}/admin")
            rows = page.locator("#admin-objects tbody tr")
            expect(rows).to_have_count(1)  # the Sales OU's one user, not Finance's
            expect(rows.first).to_contain_text(org["bob"])
            page.screenshot(path=str(ARTIFACTS / "objects.png"), full_page=True)

            # Reset Bob's password from the row's action link.
            rows.first.get_by_role("link", name="Reset password", exact=True).click()
            page.fill("#in-password", "N3w-Passw0rd!x")
            _submit(page, "Preview")
            expect(page.locator("#preview-edits")).to_contain_text("(hidden)")
            page.screenshot(path=str(ARTIFACTS / "preview.png"), full_page=True)
            _submit(page, "Reset password")
            expect(page.locator("#action-result")).to_contain_text(org["bob"])
            found = ldap_admin.search_s(
                org["bob"], ldap.SCOPE_BASE, "(objectClass=*)", ["pwdLastSet"]
            )
            assert found[0][1]["pwdLastSet"] == [b"0"]

            # A new AD user in the Sales OU.
            page.goto(f"{served.url}/admin")
            page.get_by_label("New user in OU (DN)").fill(org["sales"])
            page.get_by_role("button", name="New user…").click()
            page.fill("#in-sAMAccountName", f"carl{org['token']}")
            page.fill("#in-upn_suffix", samba_dc.realm.lower())
            page.fill("#in-displayName", f"Carl {org['token']}")
            page.fill("#in-password", "Carl-Passw0rd!x")
            _submit(page, "Preview")
            _submit(page, "New user")
            expect(page.locator("#action-result")).to_contain_text(f"CN=Carl {org['token']}")

            # The tenant: its seats and domains, a licensed cloud user in Europe, then a guest.
            page.goto(f"{served.url}/admin?source=entra:sandbox")
            skus = page.locator("#tenant-skus")
            expect(skus).to_contain_text("ENTERPRISEPACK")
            expect(page.locator("#tenant-domains")).to_contain_text("sandbox7.example.com")
            seats_before = _free_seats(skus, "ENTERPRISEPACK")
            page.screenshot(path=str(ARTIFACTS / "tenant-facts.png"), full_page=True)
            page.get_by_label("New cloud user in administrative unit").fill(europe)
            page.get_by_role("button", name="New cloud user…").click()
            page.fill("#in-mailNickname", "browser.starter")
            page.fill("#in-domain", "sandbox7.example.com")
            page.fill("#in-usageLocation", "FR")
            page.fill("#in-licenses", "ENTERPRISEPACK")
            page.fill("#in-password", "Cl0ud-Passw0rd!")
            _submit(page, "Preview")
            expect(page.locator("main")).to_contain_text("free seat")
            _submit(page, "New cloud user")
            expect(page.locator("#action-result")).to_be_visible()
            created = next(
                u
                for u in state.users.values()
                if u["userPrincipalName"] == "browser.starter@sandbox7.example.com"
            )
            assert created["assignedLicenses"]
            page.goto(f"{served.url}/admin?source=entra:sandbox")
            assert _free_seats(page.locator("#tenant-skus"), "ENTERPRISEPACK") == seats_before - 1

            # Per-user MFA of a Europe member: Enforced.
            enforced = next(m for m in sorted(members) if m in state.users and m != leaver)
            page.goto(
                f"{served.url}/admin/act?action=entra.user.set-mfa-state&source=sandbox"
                f"&target={enforced}"
            )
            page.fill("#in-state", "enforced")
            _submit(page, "Preview")
            expect(page.locator("#preview-edits")).to_contain_text("enforced")
            _submit(page, "MFA state")
            expect(page.locator("#action-result")).to_be_visible()
            assert state.mfa_states.get(enforced) == "enforced"

            page.goto(f"{served.url}/admin?source=entra:sandbox")
            page.get_by_label("New Guest in administrative unit").fill("-")
            page.get_by_role("button", name="New Guest…").click()
            page.fill("#in-email", "auditor@fabrikam.example")
            _submit(page, "Preview")
            _submit(page, "New Guest")
            expect(page.locator("#action-result")).to_be_visible()

            # Suspend the leaver (typing the id to confirm), retire their laptop, read LAPS.
            page.goto(
                f"{served.url}/admin/act?action=entra.user.suspend&source=sandbox&target={leaver}"
            )
            _submit(page, "Preview")
            page.fill("#typed_name", leaver)
            _submit(page, "Suspend")
            expect(page.locator("#action-result")).to_be_visible()
            assert state.users[leaver]["accountEnabled"] is False
            page.goto(f"{served.url}/admin?source=entra:sandbox&kind=managed-device")
            page.screenshot(path=str(ARTIFACTS / "devices.png"), full_page=True)
            page.goto(
                f"{served.url}/admin/act?action=entra.managed-device.retire&source=sandbox"
                f"&target={device['id']}"
            )
            _submit(page, "Preview")
            page.fill("#typed_name", device["id"])
            _submit(page, "Retire")
            expect(page.locator("#action-result")).to_be_visible()
            assert state.managed_devices[device["id"]]["managementState"] == "retirePending"
            page.goto(
                f"{served.url}/admin/act?action=entra.device.reveal-laps&source=sandbox"
                f"&target={entra_device}"
            )
            page.fill("#in-reason", "user locked out, ticket 4711")
            _submit(page, "Preview")
            _submit(page, "Show LAPS password")
            secret = page.locator("#revealed-secret")
            expect(secret).to_contain_text("Administrator: ")
            page.screenshot(path=str(ARTIFACTS / "laps.png"), full_page=True)
            password = secret.inner_text().split(": ", 1)[1]
            assert not [e for e in errors if "Content Security Policy" in e], errors
        finally:
            browser.close()
    with open_runtime(load_config(config).config, "root") as runtime, runtime.sessions() as session:
        records = session.scalars(
            select(AuditRecord).where(
                AuditRecord.action.like("admin.%"), AuditRecord.outcome == "succeeded"
            )
        ).all()
    assert {r.actor for r in records} == {DESK}
    assert {r.action for r in records} >= {
        "admin.ad.user.reset-password",
        "admin.ad.user.create",
        "admin.entra.user.create",
        "admin.entra.user.invite",
        "admin.entra.user.suspend",
        "admin.entra.user.set-mfa-state",
        "admin.entra.managed-device.retire",
        "admin.entra.device.reveal-laps",
    }
    assert not any(password in repr(r.details) for r in records)
    # The guardian's change history: the web actions' writes are dirguard's, for the operator.
    _guardian(config, "capture")
    operator = f"dirguard Administrator (for {DESK})"
    with open_runtime(load_config(config).config, "root") as runtime:
        bob = list_changes(runtime, ChangesRequest(object_text=org["bob"].split(",")[0][3:]))
        suspended = list_changes(runtime, ChangesRequest(object_text=leaver))
    assert {c.actor for c in bob.changes if c.attribute == "pwdLastSet"} == {operator}
    assert {c.actor for c in suspended.changes if c.attribute == "accountEnabled"} == {operator}
