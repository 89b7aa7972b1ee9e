"""First look: the console signs a local account in, shows the page and answers the API."""

from __future__ import annotations

from tests.web.conftest import WebClientFactory


def test_signed_in_viewer_sees_home_and_me(web_client: WebClientFactory) -> None:
    client = web_client(role="viewer")
    page = client.get("/")
    assert page.status_code == 200
    assert "viewer-user" in page.text
    me = client.get("/api/v1/me")
    assert me.json() == {
        "name": "viewer-user",
        "display_name": None,
        "role": "viewer",
        "method": "password",
    }


def test_token_client_reaches_the_api(web_client: WebClientFactory) -> None:
    client = web_client(role="operator", token=True)
    assert client.get("/api/v1/me").json()["role"] == "operator"
