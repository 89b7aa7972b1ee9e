"""In Debian's Chromium (Playwright), against a real ``dirguard serve`` over HTTPS with the
sandbox tenant: the approval e-mail's link opens the sign-in page first; once the team lead has
signed in it shows the request with its preview, and the Approve click suspends the leaver in
the tenant (and not before). A screenshot goes to ``tests/artifacts/approvals/``."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from dirguard.config.loader import load_config
from dirguard.core.delegation import ConsoleUser
from dirguard.services.admin.actions import ActionRequest
from dirguard.services.admin.delegation import assign, save_role, save_scope
from dirguard.services.approvals.requests import submit
from dirguard.services.runtime import open_runtime
from tests.entra.helpers import SECRET_ENV, TENANT
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.fixtures.requirements import unavailable
from tests.web.served_console import DIRGUARD, console_config, free_port, served_console
from tests.web.test_browser_sign_in import CHROMIUM, FLAGS

PASSWORD = "correct horse battery staple"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "approvals"


def _tenant_toml(sandbox: RunningSandbox, port: int) -> str:
    info = sandbox.info
    return (
        "[[entra.tenants]]\n"
        f'name = "{TENANT}"\ntenant_id = "{info.tenant_id}"\nclient_id = "{info.full_client_id}"\n'
        f'client_secret = "env:{SECRET_ENV}"\nauthority = "{info.login_base}"\n'
        f'graph_url = "{info.login_base}"\nca_file = "{info.ca_file}"\nmode = "full"\n'
        'services = ["guardian", "administrator"]\n'
        f'[approvals]\nconsole_url = "https://127.0.0.1:{port}"\n'
        '[[approvals.policies]]\nname = "leavers"\nactions = ["entra.user.suspend"]\n'
        'approvers = ["lead"]\n'
    )


def test_the_approve_click_suspends_the_leaver(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which(CHROMIUM) is None:
        unavailable("chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv(SECRET_ENV, graph_sandbox.info.full_client_secret)
    state = graph_sandbox.state
    europe = next(
        u["id"] for u in state.administrative_units.values() if u["displayName"] == "Europe"
    )
    leaver = next(u for u in state.unit_members[europe] if u in state.users)
    state.users[leaver]["accountEnabled"] = True
    port = free_port()
    extra = _tenant_toml(graph_sandbox, port)
    config_path = console_config(tmp_path, port, extra)
    subprocess.run(
        [str(DIRGUARD), "--config", str(config_path), "account", "add", "lead", "--role", "viewer"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        text=True,
        check=True,
        capture_output=True,
    )
    with open_runtime(load_config(config_path).config, "helpdesk") as runtime:
        save_role(
            runtime,
            {"name": "Leavers desk", "actions": ["entra.user.suspend"], "write_fields": ["*"]},
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
        assign(runtime, "Leavers desk", "Europe", "user", "helpdesk")
        filed = submit(
            runtime,
            ConsoleUser(name="helpdesk"),
            ActionRequest(
                action="entra.user.suspend",
                source=TENANT,
                target=leaver,
                params={"remove_groups": False, "remove_licenses": False},
            ),
            reason="left on Friday",
        )
    assert filed.request is not None
    link = f"/approvals/{filed.request['id']}?decision=approve"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with served_console(tmp_path, port, extra) as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.goto(f"{served.url}{link}")
            expect(page.locator("input[name=password]")).to_be_visible()  # sign in first
            assert state.users[leaver]["accountEnabled"] is True
            page.fill("input[name=name]", "lead")
            page.fill("input[name=password]", PASSWORD)
            page.keyboard.press("Enter")
            page.wait_for_url(f"**/approvals/{filed.request['id']}*")
            expect(page.locator("h1")).to_contain_text("pending")
            expect(page.locator("#approval-edits")).to_contain_text("accountEnabled")
            expect(page.locator("body")).to_contain_text("left on Friday")
            assert state.users[leaver]["accountEnabled"] is True  # opening it changed nothing
            page.screenshot(path=str(ARTIFACTS / "approval-request.png"), full_page=True)
            page.click("#approve")
            expect(page.locator("h1")).to_contain_text("executed")
            page.screenshot(path=str(ARTIFACTS / "approval-executed.png"), full_page=True)
        finally:
            browser.close()
    assert state.users[leaver]["accountEnabled"] is False
