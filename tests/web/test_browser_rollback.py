"""Issue 13 item 6 in Debian's Chromium (Playwright), against a real ``dirguard serve --monitor``
over HTTPS on the session's Samba AD DC, bound as the read-only account ``connect ad`` made,
with just-in-time elevation by the DC's administrator:

- an approver signs in (a local account) and sees the connection on the Overview with its
  monitor running;
- the red banner appears on the page when the account is taken out of Event Log Readers (the
  periodic consent check records it) and goes when it is put back;
- a change made over LDAP appears live on the Changes page with its actor;
- its rollback is planned from the browser (the object back to the moment before), applied after
  the confirmation, followed step by step to ``applied``, and the DC, read over LDAP, holds the
  old value again;
- a viewer sees the plan without Apply, and the API refuses the viewer's apply (403).

Screenshots of each page go to ``tests/artifacts/web/`` for a reviewer (not asserted).
"""

# ruff: noqa: F811

from __future__ import annotations

import shutil
import subprocess
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import samba_tool, unique  # noqa: F401
from tests.connect.test_validate_ad import GROUP, read_only_account  # noqa: F401
from tests.fixtures.requirements import unavailable
from tests.rollback.helpers import ADMIN_SECRET_ENV, add_user, read, scratch_ou
from tests.web.served_console import DIRGUARD, console_config, free_port, served_console
from tests.web.test_browser_sign_in import ARTIFACTS, CHROMIUM, FLAGS

pytestmark = pytest.mark.samba

PASSWORD = "correct horse battery staple"


def _domain_toml(samba_dc: SambaDC, account: str, password_ref: str) -> str:
    logs = samba_dc.audit_logs
    files = ", ".join(
        f'"{p}"' for p in (logs.directory_changes, logs.group_changes, logs.password_changes)
    )
    return f"""
[consent]
check_interval = 2

[[ad.domains]]
name = "{samba_dc.realm.lower()}"
servers = ["{samba_dc.host}"]
ca_file = "{samba_dc.ca_cert_path}"
bind_upn = "{account}@{samba_dc.realm}"
password = "{password_ref}"
mode = "read-only"
elevation_bind_upn = "{samba_dc.admin_upn}"
elevation_password = "env:{ADMIN_SECRET_ENV}"
samba_audit_files = [{files}]
"""


def _cli(config: Path, env: dict[str, str], *args: str, stdin: str = "") -> None:
    done = subprocess.run(
        [str(DIRGUARD), "--config", str(config), *args],
        input=stdin,
        text=True,
        capture_output=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _until(check: Callable[[], bool], seconds: float, what: str, page: Any) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} within {seconds} s; page: {page.content()[:3000]}")
        time.sleep(1)
        page.reload()


