"""Graph's throttling and the fault injection control, on a tenant whose clock tests move."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dirguard.providers.entra.graph_client import (
    MAX_RETRIES,
    GraphClient,
    GraphError,
    make_credential,
)
from dirguard_sandbox.seed_data import SeedOptions, generate_tenant
from dirguard_sandbox.server import describe
from dirguard_sandbox.throttling import resource_unit_limit
from tests.fixtures.graph_sandbox import INPROCESS_ADMIN_KEY as ADMIN_KEY
from tests.fixtures.graph_sandbox import InProcessTenant, RunningSandbox

Tenants = Callable[..., InProcessTenant]


def test_every_answer_states_its_resource_unit_cost(inprocess_tenant: Tenants) -> None:
    tenant = inprocess_tenant()
    user_id = next(iter(tenant.state.users))
    cases = {
        "/v1.0/users": "2",
        "/v1.0/users?$select=id": "1",
        f"/v1.0/users/{user_id}?$expand=manager": "3",
        "/v1.0/organization": "1",
        "/v1.0/users/no-such-user": "2",
    }
    for path, cost in cases.items():
        answer = tenant.http.get(path, headers=tenant.headers())
        assert answer.headers["x-ms-resource-unit"] == cost, path
    group_id = next(g for g, members in tenant.state.members.items() if members)
    members = tenant.http.get(f"/v1.0/groups/{group_id}/members", headers=tenant.headers())
    assert members.headers["x-ms-resource-unit"] == "3"


def test_resource_units_run_out_per_app_and_come_back_after_the_window(
    inprocess_tenant: Tenants,
) -> None:
    tenant = inprocess_tenant(users=10)
    limit = resource_unit_limit(len(tenant.state.users))
    assert limit == 3500
    for _ in range(limit // 2):
        assert tenant.http.get("/v1.0/users", headers=tenant.headers()).status_code == 200
    refused = tenant.http.get("/v1.0/users", headers=tenant.headers())
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "TooManyRequests"
    assert float(refused.headers["Retry-After"]) > 0
    scope = refused.headers["x-ms-throttle-scope"]
    assert tenant.state.tenant_id in scope and tenant.info.full_client_id in scope
    # The other application has its own bucket.
    other = tenant.http.get("/v1.0/users", headers=tenant.headers(read_only=True))
    assert other.status_code == 200
    tenant.clock.advance(float(refused.headers["Retry-After"]))
    assert tenant.http.get("/v1.0/users", headers=tenant.headers()).status_code == 200


def test_tenant_size_sets_the_resource_unit_limit() -> None:
    assert [resource_unit_limit(n) for n in (1, 49, 50, 500, 501)] == [
        3500,
        3500,
        5000,
        5000,
        8000,
    ]


def test_fractional_retry_after_when_the_window_frees_mid_second(inprocess_tenant: Tenants) -> None:
    tenant = inprocess_tenant(users=10)
    tenant.http.get("/v1.0/users", headers=tenant.headers())
    tenant.clock.advance(0.25)
    for _ in range(3500 // 2 - 1):
        tenant.http.get("/v1.0/users", headers=tenant.headers())
    refused = tenant.http.get("/v1.0/users", headers=tenant.headers())
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "9.75"


def test_audit_log_allows_five_requests_per_ten_seconds(inprocess_tenant: Tenants) -> None:
    tenant = inprocess_tenant()
    path = "/v1.0/auditLogs/directoryAudits"
    statuses = [tenant.http.get(path, headers=tenant.headers()).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    tenant.clock.advance(10)
    assert tenant.http.get(path, headers=tenant.headers()).status_code == 200


def test_conditional_access_is_one_request_per_second_per_tenant_without_retry_after(
    inprocess_tenant: Tenants,
) -> None:
    tenant = inprocess_tenant()
    path = "/v1.0/identity/conditionalAccess/policies"
    assert tenant.http.get(path, headers=tenant.headers()).status_code == 200
    refused = tenant.http.get(path, headers=tenant.headers(read_only=True))
    assert refused.status_code == 429
    assert "Retry-After" not in refused.headers
    assert refused.json()["error"]["code"] == "TooManyRequests"
    tenant.clock.advance(1.0)
    named = tenant.http.get(
        "/v1.0/identity/conditionalAccess/namedLocations", headers=tenant.headers()
    )
    assert named.status_code == 200


def test_write_quota_is_3000_per_150_seconds(inprocess_tenant: Tenants) -> None:
    tenant = inprocess_tenant()
    user_id = next(iter(tenant.state.users))
    for index in range(3000):
        if index % 1000 == 999:
            tenant.clock.advance(10)  # stay clear of the resource-unit window
        answer = tenant.http.patch(
            f"/v1.0/users/{user_id}", json={"jobTitle": f"T{index}"}, headers=tenant.headers()
        )
        assert answer.status_code == 204, (index, answer.text)
    refused = tenant.http.patch(
        f"/v1.0/users/{user_id}", json={"jobTitle": "late"}, headers=tenant.headers()
    )
    assert refused.status_code == 429
    assert "Write" in refused.headers["x-ms-throttle-scope"]
    tenant.clock.advance(float(refused.headers["Retry-After"]))
    again = tenant.http.patch(
        f"/v1.0/users/{user_id}", json={"jobTitle": "later"}, headers=tenant.headers()
    )
    assert again.status_code == 204


def test_fault_storm_needs_the_admin_key_and_ends_after_its_duration(
    inprocess_tenant: Tenants,
) -> None:
    tenant = inprocess_tenant()
    storm = {"status": 503, "rate": 1, "duration_seconds": 30, "path_pattern": "/v1.0/users*"}
    assert tenant.http.post("/_sandbox/faults", json=storm).status_code == 403
    wrong = tenant.http.post("/_sandbox/faults", json=storm, headers={"x-sandbox-admin-key": "x"})
    assert wrong.status_code == 403
    admin = {"x-sandbox-admin-key": ADMIN_KEY}
    assert tenant.http.get("/v1.0/users", headers=tenant.headers()).status_code == 200
    assert tenant.http.post("/_sandbox/faults", json=storm, headers=admin).status_code == 201
    answer = tenant.http.get("/v1.0/users", headers=tenant.headers())
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "ServiceNotAvailable"
    assert tenant.http.get("/v1.0/groups", headers=tenant.headers()).status_code == 200
    assert len(tenant.http.get("/_sandbox/faults", headers=admin).json()["storms"]) == 1
    tenant.clock.advance(30)
    assert tenant.http.get("/v1.0/users", headers=tenant.headers()).status_code == 200
    assert tenant.http.get("/_sandbox/faults", headers=admin).json()["storms"] == []


def test_fault_storm_at_a_rate_strikes_about_that_share_and_can_be_cleared(
    inprocess_tenant: Tenants,
) -> None:
    tenant = inprocess_tenant()
    admin = {"x-sandbox-admin-key": ADMIN_KEY}
    storm = {"status": 429, "rate": 0.3, "duration_seconds": 60, "retry_after": 1.5, "seed": 4}
    assert tenant.http.post("/_sandbox/faults", json=storm, headers=admin).status_code == 201
    answers = [tenant.http.get("/v1.0/organization", headers=tenant.headers()) for _ in range(200)]
    refused = [a for a in answers if a.status_code == 429]
    assert 30 <= len(refused) <= 90
    assert {a.headers["Retry-After"] for a in refused} == {"1.5"}
    assert tenant.http.delete("/_sandbox/faults", headers=admin).status_code == 204
    assert tenant.http.get("/v1.0/organization", headers=tenant.headers()).status_code == 200


def test_a_storm_aimed_at_one_client_strikes_its_batched_requests_and_counts(
    inprocess_tenant: Tenants,
) -> None:
    """``user_agent`` picks the client a storm fails (the requests inside its ``$batch`` too),
    ``status`` may be a list, and the storm counts what it matched and what it failed."""
    tenant = inprocess_tenant()
    admin = {"x-sandbox-admin-key": ADMIN_KEY}
    storm = {"status": [429, 503], "rate": 0.5, "user_agent": "dirguard/*", "seed": 3}
    assert tenant.http.post("/_sandbox/faults", json=storm, headers=admin).status_code == 201
    other = [tenant.http.get("/v1.0/organization", headers=tenant.headers()) for _ in range(20)]
    assert {a.status_code for a in other} == {200}, "another client is not struck"
    ours = tenant.headers(**{"user-agent": "dirguard/0.1.0"})
    answers = [tenant.http.get("/v1.0/organization", headers=ours) for _ in range(100)]
    assert {a.status_code for a in answers} == {200, 429, 503}
    batch = {
        "requests": [{"id": str(n), "method": "GET", "url": "/organization"} for n in range(20)]
    }
    inside = tenant.http.post("/v1.0/$batch", json=batch, headers=ours)
    assert inside.status_code == 200, "the batch itself was let through"
    statuses = {r["status"] for r in inside.json()["responses"]}
    assert statuses > {200} and statuses <= {200, 429, 503}
    [counted] = tenant.http.get("/_sandbox/faults", headers=admin).json()["storms"]
    failed = sum(a.status_code != 200 for a in answers) + sum(
        r["status"] != 200 for r in inside.json()["responses"]
    )
    # the $batch call itself is no Graph route of its own: only its 20 requests are matched
    assert counted["matched"] == 100 + 20 and counted["injected"] == failed


def test_an_armed_delta_expiry_fires_at_the_named_continuation(
    inprocess_tenant: Tenants,
) -> None:
    tenant = inprocess_tenant()
    admin = {"x-sandbox-admin-key": ADMIN_KEY}
    links = [
        tenant.http.get("/v1.0/users/delta", headers=tenant.headers()).json()["@odata.deltaLink"]
        for _ in range(2)
    ]
    url = "/_sandbox/faults/delta-token-expiry"
    for body in ({"after_pages": -1}, {"after_pages": True}, {"pages": 1}):
        refused = tenant.http.post(url, json=body, headers=admin)
        assert refused.status_code == 400 and "after_pages" in refused.json()["error"], body
    assert tenant.http.post(url, json={"after_pages": 1}, headers=admin).status_code == 201
    latest = tenant.http.get("/v1.0/users/delta?$deltatoken=latest", headers=tenant.headers())
    assert latest.status_code == 200, "a fresh start is no continuation"
    assert tenant.http.get(links[0], headers=tenant.headers()).status_code == 200
    expired = tenant.http.get(links[1], headers=tenant.headers())
    assert expired.status_code == 410
    assert expired.json()["error"]["code"] == "syncStateNotFound"
    assert tenant.http.get("/v1.0/users/delta", headers=tenant.headers()).status_code == 200
    armed = tenant.http.get("/_sandbox/faults", headers=admin).json()["delta_expiry"]
    assert armed["seen"] == 1 and armed["rounds_after"] == 1
    assert armed["fired_on"].startswith("/v1.0/users/delta?$deltatoken=")


def test_bad_storms_are_refused_naming_the_field(inprocess_tenant: Tenants) -> None:
    tenant = inprocess_tenant()
    admin = {"x-sandbox-admin-key": ADMIN_KEY}
    for storm, field in (
        ({"status": 500}, "status"),
        ({"rate": 0}, "rate"),
        ({"duration_seconds": -1}, "duration_seconds"),
        ({"sped": 1}, "sped"),
    ):
        answer = tenant.http.post("/_sandbox/faults", json=storm, headers=admin)
        assert answer.status_code == 400
        assert field in answer.json()["error"]


def test_malformed_json_storm_cuts_answers_short(inprocess_tenant: Tenants) -> None:
    tenant = inprocess_tenant()
    admin = {"x-sandbox-admin-key": ADMIN_KEY}
    storm = {"kind": "malformed_json", "duration_seconds": 5, "path_pattern": "/v1.0/groups"}
    assert tenant.http.post("/_sandbox/faults", json=storm, headers=admin).status_code == 201
    answer = tenant.http.get("/v1.0/groups", headers=tenant.headers())
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.text)
    assert tenant.http.get("/v1.0/users", headers=tenant.headers()).json()["value"]
    tenant.clock.advance(5)
    assert "value" in tenant.http.get("/v1.0/groups", headers=tenant.headers()).json()
    wrong = tenant.http.post(
        "/_sandbox/faults", json={"kind": "malformed_json", "status": 503}, headers=admin
    )
    assert wrong.status_code == 400


def test_serve_line_tells_where_the_fault_control_is(tmp_path: Path) -> None:
    state = generate_tenant(SeedOptions(users=5, seed=3))
    announced = describe(state, 8443, tmp_path / "ca.pem", admin_key="k-123").as_json()
    assert announced["admin"] == {
        "faults_url": "https://127.0.0.1:8443/_sandbox/faults",
        "delta_token_expiry_url": "https://127.0.0.1:8443/_sandbox/faults/delta-token-expiry",
        "audit_latency_url": "https://127.0.0.1:8443/_sandbox/faults/audit-latency",
        "key": "k-123",
        "outbox_url": "https://127.0.0.1:8443/_sandbox/outbox",
    }


# ---------------------------------------------------------------- slow answers, dropped connections
# These go over the real TLS server: a dropped connection and a client's timeout only exist there.
Storm = Callable[..., None]


@pytest.fixture
def storm(graph_sandbox: RunningSandbox) -> Iterator[Storm]:
    """Start a storm on the sandbox's fault control; every storm is ended afterwards."""
    info = graph_sandbox.info
    control = httpx.Client(
        verify=graph_sandbox.tls(), headers={"x-sandbox-admin-key": info.admin_key}
    )

    def start(**fields: Any) -> None:
        answer = control.post(f"{info.login_base}/_sandbox/faults", json=fields)
        assert answer.status_code == 201, answer.text

    yield start
    assert control.delete(f"{info.login_base}/_sandbox/faults").status_code == 204
    control.close()


