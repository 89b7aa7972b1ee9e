"""Bearer validation, per-endpoint permissions and Graph's error envelope."""

from __future__ import annotations

import httpx

from tests.fixtures.graph_sandbox import RunningSandbox


def _error(answer: httpx.Response) -> dict[str, object]:
    error: dict[str, object] = answer.json()["error"]
    return error


def test_missing_token_is_401_in_graphs_envelope(graph_sandbox: RunningSandbox) -> None:
    with httpx.Client(base_url=graph_sandbox.info.graph_base, verify=graph_sandbox.tls()) as client:
        answer = client.get("/users", headers={"client-request-id": "my-own-id"})
    assert answer.status_code == 401
    error = _error(answer)
    assert error["code"] == "InvalidAuthenticationToken"
    inner = error["innerError"]
    assert isinstance(inner, dict)
    assert set(inner) == {"date", "request-id", "client-request-id"}
    assert inner["client-request-id"] == "my-own-id"
    assert answer.headers["client-request-id"] == "my-own-id"
    assert inner["request-id"] == answer.headers["request-id"]


def test_a_forged_token_is_refused(graph_sandbox: RunningSandbox) -> None:
    token = graph_sandbox.token()
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-4]}AAAA"
    with httpx.Client(base_url=graph_sandbox.info.graph_base, verify=graph_sandbox.tls()) as client:
        answer = client.get("/users", headers={"Authorization": f"Bearer {forged}"})
    assert answer.status_code == 401
    assert _error(answer)["code"] == "InvalidAuthenticationToken"


def test_read_only_app_reads_but_cannot_write(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client(read_only=True) as client:
        assert client.get("/users").status_code == 200
        assert client.get("/groups").status_code == 200
        assert client.get("/auditLogs/directoryAudits").status_code == 200
        some_user = next(iter(graph_sandbox.state.users))
        answer = client.patch(f"/users/{some_user}", json={"jobTitle": "Nope"})
    assert answer.status_code == 403
    error = _error(answer)
    assert error["code"] == "Authorization_RequestDenied"
    assert error["message"] == "Insufficient privileges to complete the operation."
    assert graph_sandbox.state.users[some_user]["jobTitle"] != "Nope"


def test_unknown_segment_and_bad_body_are_named(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as client:
        answer = client.get("/usersx")
        assert answer.status_code == 400
        assert "usersx" in str(_error(answer)["message"])
        some_user = next(iter(graph_sandbox.state.users))
        answer = client.patch(f"/users/{some_user}", json={"shoeSize": 42})
        assert answer.status_code == 400
        assert "shoeSize" in str(_error(answer)["message"])
        answer = client.patch(f"/users/{some_user}", json={"id": "x"})
        assert "read-only" in str(_error(answer)["message"])
