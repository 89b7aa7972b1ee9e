"""Signing in with Entra ID against the sandbox tenant over HTTPS: authorization code with
PKCE (S256), state and nonce checked, ID token checked against the tenant's keys, the role from
app roles or groups."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from dirguard.config.schema import WebConfig, WebOidcConfig
from dirguard.services.runtime import Runtime
from dirguard.store.models import AuditRecord
from dirguard.web.access import SESSION_COOKIE
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.web.conftest import WebClientFactory, web_context_of
from tests.web.entra_tenant import (
    APPROVER_ROLE,
    ConsoleApp,
    add_user,
    assign_approver,
    register_console_app,
    security_group_with,
    sign_in_at_entra,
)

CALLBACK = "http://testserver/signin/entra/callback"


@pytest.fixture(scope="module")
def console_app(graph_sandbox: RunningSandbox) -> ConsoleApp:
    return register_console_app(graph_sandbox, [CALLBACK])


@pytest.fixture(scope="module")
def operator_by_group(graph_sandbox: RunningSandbox, console_app: ConsoleApp) -> tuple[str, str]:
    """A user in a security group, and the group's id (mapped to operator below)."""
    user_id, upn = add_user(graph_sandbox, console_app, "grace")
    return upn, security_group_with(graph_sandbox, user_id)


@pytest.fixture
def web_settings(
    graph_sandbox: RunningSandbox,
    console_app: ConsoleApp,
    operator_by_group: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> WebConfig:
    monkeypatch.setenv("CONSOLE_TEST_OIDC_SECRET", console_app.client_secret)
    info = graph_sandbox.info
    return WebConfig(
        tls=False,
        oidc=WebOidcConfig(
            tenant_id=info.tenant_id,
            client_id=console_app.client_id,
            client_secret="env:CONSOLE_TEST_OIDC_SECRET",
            authority=info.login_base,
            ca_file=info.ca_file,
            app_roles={APPROVER_ROLE: "approver"},
            group_roles={operator_by_group[1]: "operator"},
        ),
    )


def _start(client: object, next_page: str = "/tokens") -> str:
    answer = client.get(f"/signin/entra?next={next_page}", follow_redirects=False)  # type: ignore[attr-defined]
    assert answer.status_code == 303, answer.text
    location: str = answer.headers["location"]
    return location


def test_an_approver_by_app_role_signs_in_with_pkce_and_nonce(
    graph_sandbox: RunningSandbox,
    console_app: ConsoleApp,
    web_client: WebClientFactory,
    web_runtime: Runtime,
) -> None:
    user_id, upn = add_user(graph_sandbox, console_app, "ada")
    assign_approver(graph_sandbox, console_app, user_id)
    browser = web_client()
    browser.get("/signin")
    before = browser.cookies[SESSION_COOKIE]
    authorize = _start(browser)
    query = parse_qs(urlparse(authorize).query)
    assert authorize.startswith(graph_sandbox.info.login_base)
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["nonce"][0] and query["state"][0]
    assert query["scope"] == ["openid profile User.Read"]
    back = sign_in_at_entra(graph_sandbox, authorize, upn)
    assert back.startswith(CALLBACK)
    answer = browser.get(back.removeprefix("http://testserver"), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/tokens"
    assert browser.cookies[SESSION_COOKIE] != before  # a new session id at sign-in
    me = browser.get("/api/v1/me").json()
    assert me == {"name": upn, "display_name": "Ada", "role": "approver", "method": "entra"}
    with web_runtime.sessions() as db:
        [record] = db.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "console.sign_in", AuditRecord.actor == upn
            )
        )
    assert record.outcome == "succeeded" and record.details["method"] == "entra"


def test_a_group_maps_to_its_role(
    graph_sandbox: RunningSandbox, operator_by_group: tuple[str, str], web_client: WebClientFactory
) -> None:
    upn, _group = operator_by_group
    browser = web_client()
    back = sign_in_at_entra(graph_sandbox, _start(browser), upn)
    browser.get(back.removeprefix("http://testserver"))
    assert browser.get("/api/v1/me").json()["role"] == "operator"