def test_slow_storm_answers_late_but_answers(graph_sandbox: RunningSandbox, storm: Storm) -> None:
    # The patient request waits out the delay after the impatient one gave up, so the answer
    # the impatient client abandoned is sent (into a closed connection) before the test ends.
    storm(kind="slow", delay_seconds=1, path_pattern="/v1.0/users")
    token = {"Authorization": f"Bearer {graph_sandbox.token()}"}
    base = graph_sandbox.info.graph_base
    impatient = httpx.Client(verify=graph_sandbox.tls(), headers=token, timeout=0.2)
    with impatient, pytest.raises(httpx.ReadTimeout):
        impatient.get(f"{base}/users")
    with httpx.Client(verify=graph_sandbox.tls(), headers=token, timeout=30) as patient:
        assert patient.get(f"{base}/organization").status_code == 200
        late = patient.get(f"{base}/users", params={"$select": "id"})
    assert late.status_code == 200
    assert {user["id"] for user in late.json()["value"]} == set(graph_sandbox.state.users)
    assert late.headers["x-ms-resource-unit"] == "1"


def test_dropped_connection_cuts_the_answer_short(
    graph_sandbox: RunningSandbox, storm: Storm
) -> None:
    storm(kind="drop", path_pattern="/v1.0/groups")
    with graph_sandbox.client() as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/groups")
        assert client.get("/users").status_code == 200


