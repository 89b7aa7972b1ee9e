"""OData query options and delta rounds on users and groups."""

from __future__ import annotations

import datetime

import httpx

from tests.fixtures.graph_sandbox import RunningSandbox


def _all_pages(client: httpx.Client, url: str, **kwargs: object) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    answer = client.get(url, **kwargs).json()  # type: ignore[arg-type]
    items.extend(answer["value"])
    while "@odata.nextLink" in answer:
        answer = client.get(answer["@odata.nextLink"]).json()
        items.extend(answer["value"])
    return items


def test_paging_with_top_visits_every_user_once(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as client:
        first = client.get("/users", params={"$top": "4"}).json()
        assert "$skiptoken=" in first["@odata.nextLink"]
        users = _all_pages(client, "/users", params={"$top": "4", "$select": "id,displayName"})
    ids = [user["id"] for user in users]
    assert sorted(ids) == sorted(graph_sandbox.state.users)
    assert all(set(user) == {"id", "displayName"} for user in users)


def test_select_filter_and_count(graph_sandbox: RunningSandbox) -> None:
    state = graph_sandbox.state
    department = next(u["department"] for u in state.users.values() if u["department"] != "IT")
    expected = {u["id"] for u in state.users.values() if u["department"] == department}
    with graph_sandbox.client(read_only=True) as client:
        answer = client.get(
            "/users",
            params={"$filter": f"department eq '{department.upper()}'", "$select": "id,department"},
        )
        assert {u["id"] for u in answer.json()["value"]} == expected
        assert answer.json()["@odata.context"].endswith("$metadata#users(id,department)")
        names = sorted(u["displayName"] for u in state.users.values())
        prefix = names[0][:3]
        answer = client.get("/users", params={"$filter": f"startswith(displayName,'{prefix}')"})
        assert all(u["displayName"].startswith(prefix) for u in answer.json()["value"])
        upns = [u["userPrincipalName"] for u in list(state.users.values())[:2]]
        answer = client.get(
            "/users", params={"$filter": f"userPrincipalName in ('{upns[0]}','{upns[1]}')"}
        )
        assert sorted(u["userPrincipalName"] for u in answer.json()["value"]) == sorted(upns)
        refused = client.get("/users", params={"$count": "true"})
        assert refused.status_code == 400
        refused = client.get("/users", params={"$filter": f"department ne '{department}'"})
        assert refused.status_code == 400
        counted = client.get(
            "/users",
            params={"$filter": f"department ne '{department}'", "$count": "true", "$top": "1"},
            headers={"ConsistencyLevel": "eventual"},
        ).json()
        assert counted["@odata.count"] == len(state.users) - len(expected)
        bad = client.get("/users", params={"$select": "id,notAProperty"})
        assert bad.status_code == 400
        assert "notAProperty" in bad.json()["error"]["message"]


def _delta_round(client: httpx.Client, url: str) -> tuple[list[dict[str, object]], str]:
    items: list[dict[str, object]] = []
    answer = client.get(url).json()
    items.extend(answer["value"])
    while "@odata.nextLink" in answer:
        answer = client.get(answer["@odata.nextLink"]).json()
        items.extend(answer["value"])
    link: str = answer["@odata.deltaLink"]
    return items, link


def test_user_delta_round_sees_exactly_the_changes(graph_sandbox: RunningSandbox) -> None:
    state = graph_sandbox.state
    with graph_sandbox.client() as client:
        initial, link = _delta_round(client, "/users/delta?$select=displayName,jobTitle")
        assert {item["id"] for item in initial} == set(state.users)
        changed_id, deleted_id = list(state.users)[-2:]
        assert client.patch(f"/users/{changed_id}", json={"jobTitle": "Delta"}).status_code == 204
        assert client.delete(f"/users/{deleted_id}").status_code == 204
        changes, link = _delta_round(client, link)
        assert {item["id"] for item in changes} == {changed_id, deleted_id}
        by_id = {item["id"]: item for item in changes}
        assert by_id[changed_id]["jobTitle"] == "Delta"
        assert by_id[deleted_id]["@removed"] == {"reason": "changed"}
        quiet, _ = _delta_round(client, link)
        assert quiet == []
        client.post(f"/directory/deletedItems/{deleted_id}/restore")


def test_group_delta_reports_member_changes(graph_sandbox: RunningSandbox) -> None:
    state = graph_sandbox.state
    group_id = next(
        gid
        for gid, ids in state.members.items()
        if gid in state.groups and 0 < len(ids) < len(state.users)
    )
    with graph_sandbox.client() as client:
        _, link = _delta_round(client, "/groups/delta?$deltatoken=latest")
        newcomer = next(u for u in state.users if u not in state.members[group_id])
        leaver = state.members[group_id][0]
        client.post(
            f"/groups/{group_id}/members/$ref",
            json={"@odata.id": f"{graph_sandbox.info.graph_base}/directoryObjects/{newcomer}"},
        )
        client.delete(f"/groups/{group_id}/members/{leaver}/$ref")
        changes, _ = _delta_round(client, link)
    assert [item["id"] for item in changes] == [group_id]
    members = changes[0]["members@delta"]
    assert isinstance(members, list)
    assert {m["id"]: "@removed" in m for m in members} == {newcomer: False, leaver: True}


def test_unknown_or_expired_delta_token_is_410(graph_sandbox: RunningSandbox) -> None:
    state = graph_sandbox.state
    with graph_sandbox.client() as client:
        assert client.get("/users/delta?$deltatoken=garbage").status_code == 410
        _, link = _delta_round(client, "/users/delta?$deltatoken=latest")
        assert client.get(link).status_code == 200
        real_clock = state.clock
        state.clock = lambda: real_clock() + datetime.timedelta(days=8)
        try:
            expired = client.get(link)
        finally:
            state.clock = real_clock
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "syncStateNotFound"
