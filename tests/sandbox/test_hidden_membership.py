"""Groups with hidden membership (Microsoft's group resource, ``visibility``; "List group
members"): only a Microsoft 365 group can hide its membership, only when it is created; its
members are listed only to an application holding Member.Read.Hidden."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.identity_helpers import app_client


def _group(graph: httpx.Client, **extra: Any) -> httpx.Response:
    return graph.post(
        "/groups",
        json={
            "displayName": "Merger project",
            "mailEnabled": True,
            "mailNickname": "merger",
            "securityEnabled": False,
            "groupTypes": ["Unified"],
            **extra,
        },
    )


def test_hidden_members_need_member_read_hidden(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as graph:
        created = _group(graph, visibility="HiddenMembership")
        assert created.status_code == 201, created.text
        group = created.json()
        user = graph.get("/users", params={"$top": "1"}).json()["value"][0]
        added = graph.post(
            f"/groups/{group['id']}/members/$ref",
            json={"@odata.id": f"{graph_sandbox.info.graph_base}/directoryObjects/{user['id']}"},
        )
        assert added.status_code == 204, added.text
        plain = app_client(graph_sandbox, graph, "GroupMember.Read.All")
        hidden = app_client(graph_sandbox, graph, "GroupMember.Read.All", "Member.Read.Hidden")
    with plain, hidden:
        refused = plain.get(f"/groups/{group['id']}/members")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "Authorization_RequestDenied"
        listed = hidden.get(f"/groups/{group['id']}/members")
        assert listed.status_code == 200, listed.text
        assert [m["id"] for m in listed.json()["value"]] == [user["id"]]
        shown = plain.get(f"/groups/{group['id']}", params={"$select": "id,visibility"})
        assert shown.json()["visibility"] == "HiddenMembership"  # the group itself is not hidden


def test_only_a_new_microsoft_365_group_can_hide_its_membership(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as graph:
        security = graph.post(
            "/groups",
            json={
                "displayName": "Quiet security group",
                "mailEnabled": False,
                "mailNickname": "quiet",
                "securityEnabled": True,
                "visibility": "HiddenMembership",
            },
        )
        assert security.status_code == 400
        assert "Microsoft 365 groups" in security.json()["error"]["message"]
        public = _group(graph, visibility="Public").json()
        hide_later = graph.patch(f"/groups/{public['id']}", json={"visibility": "HiddenMembership"})
        assert hide_later.status_code == 400
        assert "only when the group is created" in hide_later.json()["error"]["message"]
        unknown = _group(graph, visibility="Secret", mailNickname="merger2")
        assert unknown.status_code == 400 and "'visibility'" in unknown.json()["error"]["message"]
