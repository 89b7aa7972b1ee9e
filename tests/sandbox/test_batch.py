"""JSON batching (``POST /$batch``) as Graph answers it."""

from __future__ import annotations

from typing import Any

from tests.fixtures.graph_sandbox import RunningSandbox


def _domain(sandbox: RunningSandbox) -> str:
    return next(name for name, d in sandbox.state.domains.items() if d["isDefault"])


def _by_id(answer: Any) -> dict[str, Any]:
    return {item["id"]: item for item in answer.json()["responses"]}


def test_batch_answers_each_request_with_its_own_status(graph_sandbox: RunningSandbox) -> None:
    user_id = next(iter(graph_sandbox.state.users))
    upn = f"batch.person@{_domain(graph_sandbox)}"
    requests = [
        {"id": "1", "method": "GET", "url": f"/users/{user_id}?$select=id,displayName"},
        {"id": "2", "method": "GET", "url": "users/00000000-0000-0000-0000-000000000000"},
        {
            "id": "3",
            "method": "POST",
            "url": "/users",
            "headers": {"Content-Type": "application/json"},
            "body": {
                "accountEnabled": True,
                "displayName": "Batch Person",
                "mailNickname": "batch.person",
                "userPrincipalName": upn,
                "passwordProfile": {"password": "Sandbox-Passw0rd!"},
            },
        },
    ]
    with graph_sandbox.client() as client:
        answer = client.post("/$batch", json={"requests": requests})
    assert answer.status_code == 200
    items = _by_id(answer)
    assert items["1"]["status"] == 200
    assert items["1"]["body"]["id"] == user_id
    assert set(items["1"]["body"]) == {"@odata.context", "id", "displayName"}
    assert items["2"]["status"] == 404
    assert items["2"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert items["3"]["status"] == 201
    assert items["3"]["headers"]["content-type"].startswith("application/json")
    assert graph_sandbox.state.users[items["3"]["body"]["id"]]["userPrincipalName"] == upn


def test_depends_on_orders_requests_and_a_failed_dependency_gives_424(
    graph_sandbox: RunningSandbox,
) -> None:
    user_id = next(iter(graph_sandbox.state.users))
    requests = [
        {"id": "c", "method": "GET", "url": f"/users/{user_id}", "dependsOn": ["b"]},
        {
            "id": "b",
            "method": "PATCH",
            "url": f"/users/{user_id}",
            "headers": {"Content-Type": "application/json"},
            "body": {"jobTitle": "Batched"},
            "dependsOn": ["a"],
        },
        {"id": "a", "method": "GET", "url": "/organization"},
        {"id": "x", "method": "GET", "url": "/users/not-a-user"},
        {"id": "y", "method": "GET", "url": "/organization", "dependsOn": ["x"]},
        {"id": "z", "method": "GET", "url": "/organization", "dependsOn": ["y"]},
    ]
    with graph_sandbox.client() as client:
        answer = client.post("/$batch", json={"requests": requests})
    order = [item["id"] for item in answer.json()["responses"]]
    assert order.index("a") < order.index("b") < order.index("c")
    items = _by_id(answer)
    assert [items[key]["status"] for key in ("a", "b", "c")] == [200, 204, 200]
    assert items["c"]["body"]["jobTitle"] == "Batched"
    assert [items[key]["status"] for key in ("x", "y", "z")] == [404, 424, 424]


def test_batch_of_21_and_malformed_batches_are_refused(graph_sandbox: RunningSandbox) -> None:
    many = [{"id": str(n), "method": "GET", "url": "/organization"} for n in range(21)]
    bad_batches = {
        "exceeds the limit of 20": {"requests": many},
        "must be relative": {
            "requests": [{"id": "1", "method": "GET", "url": "https://graph.microsoft.com/v1.0/me"}]
        },
        "unknown id 'q'": {
            "requests": [{"id": "1", "method": "GET", "url": "/organization", "dependsOn": ["q"]}]
        },
        "used more than once": {
            "requests": [
                {"id": "1", "method": "GET", "url": "/organization"},
                {"id": "1", "method": "GET", "url": "/domains"},
            ]
        },
        "dependsOn cycle": {
            "requests": [
                {"id": "1", "method": "GET", "url": "/organization", "dependsOn": ["2"]},
                {"id": "2", "method": "GET", "url": "/domains", "dependsOn": ["1"]},
            ]
        },
        "Content-Type": {
            "requests": [{"id": "1", "method": "POST", "url": "/users", "body": {"a": 1}}]
        },
        "'requests' array": {"value": []},
        "cannot contain another $batch": {
            "requests": [{"id": "1", "method": "POST", "url": "/$batch"}]
        },
    }
    with graph_sandbox.client() as client:
        for phrase, batch in bad_batches.items():
            answer = client.post("/$batch", json=batch)
            assert answer.status_code == 400, phrase
            assert phrase in answer.json()["error"]["message"], phrase
        exactly_20 = client.post("/$batch", json={"requests": many[:20]})
    assert exactly_20.status_code == 200
    assert len(exactly_20.json()["responses"]) == 20


def test_batch_items_are_authorized_one_by_one(graph_sandbox: RunningSandbox) -> None:
    user_id = next(iter(graph_sandbox.state.users))
    requests = [
        {"id": "read", "method": "GET", "url": f"/users/{user_id}"},
        {"id": "write", "method": "DELETE", "url": f"/users/{user_id}"},
    ]
    with graph_sandbox.client(read_only=True) as client:
        items = _by_id(client.post("/$batch", json={"requests": requests}))
    assert items["read"]["status"] == 200
    assert items["write"]["status"] == 403
    assert items["write"]["body"]["error"]["code"] == "Authorization_RequestDenied"
    assert user_id in graph_sandbox.state.users
