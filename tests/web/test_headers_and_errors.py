"""What every answer carries (security headers) and how errors look (problem+json, pages)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.conftest import WebClientFactory


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