def test_someone_no_mapping_names_is_refused_and_audited(
    graph_sandbox: RunningSandbox,
    console_app: ConsoleApp,
    web_client: WebClientFactory,
    web_runtime: Runtime,
) -> None:
    _user_id, upn = add_user(graph_sandbox, console_app, "mallory")
    browser = web_client()
    back = sign_in_at_entra(graph_sandbox, _start(browser), upn)
    answer = browser.get(back.removeprefix("http://testserver"))
    assert answer.status_code == 403
    assert "has no dirguard role" in answer.text
    assert browser.get("/api/v1/me").status_code == 401
    with web_runtime.sessions() as db:
        [record] = db.scalars(select(AuditRecord).where(AuditRecord.actor == upn))
    assert record.outcome == "failed" and "no dirguard role" in record.details["reason"]


def test_an_answer_for_another_browser_is_refused(
    graph_sandbox: RunningSandbox, console_app: ConsoleApp, web_client: WebClientFactory
) -> None:
    """Login CSRF: an attacker's code and state, delivered to the victim's browser."""
    user_id, upn = add_user(graph_sandbox, console_app, "eve")
    assign_approver(graph_sandbox, console_app, user_id)
    attacker, victim = web_client(), web_client()
    back = sign_in_at_entra(graph_sandbox, _start(attacker), upn)
    _start(victim)  # the victim has a sign-in of their own under way
    answer = victim.get(back.removeprefix("http://testserver"))
    assert answer.status_code == 401
    assert "does not belong to a sign-in started in this browser" in answer.text
    assert victim.get("/api/v1/me").status_code == 401


@pytest.mark.parametrize(
    ("change", "refusal"),
    [("nonce", "nonce is not this sign-in"), ("verifier", "Code_Verifier does not match")],
)
def test_the_nonce_and_the_pkce_verifier_are_checked(
    graph_sandbox: RunningSandbox,
    console_app: ConsoleApp,
    web_client: WebClientFactory,
    change: str,
    refusal: str,
) -> None:
    """The flow state kept in the session is changed between the two legs: with another nonce
    the ID token is refused by dirguard, with another verifier the code by the tenant."""
    user_id, upn = add_user(graph_sandbox, console_app, "ivan")
    assign_approver(graph_sandbox, console_app, user_id)
    browser = web_client()
    back = sign_in_at_entra(graph_sandbox, _start(browser), upn)
    app = browser.app
    context = web_context_of(app)  # type: ignore[arg-type]
    session = context.sessions.find(browser.cookies[SESSION_COOKIE])
    assert session is not None
    flow = dict(session.data["oidc"])
    flow[change] = "x" * len(flow[change])
    context.sessions.save_data(session, {"oidc": flow})
    answer = browser.get(back.removeprefix("http://testserver"))
    assert answer.status_code == 401, answer.text
    assert refusal in answer.text
    assert browser.get("/api/v1/me").status_code == 401


def test_an_entra_account_disabled_in_dirguard_cannot_sign_in(
    graph_sandbox: RunningSandbox, console_app: ConsoleApp, web_client: WebClientFactory
) -> None:
    user_id, upn = add_user(graph_sandbox, console_app, "otto")
    assign_approver(graph_sandbox, console_app, user_id)
    first = web_client()
    first.get(sign_in_at_entra(graph_sandbox, _start(first), upn).removeprefix("http://testserver"))
    admin = web_client(role="administrator")
    assert admin.patch(f"/api/v1/accounts/{upn}", json={"disabled": True}).status_code == 200
    assert first.get("/api/v1/me").status_code == 401  # signed out at once
    again = web_client()
    answer = again.get(
        sign_in_at_entra(graph_sandbox, _start(again), upn).removeprefix("http://testserver")
    )
    assert answer.status_code == 401 and "disabled in dirguard" in answer.text