def test_bad_slow_and_drop_storms_are_refused(inprocess_tenant: Tenants) -> None:
    tenant = inprocess_tenant()
    admin = {"x-sandbox-admin-key": ADMIN_KEY}
    for body, field in (
        ({"kind": "slow", "delay_seconds": 0}, "delay_seconds"),
        ({"kind": "slow", "delay_seconds": 301}, "delay_seconds"),
        ({"kind": "drop", "delay_seconds": 1}, "delay_seconds"),
        ({"kind": "drop", "status": 503}, "status"),
        ({"kind": "hang"}, "kind"),
    ):
        answer = tenant.http.post("/_sandbox/faults", json=body, headers=admin)
        assert answer.status_code == 400, body
        assert field in answer.json()["error"]


def _graph_client(sandbox: RunningSandbox, sleep: Callable[[float], None]) -> GraphClient:
    info = sandbox.info
    credential = make_credential(
        tenant_id=info.tenant_id,
        client_id=info.full_client_id,
        authority=info.login_base,
        ca_file=info.ca_file,
        client_secret=info.full_client_secret,
    )
    return GraphClient(
        tenant_id=info.tenant_id,
        credential=credential,
        graph_url=info.login_base,
        ca_file=info.ca_file,
        sleep=sleep,
    )


def _storm_that_ends(
    graph_sandbox: RunningSandbox, storm: Storm, *, after: int
) -> tuple[list[float], Callable[[float], None]]:
    """The client's sleep: records each wait and ends the storms after ``after`` of them."""
    waits: list[float] = []
    info = graph_sandbox.info

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == after:
            ended = httpx.delete(
                f"{info.login_base}/_sandbox/faults",
                headers={"x-sandbox-admin-key": info.admin_key},
                verify=graph_sandbox.tls(),
            )
            assert ended.status_code == 204

    return waits, sleep


