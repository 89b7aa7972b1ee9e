"""In Debian's Chromium (Playwright): a person signs in through the sandbox tenant's Entra ID
page and reaches the console served by a real ``dirguard serve`` over HTTPS. A screenshot of
the console is saved under ``tests/artifacts/web/`` for a reviewer (not asserted)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dirguard.web.tls_cert import fingerprint
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.fixtures.requirements import unavailable
from tests.web.entra_tenant import (
    PASSWORD,
    add_user,
    assign_approver,
    register_console_app,
)
from tests.web.served_console import ServedConsole, free_port, served_console

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "web"


@pytest.fixture
def console(graph_sandbox: RunningSandbox, tmp_path: Path) -> Iterator[tuple[ServedConsole, str]]:
    port = free_port()
    app = register_console_app(graph_sandbox, [f"https://127.0.0.1:{port}/signin/entra/callback"])
    user_id, upn = add_user(graph_sandbox, app, "browser")
    assign_approver(graph_sandbox, app, user_id)
    info = graph_sandbox.info
    oidc = f"""
[web.oidc]
tenant_id = "{info.tenant_id}"
client_id = "{app.client_id}"
client_secret = "env:CONSOLE_TEST_OIDC_SECRET"
authority = "{info.login_base}"
ca_file = "{info.ca_file}"
app_roles = {{ "dirguard.approver" = "approver" }}
"""
    with served_console(
        tmp_path, port, oidc, env={"CONSOLE_TEST_OIDC_SECRET": app.client_secret}
    ) as served:
        yield served, upn


def test_sign_in_through_entra_reaches_the_console(console: tuple[ServedConsole, str]) -> None:
    if shutil.which(CHROMIUM) is None:
        unavailable("chromium", f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    served, upn = console
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(served.cert.read_bytes())
    assert fingerprint(cert) in served.log.read_text()  # the log says which certificate it is
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_context(ignore_https_errors=True).new_page()
            page.goto(f"{served.url}/")
            assert page.url.startswith(f"{served.url}/signin")
            page.click("#signin-entra")
            page.wait_for_selector("input[name=password]")
            assert "Sign in" in page.title()
            page.fill("input[name=username]", upn)
            page.fill("input[name=password]", PASSWORD)
            page.click("button")
            page.wait_for_url(f"{served.url}/")
            assert page.locator("h1").inner_text() == "dirguard console"
            assert "Browser" in page.locator(".who").inner_text()  # the ID token's name
            assert "(approver)" in page.locator(".who").inner_text()
            page.screenshot(path=str(ARTIFACTS / "console-after-entra-sign-in.png"), full_page=True)
            page.goto(f"{served.url}/tokens")
            page.screenshot(path=str(ARTIFACTS / "tokens.png"), full_page=True)
            page.goto(f"{served.url}/account")
            page.screenshot(path=str(ARTIFACTS / "account.png"), full_page=True)
        finally:
            browser.close()
