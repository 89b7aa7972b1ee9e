"""What every answer carries (security headers) and how errors look (problem+json, pages)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from dirguard.services.runtime import Runtime
from dirguard.web.app import create_app
from tests.web.conftest import WebClientFactory, csrf_of


def test_pages_carry_the_security_headers(web_client: WebClientFactory) -> None:
    answer = web_client().get("/signin")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
    assert "frame-ancestors 'none'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    assert "<script>" not in answer.text and " style=" not in answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_htmx_is_served_from_the_console(web_client: WebClientFactory) -> None:
    client = web_client()
    page = client.get("/signin").text
    assert 'src="/static/htmx-2.0.11.min.js"' in page
    script = client.get("/static/htmx-2.0.11.min.js")
    assert script.status_code == 200 and "htmx" in script.text[:2000]


def test_every_page_names_the_console_icon_and_it_is_served(web_client: WebClientFactory) -> None:
    """Without a ``<link rel="icon">`` a browser asks for /favicon.ico on every page: a 404."""
    client = web_client()
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in (
        client.get("/signin").text
    )
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")


def test_unknown_api_path_is_problem_json(web_client: WebClientFactory) -> None:
    answer = web_client(role="viewer", token=True).get("/api/v1/no-such-thing")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["detail"] == "there is nothing at /api/v1/no-such-thing"


def test_unknown_page_is_a_page(web_client: WebClientFactory) -> None:
    answer = web_client(role="viewer").get("/no-such-page")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "there is nothing at /no-such-page" in answer.text


def test_a_form_post_without_the_csrf_token_is_refused(web_client: WebClientFactory) -> None:
    client = web_client(role="viewer", csrf=False)
    answer = client.post("/signout", follow_redirects=False)
    assert answer.status_code == 403
    assert "CSRF" in answer.text
    assert client.get("/api/v1/me").status_code == 200  # still signed in: nothing happened


def test_the_signin_form_cannot_be_posted_from_elsewhere(web_client: WebClientFactory) -> None:
    """A cross-site form post arrives with no (or another visitor's) token: refused."""
    client: TestClient = web_client()
    client.get("/signin")
    answer = client.post("/signin", data={"name": "x", "password": "y", "csrf_token": "forged"})
    assert answer.status_code == 403


def test_an_api_change_from_a_browser_session_needs_the_csrf_header(
    web_client: WebClientFactory,
) -> None:
    """htmx and fetch send the token as X-CSRF-Token (static/dirguard.js); without it a
    state-changing API call made with the session cookie is refused and changes nothing."""
    client = web_client(role="operator", csrf=False)
    refused = client.post("/api/v1/tokens", json={"name": "forged"})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert client.get("/api/v1/tokens").json() == []
    token = csrf_of(client.get("/").text)
    made = client.post("/api/v1/tokens", json={"name": "real"}, headers={"X-CSRF-Token": token})
    assert made.status_code == 201


def test_over_https_the_cookie_is_secure_and_host_prefixed(web_runtime: Runtime) -> None:
    app = create_app(web_runtime, secure_cookies=True)
    with TestClient(app, base_url="https://testserver") as client:
        answer = client.get("/signin")
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("__Host-dirguard_session=")
    assert "; Secure" in cookie and "; Path=/" in cookie and "Domain" not in cookie
    assert answer.headers["strict-transport-security"] == "max-age=31536000"
