"""In Debian's Chromium (Playwright), against a real ``dirguard serve`` over HTTPS with the
sandbox tenant: a console administrator imports a rule file through the form, dry-runs it
(the page shows the counts and each object's change; the tenant is untouched), runs it (the
tenant changes) and finds both runs in the rule's history. A viewer sees the rule but no
import form and no run buttons. Screenshots go to ``tests/artifacts/rules/``."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.entra.helpers import SECRET_ENV
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.fixtures.requirements import unavailable
from tests.scheduler.test_embedded_scheduler import _tenant_toml
from tests.web.served_console import DIRGUARD, console_config, free_port, served_console
from tests.web.test_browser_sign_in import CHROMIUM, FLAGS

PASSWORD = "correct horse battery staple"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "rules"


def _account(config: Path, name: str, role: str) -> None:
    subprocess.run(
        [str(DIRGUARD), "--config", str(config), "account", "add", name, "--role", role],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        text=True,
        check=True,
        capture_output=True,
    )


def test_dry_run_then_run_a_rule_from_the_browser(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which(CHROMIUM) is None:
        unavailable("chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import Page, expect, sync_playwright

    monkeypatch.setenv(SECRET_ENV, graph_sandbox.info.full_client_secret)
    state = graph_sandbox.state
    users = list(state.users.values())[13:15]
    ids = {u["id"] for u in users}
    department = f"Web-{uuid.uuid4().hex[:6]}"
    with graph_sandbox.client() as graph:
        for user in users:
            answer = graph.patch(f"/users/{user['id']}", json={"department": department})
            assert answer.status_code == 204, answer.text
    name = f"web-titles-{uuid.uuid4().hex[:4]}"
    rule_file = (
        f'name = "{name}"\n'
        '[scope]\ndirectory = "entra"\nsource = "sandbox"\n'
        f'[[conditions]]\nfield = "department"\ncomparison = "equals"\nvalues = ["{department}"]\n'
        '[[actions]]\ndo = "set"\nfields = { jobTitle = "Web team" }\n'
    )
    port = free_port()
    extra = "[scheduler]\nenabled = false\n" + _tenant_toml(graph_sandbox)
    config = console_config(tmp_path, port, extra)
    _account(config, "boss", "administrator")
    _account(config, "auditor", "viewer")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def sign_in(page: Page, url: str, who: str) -> None:
        page.goto(f"{url}/rules")
        page.fill("input[name=name]", who)
        page.fill("input[name=password]", PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url("**/rules")

    with served_console(tmp_path, port, extra) as served, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            sign_in(page, served.url, "boss")
            expect(page.locator("#no-rules")).to_be_visible()
            page.fill("#toml", rule_file)
            page.click("#import-form button[type=submit]")
            page.wait_for_url(f"**/rules/{name}")
            expect(page.locator("#rule-toml")).to_contain_text(department)
            expect(page.locator("#no-runs")).to_be_visible()

            page.click("#dry-run")
            expect(page.locator("h1")).to_contain_text("dry run")
            expect(page.locator("#count-objects")).to_have_text("2")
            expect(page.locator("#count-changed")).to_have_text("2")
            expect(page.locator("#count-changes")).to_have_text("2")
            rows = page.locator("#objects tbody tr")
            expect(rows).to_have_count(2)
            assert {rows.nth(i).get_attribute("data-path") for i in range(2)} == ids
            expect(page.locator("#objects")).to_contain_text("jobTitle")
            expect(page.locator("#objects")).to_contain_text("Web team")
            expect(page.locator(".change-status").first).to_have_text("would-change")
            page.screenshot(path=str(ARTIFACTS / "dry-run.png"), full_page=True)
            assert all(state.users[i].get("jobTitle") != "Web team" for i in ids)

            page.click("h1 a")
            page.click("#run")
            expect(page.locator("#run-summary")).to_contain_text("succeeded")
            expect(page.locator(".change-status").first).to_have_text("changed")
            expect(page.locator("#count-changed")).to_have_text("2")
            page.screenshot(path=str(ARTIFACTS / "run.png"), full_page=True)
            assert all(state.users[i]["jobTitle"] == "Web team" for i in ids)

            page.click("h1 a")
            history = page.locator("#runs tbody tr")
            expect(history).to_have_count(2)
            expect(history.nth(0)).to_contain_text("run")
            expect(history.nth(1)).to_contain_text("dry run")
            expect(history.nth(0)).to_contain_text("boss")

            viewer = browser.new_context(ignore_https_errors=True).new_page()
            sign_in(viewer, served.url, "auditor")
            expect(viewer.locator("#rules")).to_contain_text(name)
            expect(viewer.locator("#import-form")).to_have_count(0)
            viewer.goto(f"{served.url}/rules/{name}")
            expect(viewer.locator("#runs tbody tr")).to_have_count(2)
            expect(viewer.locator("#dry-run")).to_have_count(0)
            expect(viewer.locator("#run")).to_have_count(0)
        finally:
            browser.close()
