"""``signInActivity`` on users (https://learn.microsoft.com/en-us/graph/api/resources/signInActivity):
returned only when ``$select`` names it, derived from the sign-in log, and refused (403) to an
application without AuditLog.Read.All."""

from __future__ import annotations

from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.identity_helpers import app_client


def _newest(sandbox: RunningSandbox, user_id: str, *, successful: bool) -> str | None:
    times = [
        e["createdDateTime"]
        for e in sandbox.state.sign_in_log
        if e["userId"] == user_id and (not successful or e["status"]["errorCode"] == 0)
    ]
    return max(times, default=None)


def test_sign_in_activity_only_when_selected(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as graph:
        plain = graph.get("/users").json()["value"]
        assert all("signInActivity" not in user for user in plain)
        users = graph.get("/users", params={"$select": "id,signInActivity"}).json()["value"]
        one = graph.get(f"/users/{users[0]['id']}", params={"$select": "signInActivity"})
    for user in users:
        activity = user["signInActivity"]
        if _newest(graph_sandbox, user["id"], successful=False) is None:
            assert activity is None
            continue
        assert activity["lastSignInDateTime"] == _newest(
            graph_sandbox, user["id"], successful=False
        )
        assert activity["lastSuccessfulSignInDateTime"] == _newest(
            graph_sandbox, user["id"], successful=True
        )
    assert one.json()["signInActivity"] == users[0]["signInActivity"]


def test_sign_in_activity_needs_audit_log_read_all(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as graph:
        users_only = app_client(graph_sandbox, graph, "User.Read.All")
    with users_only:
        assert users_only.get("/users").status_code == 200
        refused = users_only.get("/users", params={"$select": "id,signInActivity"})
    assert refused.status_code == 403, refused.text
