"""API tokens: made in the console and the API, shown once, stored hashed, scoped, expiring,
revocable, every use audited."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from dirguard.services.runtime import Runtime
from dirguard.store.models import AuditRecord
from tests.web.conftest import ManualClock, WebClientFactory


def _dump(runtime: Runtime) -> str:
    """Every row of every table, as text (what someone with the database file would see)."""
    out = []
    with runtime.sessions() as db:
        names = db.execute(text("SELECT name FROM sqlite_master WHERE type='table'")).scalars()
        for name in list(names):
            out.extend(str(row) for row in db.execute(text(f'SELECT * FROM "{name}"')))  # noqa: S608
    return "\n".join(out)


def test_a_token_made_in_the_api_works_and_the_store_never_holds_it(
    web_client: WebClientFactory, web_runtime: Runtime
) -> None:
    person = web_client(role="operator")
    made = person.post("/api/v1/tokens", json={"name": "nightly report", "role": "viewer"})
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    assert token.startswith("dgt_") and made.json()["info"]["role"] == "viewer"
    robot = web_client()
    robot.headers["Authorization"] = f"Bearer {token}"
    assert robot.get("/api/v1/me").json() == {
        "name": "operator-user",
        "display_name": None,
        "role": "viewer",
        "method": "token",
    }
    assert token not in _dump(web_runtime)
    assert token[4:] not in _dump(web_runtime)
    listed = person.get("/api/v1/tokens").json()
    assert [t["name"] for t in listed] == ["nightly report"]
    assert "token" not in listed[0]


def test_a_token_cannot_exceed_its_makers_role(web_client: WebClientFactory) -> None:
    person = web_client(role="viewer")
    answer = person.post("/api/v1/tokens", json={"name": "x", "role": "approver"})
    assert answer.status_code == 403
    assert "cannot exceed yours (viewer)" in answer.json()["detail"]


def test_a_token_cannot_make_tokens(web_client: WebClientFactory) -> None:
    robot = web_client(role="administrator", token=True)
    answer = robot.post("/api/v1/tokens", json={"name": "more", "role": "viewer"})
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"


def test_a_revoked_or_expired_token_is_refused(
    web_client: WebClientFactory, web_clock: ManualClock
) -> None:
    person = web_client(role="approver")
    short = person.post(
        "/api/v1/tokens", json={"name": "short", "role": "approver", "expires_in_days": 1}
    ).json()
    revoked = person.post("/api/v1/tokens", json={"name": "gone"}).json()
    assert person.delete(f"/api/v1/tokens/{revoked['info']['id']}").json()["state"] == "revoked"
    robot = web_client()
    robot.headers["Authorization"] = f"Bearer {revoked['token']}"
    assert robot.get("/api/v1/me").status_code == 401
    robot.headers["Authorization"] = f"Bearer {short['token']}"
    assert robot.get("/api/v1/me").status_code == 200
    web_clock.advance(days=1)
    assert robot.get("/api/v1/me").status_code == 401


def test_nobody_else_revokes_your_token(web_client: WebClientFactory) -> None:
    owner = web_client(role="operator")
    made = owner.post("/api/v1/tokens", json={"name": "mine"}).json()
    other = web_client(role="approver")
    assert other.delete(f"/api/v1/tokens/{made['info']['id']}").status_code == 404
    admin = web_client(role="administrator")
    assert admin.delete(f"/api/v1/tokens/{made['info']['id']}").status_code == 200


def test_every_token_use_is_audited(web_client: WebClientFactory, web_runtime: Runtime) -> None:
    robot = web_client(role="viewer", token=True)
    robot.get("/api/v1/me")
    robot.headers["Authorization"] = "Bearer dgt_not-a-token"
    robot.get("/api/v1/me")
    with web_runtime.sessions() as db:
        uses = list(
            db.scalars(select(AuditRecord).where(AuditRecord.action == "console.token.use"))
        )
    assert [(u.actor, u.outcome, u.details["use"]) for u in uses] == [
        ("viewer-user", "succeeded", "GET /api/v1/me"),
        ("anonymous", "denied", "GET /api/v1/me"),
    ]


def test_the_tokens_page_shows_a_new_token_once(web_client: WebClientFactory) -> None:
    client = web_client(role="operator")
    page = client.post("/tokens", data={"name": "ci", "role": "operator", "days": "30"})
    assert page.status_code == 201
    shown = re.search(r'<p class="secret" id="new-token">(dgt_[^<]+)</p>', page.text)
    assert shown is not None
    again = client.get("/tokens")
    assert shown.group(1) not in again.text and "ci" in again.text
    robot = web_client()
    robot.headers["Authorization"] = f"Bearer {shown.group(1)}"
    assert robot.get("/api/v1/me").json()["role"] == "operator"
    token_id = client.get("/api/v1/tokens").json()[0]["id"]
    revoked = client.post(f"/tokens/{token_id}/revoke", follow_redirects=False)
    assert revoked.status_code == 303
    assert robot.get("/api/v1/me").status_code == 401


def test_an_administrator_manages_accounts_in_the_api(web_client: WebClientFactory) -> None:
    admin = web_client(role="administrator")
    made = admin.post(
        "/api/v1/accounts", json={"name": "erin", "role": "viewer", "password": "x" * 12}
    )
    assert made.status_code == 201, made.text
    changed = admin.patch("/api/v1/accounts/erin", json={"role": "approver"})
    assert changed.json()["role"] == "approver"
    names = [a["name"] for a in admin.get("/api/v1/accounts").json()]
    assert "erin" in names
    assert "password" not in str(admin.get("/api/v1/accounts").json())
    short = admin.post("/api/v1/accounts", json={"name": "f", "password": "short"})
    assert short.status_code == 422
    assert "password" in short.json()["detail"]