def test_graph_client_rides_out_a_503_storm(graph_sandbox: RunningSandbox, storm: Storm) -> None:
    storm(status=503, retry_after=1.5, path_pattern="/v1.0/users")
    waits, sleep = _storm_that_ends(graph_sandbox, storm, after=2)
    with _graph_client(graph_sandbox, sleep) as graph:
        users = graph.get("/users", **{"$select": "id", "$top": "999"})["value"]
    assert {user["id"] for user in users} == set(graph_sandbox.state.users)
    assert waits == [1.5, 1.5]


def test_graph_client_names_the_503_storm_it_could_not_ride_out(
    graph_sandbox: RunningSandbox, storm: Storm
) -> None:
    storm(status=503, path_pattern="/v1.0/users")
    waits: list[float] = []
    with _graph_client(graph_sandbox, waits.append) as graph, pytest.raises(GraphError) as caught:
        graph.get("/users")
    assert caught.value.status == 503
    assert "/users" in str(caught.value) and "ServiceNotAvailable" in str(caught.value)
    assert len(waits) == MAX_RETRIES


def test_graph_client_rides_out_a_504_storm(graph_sandbox: RunningSandbox, storm: Storm) -> None:
    storm(status=504, path_pattern="/v1.0/users")
    waits, sleep = _storm_that_ends(graph_sandbox, storm, after=1)
    with _graph_client(graph_sandbox, sleep) as graph:
        users = graph.get("/users", **{"$select": "id", "$top": "999"})["value"]
    assert {user["id"] for user in users} == set(graph_sandbox.state.users)
    assert len(waits) == 1


