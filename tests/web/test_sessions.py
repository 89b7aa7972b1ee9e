"""Console sessions on the real app: fixation, expiry, rate limiting, TOTP, and the audit log."""

from __future__ import annotations

import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from dirguard.services.console.roles import Role
from dirguard.services.console.secrets_hash import secret_hash
from dirguard.services.runtime import Runtime
from dirguard.store.console_models import ConsoleSession
from dirguard.store.models import AuditRecord
from dirguard.web.access import SESSION_COOKIE
from tests.web.conftest import PASSWORD, ManualClock, WebClientFactory, csrf_of, web_context_of


def _audit(runtime: Runtime, action: str) -> list[AuditRecord]:
    with runtime.sessions() as db:
        return list(db.scalars(select(AuditRecord).where(AuditRecord.action == action)))


def _add(app: FastAPI, name: str = "alice", role: Role = Role.OPERATOR) -> None:
    web_context_of(app).accounts.add(name, role, PASSWORD, by="tests")


def _post_signin(client: TestClient, name: str, password: str, code: str = "") -> int:
    page = client.get("/signin")
    answer = client.post(
        "/signin",
        data={"name": name, "password": password, "code": code, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    return answer.status_code


def test_a_session_id_planted_before_sign_in_is_worthless_after(
    web_app: FastAPI, web_client: WebClientFactory
) -> None:
    _add(web_app)
    attacker = web_client()
    attacker.get("/signin")
    planted = attacker.cookies[SESSION_COOKIE]
    victim = web_client()
    victim.cookies.set(
        SESSION_COOKIE, planted, domain="testserver.local"
    )  # the id the attacker fixed in the victim's browser
    assert _post_signin(victim, "alice", PASSWORD) == 303
    assert victim.cookies[SESSION_COOKIE] != planted
    assert victim.get("/api/v1/me").json()["name"] == "alice"
    answer = attacker.get("/api/v1/me")
    assert answer.status_code == 401  # the planted id was replaced, not signed in
    with web_context_of(web_app).runtime.sessions() as db:
        assert db.get(ConsoleSession, secret_hash(planted)) is None


def test_the_store_holds_only_the_session_ids_hash(
    web_app: FastAPI, web_client: WebClientFactory, web_runtime: Runtime
) -> None:
    client = web_client(role="viewer")
    cookie = client.cookies[SESSION_COOKIE]
    with web_runtime.sessions() as db:
        ids = list(db.scalars(select(ConsoleSession.id_hash)))
    assert secret_hash(cookie) in ids and cookie not in ids


def test_idle_timeout_ends_the_session(
    web_client: WebClientFactory, web_clock: ManualClock
) -> None:
    client = web_client(role="viewer")
    web_clock.advance(minutes=29)
    assert client.get("/api/v1/me").status_code == 200  # used: the idle time starts again
    web_clock.advance(minutes=29)
    assert client.get("/api/v1/me").status_code == 200
    web_clock.advance(minutes=30)
    assert client.get("/api/v1/me").status_code == 401
    page = client.get("/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/signin?next=%2F"


def test_absolute_timeout_even_when_never_idle(
    web_client: WebClientFactory, web_clock: ManualClock
) -> None:
    client = web_client(role="viewer")
    for _ in range(12 * 4 - 1):
        web_clock.advance(minutes=15)
        assert client.get("/api/v1/me").status_code == 200
    web_clock.advance(minutes=15)  # 12 h after sign-in
    assert client.get("/api/v1/me").status_code == 401


def test_sign_in_is_rate_limited_per_account(
    web_app: FastAPI, web_client: WebClientFactory, web_clock: ManualClock, web_runtime: Runtime
) -> None:
    _add(web_app)
    client = web_client()
    for _ in range(5):
        assert _post_signin(client, "alice", "wrong password!") == 401
    assert _post_signin(client, "alice", PASSWORD) == 429  # right password, still refused
    web_clock.advance(minutes=16)
    assert _post_signin(client, "alice", PASSWORD) == 303
    outcomes = [r.outcome for r in _audit(web_runtime, "console.sign_in")]
    assert outcomes == ["failed"] * 5 + ["denied", "succeeded"]
    assert all(
        "wrong password!" not in str(r.details) for r in _audit(web_runtime, "console.sign_in")
    )


def test_sign_in_is_rate_limited_per_address(
    web_app: FastAPI, web_client: WebClientFactory
) -> None:
    _add(web_app, "bob")
    client = web_client()
    for n in range(5):
        assert _post_signin(client, f"guess{n}", "whatever it is") == 401
    assert _post_signin(client, "bob", PASSWORD) == 429  # another account, same address


def test_totp_is_asked_for_and_checked(
    web_app: FastAPI, web_client: WebClientFactory, web_clock: ManualClock, web_runtime: Runtime
) -> None:
    accounts = web_context_of(web_app).accounts
    _add(web_app, "carol")
    uri = accounts.enroll_totp("carol", by="tests")
    seed = pyotp.parse_uri(uri).secret
    client = web_client()
    assert _post_signin(client, "carol", PASSWORD) == 401
    wrong = f"{(int(pyotp.TOTP(seed).at(web_clock.now)) + 1) % 1_000_000:06d}"
    assert _post_signin(client, "carol", PASSWORD, wrong) == 401
    assert _post_signin(client, "carol", PASSWORD, pyotp.TOTP(seed).at(web_clock.now)) == 303
    replay = web_client()
    assert _post_signin(replay, "carol", PASSWORD, pyotp.TOTP(seed).at(web_clock.now)) == 401
    web_clock.advance(seconds=30)
    assert _post_signin(replay, "carol", PASSWORD, pyotp.TOTP(seed).at(web_clock.now)) == 303
    with web_runtime.sessions() as db:
        stored = db.execute(select(AuditRecord.details)).all()
    assert seed not in str(stored)
    reasons = [r.details.get("reason") for r in _audit(web_runtime, "console.sign_in")]
    assert reasons == [
        "second factor missing",
        "wrong second factor",
        None,
        "second factor code used before",
        None,
    ]


def test_the_totp_seed_is_not_stored_in_clear(web_app: FastAPI, web_runtime: Runtime) -> None:
    from dirguard.store.console_models import ConsoleAccount

    _add(web_app, "dave")
    seed = pyotp.parse_uri(web_context_of(web_app).accounts.enroll_totp("dave", by="t")).secret
    with web_runtime.sessions() as db:
        row = db.scalars(select(ConsoleAccount).where(ConsoleAccount.name == "dave")).one()
    assert row.totp_secret is not None and seed not in row.totp_secret


def test_sign_out_ends_the_session_and_is_audited(
    web_client: WebClientFactory, web_runtime: Runtime
) -> None:
    client = web_client(role="viewer")
    answer = client.post("/signout", follow_redirects=False)
    assert answer.status_code == 303
    assert client.get("/api/v1/me").status_code == 401
    [record] = _audit(web_runtime, "console.sign_out")
    assert record.actor == "viewer-user"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil"])
def test_sign_in_never_redirects_off_site(
    web_app: FastAPI, web_client: WebClientFactory, target: str
) -> None:
    _add(web_app)
    client = web_client()
    page = client.get("/signin")
    answer = client.post(
        "/signin",
        data={
            "name": "alice",
            "password": PASSWORD,
            "next": target,
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"


def test_disabling_an_account_ends_its_sessions(
    web_app: FastAPI, web_client: WebClientFactory
) -> None:
    client = web_client(role="operator")
    web_context_of(web_app).accounts.set_disabled("operator-user", True, by="tests")
    assert client.get("/api/v1/me").status_code == 401
