"""``$expand``, ``$orderby``, ``any()`` lambdas, ``/$count`` and a user's manager, as in Graph."""

from __future__ import annotations

from tests.fixtures.graph_sandbox import RunningSandbox

EVENTUAL = {"ConsistencyLevel": "eventual"}


def _two_users(sandbox: RunningSandbox) -> tuple[str, str, str]:
    ids = list(sandbox.state.users)
    return ids[1], ids[2], ids[3]


def test_manager_set_read_expand_direct_reports_and_remove(graph_sandbox: RunningSandbox) -> None:
    employee, manager, other = _two_users(graph_sandbox)
    base = graph_sandbox.info.graph_base
    with graph_sandbox.client() as client:
        assert client.get(f"/users/{employee}/manager").status_code == 404
        put = client.put(
            f"/users/{employee}/manager/$ref", json={"@odata.id": f"{base}/users/{manager}"}
        )
        assert put.status_code == 204
        client.put(f"/users/{other}/manager/$ref", json={"@odata.id": f"{base}/users/{manager}"})
        got = client.get(f"/users/{employee}/manager").json()
        assert got["id"] == manager
        assert got["@odata.type"] == "#microsoft.graph.user"
        expanded = client.get(f"/users/{employee}", params={"$expand": "manager"}).json()
        assert expanded["manager"]["id"] == manager
        no_manager = client.get(f"/users/{manager}", params={"$expand": "manager"}).json()
        assert "manager" not in no_manager
        reports = client.get(f"/users/{manager}/directReports").json()["value"]
        assert sorted(item["id"] for item in reports) == sorted([employee, other])
        loop = client.put(
            f"/users/{manager}/manager/$ref", json={"@odata.id": f"{base}/users/{employee}"}
        )
        assert loop.status_code == 400
        itself = client.put(
            f"/users/{employee}/manager/$ref", json={"@odata.id": f"{base}/users/{employee}"}
        )
        assert itself.status_code == 400
        assert client.delete(f"/users/{employee}/manager/$ref").status_code == 204
        assert client.get(f"/users/{employee}/manager").status_code == 404
        assert client.delete(f"/users/{employee}/manager/$ref").status_code == 404
    with graph_sandbox.client(read_only=True) as client:
        denied = client.put(
            f"/users/{employee}/manager/$ref", json={"@odata.id": f"{base}/users/{manager}"}
        )
    assert denied.status_code == 403
    with graph_sandbox.client(read_only=True) as client:
        audits = client.get("/auditLogs/directoryAudits", params={"$top": "999"}).json()["value"]
    activities = [
        a["activityDisplayName"]
        for a in audits
        if a["targetResources"] and a["targetResources"][0]["id"] == employee
    ]
    assert activities.count("Set user manager") == 1
    assert activities.count("Remove user manager") == 1


def test_expand_members_on_groups(graph_sandbox: RunningSandbox) -> None:
    state = graph_sandbox.state
    with graph_sandbox.client() as client:
        listed = client.get("/groups", params={"$expand": "members", "$top": "999"})
        one_id = next(g for g, members in state.members.items() if members)
        one = client.get(f"/groups/{one_id}", params={"$expand": "members"}).json()
        bad = client.get("/groups", params={"$expand": "memberz"})
    assert listed.status_code == 200
    for group in listed.json()["value"]:
        expected = [m for m in state.members.get(group["id"], []) if state.lookup(m)][:20]
        assert [member["id"] for member in group["members"]] == expected
    assert {m["id"] for m in one["members"]} == set(state.members[one_id][:20])
    assert all("@odata.type" in member for member in one["members"])
    assert bad.status_code == 400
    assert "memberz" in bad.json()["error"]["message"]