def test_graph_client_rides_out_a_dropped_connection(
    graph_sandbox: RunningSandbox, storm: Storm
) -> None:
    storm(kind="drop", path_pattern="/v1.0/users")
    waits, sleep = _storm_that_ends(graph_sandbox, storm, after=1)
    with _graph_client(graph_sandbox, sleep) as graph:
        users = graph.get("/users", **{"$select": "id", "$top": "999"})["value"]
    assert {user["id"] for user in users} == set(graph_sandbox.state.users)
    assert len(waits) == 1


def test_graph_client_names_connections_that_keep_dropping(
    graph_sandbox: RunningSandbox, storm: Storm
) -> None:
    storm(kind="drop", path_pattern="/v1.0/users")
    waits: list[float] = []
    with _graph_client(graph_sandbox, waits.append) as graph, pytest.raises(GraphError) as caught:
        graph.get("/users")
    assert "/users" in str(caught.value)
    assert len(waits) == MAX_RETRIES


def test_graph_client_does_not_repeat_a_create_whose_connection_dropped(
    graph_sandbox: RunningSandbox, storm: Storm
) -> None:
    """The answer to a POST was lost, not necessarily the create: repeating it could create
    twice, so the client names the failure at once instead of retrying."""
    storm(kind="drop", path_pattern="/v1.0/users")
    waits: list[float] = []
    with _graph_client(graph_sandbox, waits.append) as graph, pytest.raises(GraphError) as caught:
        graph.request("POST", "/users", json={"displayName": "Dropped Once"})
    assert caught.value.code == "ConnectionFailed"
    assert "/users" in str(caught.value)
    assert waits == []
