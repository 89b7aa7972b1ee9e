"""Delta beyond users and groups, and the switch that expires every delta token at once, over the
running sandbox with plain httpx (and msgraph-sdk's delta builder for contacts).

- "Use delta query to track changes" (https://learn.microsoft.com/graph/delta-query-overview): an
  expired token is answered 410 ``syncStateNotFound``; the client starts a new full round.
- "orgContact: delta" (https://learn.microsoft.com/graph/api/orgcontact-delta).
- "oauth2permissiongrant: delta" (https://learn.microsoft.com/graph/api/oauth2permissiongrant-delta).
"""

from __future__ import annotations

import warnings
from typing import Any

import httpx
import pytest

from tests.fixtures.graph_sandbox import RunningSandbox

pytest.importorskip("msgraph", reason="msgraph-sdk is a test dependency ([test] extra)")

from tests.sandbox.sdk_client import Sdk, sdk

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

__all__ = ["sdk"]  # the module's SDK client fixture

pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]


def _round(client: httpx.Client, url: str) -> tuple[list[dict[str, Any]], str]:
    """Every page of one delta round; its items and its deltaLink."""
    items: list[dict[str, Any]] = []
    while True:
        answer = client.get(url)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        items += body["value"]
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]


def _expire(sandbox: RunningSandbox, key: str | None = None) -> httpx.Response:
    return httpx.post(
        f"{sandbox.info.login_base}/_sandbox/faults/delta-token-expiry",
        headers={"x-sandbox-admin-key": sandbox.info.admin_key if key is None else key},
        verify=sandbox.tls(),
    )


def test_expiry_switch_makes_still_valid_tokens_answer_410_then_a_full_round_works(
    graph_sandbox: RunningSandbox,
) -> None:
    state = graph_sandbox.state
    with graph_sandbox.client() as client:
        _, users_link = _round(client, "/users/delta")
        _, groups_link = _round(client, "/groups/delta?$select=displayName")
        assert client.get(users_link).status_code == 200, "the token is valid before the switch"
        assert _expire(graph_sandbox, key="wrong").status_code == 403
        assert _expire(graph_sandbox).status_code == 201
        for stale in (users_link, groups_link):
            gone = client.get(stale)
            assert gone.status_code == 410
            assert gone.json()["error"]["code"] == "syncStateNotFound"
        everyone, fresh_link = _round(client, "/users/delta")
        assert {user["id"] for user in everyone} == set(state.users)
        quiet, _ = _round(client, fresh_link)
        assert quiet == []


def test_contacts_delta_through_the_sdk_then_410_after_the_switch(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    builder = sdk.client.contacts.delta
    page = sdk.run(builder.get())
    seen = []
    while True:
        assert page is not None
        seen += page.value or []
        if page.odata_delta_link:
            break
        page = sdk.run(builder.with_url(page.odata_next_link).get())  # type: ignore[arg-type]
    link = page.odata_delta_link
    assert {contact.id for contact in seen} == set(graph_sandbox.state.contacts)
    assert all(contact.mail for contact in seen)
    assert "/contacts/delta?$deltatoken=" in link
    quiet = sdk.run(builder.with_url(link).get())
    assert quiet is not None and quiet.value == []
    assert _expire(graph_sandbox).status_code == 201
    with pytest.raises(ODataError) as gone:
        sdk.run(builder.with_url(link).get())
    assert gone.value.response_status_code == 410


def test_contacts_delta_select_is_checked_against_orgcontact(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as client:
        picked, _ = _round(client, "/contacts/delta?$select=displayName,mail")
        assert picked and all(set(item) <= {"id", "displayName", "mail"} for item in picked)
        bad = client.get("/contacts/delta?$select=jobTitle,nonsense")
    assert bad.status_code == 400
    assert "'nonsense' on type 'microsoft.graph.orgContact'" in bad.json()["error"]["message"]


def test_grant_delta_reports_new_changed_and_revoked_grants(graph_sandbox: RunningSandbox) -> None:
    state = graph_sandbox.state
    with graph_sandbox.client() as client:
        everything, link = _round(client, "/oauth2PermissionGrants/delta")
        assert {grant["id"] for grant in everything} == set(state.oauth2_grants)
        client_id, resource_id = list(state.service_principals)[:2]
        created = client.post(
            "/oauth2PermissionGrants",
            json={
                "clientId": client_id,
                "consentType": "AllPrincipals",
                "resourceId": resource_id,
                "scope": "User.Read",
            },
        )
        assert created.status_code == 201, created.text
        new_id = created.json()["id"]
        changes, link = _round(client, link)
        assert [(g["id"], g["scope"]) for g in changes] == [(new_id, "User.Read")]
        patched = client.patch(
            f"/oauth2PermissionGrants/{new_id}", json={"scope": "User.Read Mail.Read"}
        )
        assert patched.status_code == 204
        changes, link = _round(client, link)
        assert [(g["id"], g["scope"]) for g in changes] == [(new_id, "User.Read Mail.Read")]
        assert client.delete(f"/oauth2PermissionGrants/{new_id}").status_code == 204
        changes, link = _round(client, link)
        assert changes == [{"id": new_id, "@removed": {"reason": "deleted"}}]
        quiet, _ = _round(client, link)
        assert quiet == []