def test_orderby_where_graph_sorts_and_400_elsewhere(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as client:
        ascending = client.get("/users", params={"$orderby": "displayName", "$top": "999"})
        descending = client.get(
            "/users", params={"$orderby": "userPrincipalName desc", "$top": "999"}
        )
        groups = client.get("/groups", params={"$orderby": "displayName", "$top": "999"})
        unsupported = client.get("/users", params={"$orderby": "jobTitle"})
        group_unsupported = client.get("/groups", params={"$orderby": "mail"})
        with_filter = client.get(
            "/users", params={"$orderby": "displayName", "$filter": "accountEnabled eq true"}
        )
        advanced = client.get(
            "/users",
            params={
                "$orderby": "displayName",
                "$filter": "accountEnabled eq true",
                "$count": "true",
            },
            headers=EVENTUAL,
        )
    names = [user["displayName"] for user in ascending.json()["value"]]
    assert names == sorted(names, key=str.casefold)
    upns = [user["userPrincipalName"] for user in descending.json()["value"]]
    assert upns == sorted(upns, key=str.casefold, reverse=True)
    group_names = [group["displayName"] for group in groups.json()["value"]]
    assert group_names == sorted(group_names, key=str.casefold)
    for answer in (unsupported, group_unsupported, with_filter):
        assert answer.status_code == 400
        assert answer.json()["error"]["code"] == "Request_UnsupportedQuery"
    assert unsupported.json()["error"]["message"] == "Sorting not supported for current query."
    assert advanced.status_code == 200
    enabled = [u["displayName"] for u in advanced.json()["value"]]
    assert enabled == sorted(enabled, key=str.casefold)
    assert advanced.json()["@odata.count"] == sum(
        1 for u in graph_sandbox.state.users.values() if u["accountEnabled"]
    )


def test_any_lambdas_on_collections(graph_sandbox: RunningSandbox) -> None:
    state = graph_sandbox.state
    sku = "6fd2c87f-b296-42f0-b197-1e91e994b900"
    licensed = list(state.users)[4:7]
    for user_id in licensed:
        state.users[user_id]["assignedLicenses"] = [{"skuId": sku, "disabledPlans": []}]
    admin_upn = graph_sandbox.info.admin_user_principal_name
    with graph_sandbox.client() as client:
        by_sku = client.get(
            "/users",
            params={"$filter": f"assignedLicenses/any(x:x/skuId eq {sku})", "$top": "999"},
        )
        smtp = client.get(
            "/users",
            params={"$filter": "proxyAddresses/any(p:startswith(p, 'smtp:'))", "$top": "999"},
        )
        identity = client.get(
            "/users",
            params={
                "$filter": f"identities/any(c:c/issuerAssignedId eq '{admin_upn}' and "
                f"c/issuer eq '{admin_upn.split('@')[1]}')"
            },
        )
        unified = client.get(
            "/groups", params={"$filter": "groupTypes/any(c:c eq 'Unified')", "$top": "999"}
        )
        ends = client.get("/users", params={"$filter": "proxyAddresses/any(p:endswith(p, '.com'))"})
        ends_ok = client.get(
            "/users",
            params={"$filter": "proxyAddresses/any(p:endswith(p, '.com'))", "$count": "true"},
            headers=EVENTUAL,
        )
        broken = client.get("/users", params={"$filter": "proxyAddresses/any(p startswith"})
    holders = [
        user_id
        for user_id, user in state.users.items()
        if any(entry["skuId"] == sku for entry in user["assignedLicenses"])
    ]
    assert set(licensed) <= set(holders)
    assert sorted(u["id"] for u in by_sku.json()["value"]) == sorted(holders)
    assert len(smtp.json()["value"]) == len(state.users)
    assert [u["userPrincipalName"] for u in identity.json()["value"]] == [admin_upn]
    expected = sorted(g for g, r in state.groups.items() if "Unified" in r["groupTypes"])
    assert sorted(g["id"] for g in unified.json()["value"]) == expected
    assert ends.status_code == 400 and ends.json()["error"]["code"] == "Request_UnsupportedQuery"
    assert ends_ok.status_code == 200
    assert broken.status_code == 400


def test_count_paths_are_plain_text_and_need_eventual(graph_sandbox: RunningSandbox) -> None:
    state = graph_sandbox.state
    with graph_sandbox.client() as client:
        users = client.get("/users/$count", headers=EVENTUAL)
        groups = client.get("/groups/$count", headers=EVENTUAL)
        filtered = client.get(
            "/users/$count", params={"$filter": "accountEnabled eq false"}, headers=EVENTUAL
        )
        without = client.get("/users/$count")
    assert users.status_code == 200
    assert users.headers["content-type"].startswith("text/plain")
    assert users.text == str(len(state.users))
    assert groups.text == str(len(state.groups))
    assert filtered.text == str(sum(1 for u in state.users.values() if not u["accountEnabled"]))
    assert without.status_code == 400
    assert "ConsistencyLevel" in without.json()["error"]["message"]