def test_live_change_rollback_banner_and_viewer_in_a_browser(
    read_only_account: tuple[str, Path],
    samba_dc: SambaDC,
    samba_tool: Callable[..., str],
    ldap_admin: Any,
    unique: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if shutil.which(CHROMIUM) is None:
        unavailable("chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    account, validate_config = read_only_account
    password_ref = tomllib.loads(validate_config.read_text())["ad"]["domains"][0]["password"]
    port = free_port()
    extra = _domain_toml(samba_dc, account, password_ref)
    config = console_config(tmp_path, port, extra)
    env = {
        "PATH": str(DIRGUARD.parent) + ":/usr/bin:/bin",
        ADMIN_SECRET_ENV: samba_dc.admin_password,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    monkeypatch.setenv(ADMIN_SECRET_ENV, samba_dc.admin_password)
    for name, role in (("alice", "approver"), ("vera", "viewer")):
        _cli(config, env, "account", "add", name, "--role", role, stdin=f"{PASSWORD}\n" * 2)
    tag = unique("")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with scratch_ou(ldap_admin, f"OU=e2e-{tag},{samba_dc.base_dn}") as ou_dn:
        user = f"CN=Eve {tag},{ou_dn}"
        add_user(ldap_admin, user, f"eve{tag}", {"description": [b"the good value"]})
        _cli(config, env, "snapshot", "ad")
        with (
            served_console(tmp_path, port, extra, env=env, args=("--monitor",)) as served,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            try:
                context = browser.new_context(
                    ignore_https_errors=True, viewport={"width": 1366, "height": 900}
                )
                page = context.new_page()
                page.goto(f"{served.url}/overview")
                page.fill("input[name=name]", "alice")
                page.fill("input[name=password]", PASSWORD)
                page.keyboard.press("Enter")
                page.wait_for_url(f"{served.url}/overview")
                row = page.locator(f'[id="conn-ad-{samba_dc.realm.lower()}"]')
                _until(
                    lambda: "running" in row.inner_text() and "complete" in row.inner_text(),
                    60,
                    "the monitor running and the consent complete",
                    page,
                )
                expect(page.locator(".banner-critical")).to_have_count(0)
                page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)

                # The banner: a group taken away, then granted again.
                samba_tool("group", "removemembers", GROUP, account)
                try:
                    _until(
                        lambda: page.locator(".banner-critical").count() == 1,
                        60,
                        "the red banner",
                        page,
                    )
                    banner = page.locator(".banner-critical").inner_text()
                    assert GROUP in banner and account in banner, banner
                    page.screenshot(path=str(ARTIFACTS / "banner.png"), full_page=True)
                finally:
                    samba_tool("group", "addmembers", GROUP, account)
                _until(
                    lambda: page.locator(".banner-critical").count() == 0,
                    60,
                    "the banner gone",
                    page,
                )

                # A change over LDAP appears live with its actor.
                page.goto(f"{served.url}/changes")
                before = datetime.now(UTC).replace(microsecond=0)
                time.sleep(1.1)
                ldap_admin.modify_s(user, [(ldap.MOD_REPLACE, "description", [b"vandalised"])])
                live = page.locator("#change-rows tr", has_text="vandalised").first
                expect(live).to_be_visible(timeout=60_000)
                expect(live).to_contain_text("dministrator")
                page.screenshot(path=str(ARTIFACTS / "changes-rollback-live.png"), full_page=True)

                # Plan it from the browser, apply after the confirmation, follow it.
                page.goto(f"{served.url}/rollback/new")
                page.check("input[name=kind][value=object]")
                page.fill("#r-object", user)
                page.fill("#r-at", before.strftime("%Y-%m-%dT%H:%M:%SZ"))
                page.screenshot(path=str(ARTIFACTS / "rollback-new.png"), full_page=True)
                page.click("#make-plan")
                page.wait_for_url("**/rollback/*")
                plan_url = page.url
                expect(page.locator("#steps")).to_contain_text("description")
                expect(page.locator("#plan-check")).to_contain_text("elevate")
                page.screenshot(path=str(ARTIFACTS / "rollback-plan.png"), full_page=True)
                page.click("#apply")
                page.wait_for_url("**/apply")
                page.screenshot(path=str(ARTIFACTS / "rollback-confirm.png"), full_page=True)
                page.check("#confirm")
                page.click("#apply-now")
                page.wait_for_url("**/progress")
                expect(page.locator("#progress-status")).to_have_text("applied", timeout=90_000)
                expect(page.locator("#progress-steps .step-status").first).to_have_text("succeeded")
                page.screenshot(path=str(ARTIFACTS / "rollback-progress.png"), full_page=True)
                assert read(ldap_admin, user, "description")["description"] == [b"the good value"]
                page.click("#report-link")
                expect(page.locator("#plan-status")).to_have_text("applied")
                page.screenshot(path=str(ARTIFACTS / "rollback-report.png"), full_page=True)
                for name in ("rollback", "deleted", "audit", "permissions"):
                    page.goto(f"{served.url}/{name}")
                    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
                expect(page.locator("body")).to_contain_text("Event Log Readers")

                # A viewer: no Apply button, and the API refuses the apply.
                viewer = browser.new_context(ignore_https_errors=True).new_page()
                viewer.goto(f"{served.url}{plan_url.removeprefix(served.url)}")
                viewer.fill("input[name=name]", "vera")
                viewer.fill("input[name=password]", PASSWORD)
                viewer.keyboard.press("Enter")
                viewer.wait_for_url(plan_url)
                expect(viewer.locator("#apply")).to_have_count(0)
                expect(viewer.locator("#approve")).to_have_count(0)
                token = viewer.get_attribute("meta[name=csrf-token]", "content") or ""
                plan_id = plan_url.rstrip("/").rsplit("/", 1)[1]
                answer = viewer.request.post(
                    f"{served.url}/api/v1/plans/{plan_id}/apply",
                    headers={"X-CSRF-Token": token},
                )
                assert answer.status == 403, answer.text()
                viewer.screenshot(path=str(ARTIFACTS / "rollback-plan-viewer.png"))
            finally:
                browser.close()
