"""The Graph client against the sandbox: paging, Graph's error envelope, and throttling (the
sandbox's throttle runs on a hand-moved clock that the client's sleep advances)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dirguard.providers.entra.graph_client import (
    MAX_RETRIES,
    GraphClient,
    GraphError,
    make_credential,
)
from dirguard_sandbox.server import SandboxInfo
from dirguard_sandbox.throttling import ManualClock
from tests.fixtures.graph_sandbox import RunningSandbox, start_sandbox


def _client(info: SandboxInfo, sleep: Callable[[float], None] = time.sleep) -> GraphClient:
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


def test_pages_follow_next_link(graph_sandbox: RunningSandbox) -> None:
    with _client(graph_sandbox.info) as graph:
        small = [u["id"] for u in graph.pages("/users", **{"$top": "4"})]
        large = [u["id"] for u in graph.pages("/users", **{"$top": "999"})]
    assert len(small) > 4
    assert sorted(small) == sorted(large)
    assert len(set(small)) == len(small)


def test_error_envelope_names_code_and_message(graph_sandbox: RunningSandbox) -> None:
    with _client(graph_sandbox.info) as graph, pytest.raises(GraphError) as caught:
        graph.get("/users/00000000-0000-0000-0000-000000000001")
    assert caught.value.status == 404
    assert caught.value.code in str(caught.value)
    assert caught.value.code != "error"


@pytest.fixture
def throttled(tmp_path: Path) -> Iterator[tuple[SandboxInfo, ManualClock]]:
    sandbox = start_sandbox(tmp_path, throttling=True)
    clock = ManualClock()
    sandbox.state.clock = clock
    try:
        yield sandbox.info, clock
    finally:
        sandbox.stop()


def test_throttled_requests_wait_retry_after_and_succeed(
    throttled: tuple[SandboxInfo, ManualClock],
) -> None:
    """Audit logs allow 5 reads per 10 s and answer 429 with a fractional Retry-After."""
    info, clock = throttled
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    with _client(info, sleep) as graph:
        for _ in range(6):
            graph.get("/auditLogs/directoryAudits")
            clock.advance(0.25)
    assert waits == [pytest.approx(10 - 5 * 0.25)]


def test_throttling_without_retry_after_backs_off(
    throttled: tuple[SandboxInfo, ManualClock],
) -> None:
    """Conditional access allows 1 read per second and answers 429 without Retry-After."""
    info, clock = throttled
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.advance(seconds)

    with _client(info, sleep) as graph:
        for _ in range(3):
            graph.get("/identity/conditionalAccess/policies")
    assert waits and all(0 < w <= 60 for w in waits)


def test_throttling_gives_up_after_bounded_retries(
    throttled: tuple[SandboxInfo, ManualClock],
) -> None:
    info, _ = throttled
    waits: list[float] = []
    with _client(info, waits.append) as graph, pytest.raises(GraphError) as caught:
        for _ in range(10):
            graph.get("/identity/conditionalAccess/policies")
    assert caught.value.status == 429
    assert len(waits) == MAX_RETRIES
