"""The scheduler never runs one job twice at once: two workers (two processes' engines on the
same store, SQLite and the test PostgreSQL server) find the same job due at the same moment;
one runs it, the other skips it while it runs and does not run it again afterwards."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from dirguard.config.schema import Config
from dirguard.services.runtime import Runtime
from dirguard.services.scheduler import jobs
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.models_rules import JobLease, JobRun


@pytest.fixture
def workers(store_url: str) -> Iterator[tuple[Runtime, Runtime]]:
    engines = [create_engine_for(store_url) for _ in range(2)]
    upgrade(engines[0])
    try:
        yield tuple(  # type: ignore[misc]
            Runtime(config=Config(), sessions=session_factory(e), principal="dirguard")
            for e in engines
        )
    finally:
        for engine in engines:
            engine.dispose()


@pytest.fixture(autouse=True)
def _own_kinds() -> Iterator[None]:
    yield
    for name in ("test-slow", "test-dead", "test-boom", "test-x"):
        jobs.forget_job_kind(name)


def _ran(runtime: Runtime, kind: str) -> int:
    with runtime.sessions() as session:
        return session.scalar(select(func.count()).where(JobRun.kind == kind)) or 0


def test_a_job_due_on_two_workers_runs_once(workers: tuple[Runtime, Runtime]) -> None:
    first, second = workers
    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    def due(runtime: Runtime, now: datetime) -> list[str]:
        return [] if jobs.last_started(runtime, "test-slow", "nightly") else ["nightly"]

    def run(runtime: Runtime, key: str) -> Mapping[str, Any]:
        calls.append(key)
        started.set()
        assert release.wait(30)
        return {"done": key}

    kind = jobs.register_job_kind("test-slow", due=due, run=run)
    assert due(first, datetime.now(UTC)) == ["nightly"]
    results: list[int | None] = []
    worker = threading.Thread(
        target=lambda: results.append(jobs.run_job(first, kind, "nightly", worker="a"))
    )
    worker.start()
    try:
        assert started.wait(30)
        # The second worker found it due too, before the first one started it: refused.
        assert jobs.run_job(second, kind, "nightly", worker="b", recheck=False) is None
        with second.sessions() as session:
            lease = session.get(JobLease, ("test-slow", "nightly"))
            assert lease is not None and lease.holder == "a"
    finally:
        release.set()
        worker.join(30)
    assert results and results[0] is not None
    # Afterwards its next pass finds the job run already: nothing runs again.
    assert jobs.run_job(second, kind, "nightly", worker="b", recheck=True) is None
    assert calls == ["nightly"] and _ran(second, "test-slow") == 1
    with second.sessions() as session:
        row = session.get(JobRun, results[0])
        assert row is not None and row.status == "succeeded" and row.summary == {"done": "nightly"}
        assert row.worker == "a"
        assert session.scalar(select(func.count()).select_from(JobLease)) == 0


def test_a_lease_whose_worker_died_is_taken_over(workers: tuple[Runtime, Runtime]) -> None:
    first, second = workers
    with first.sessions.begin() as session:
        session.add(
            JobLease(
                kind="test-dead",
                key="k",
                holder="dead",
                until=datetime.now(UTC) - timedelta(seconds=1),
            )
        )
    kind = jobs.register_job_kind("test-dead", due=lambda r, n: ["k"], run=lambda r, k: {})
    assert jobs.run_job(second, kind, "k", worker="b") is not None


def test_a_failing_job_is_recorded_and_the_pass_goes_on(workers: tuple[Runtime, Runtime]) -> None:
    first, _ = workers

    def boom(runtime: Runtime, key: str) -> Mapping[str, Any]:
        raise RuntimeError(f"{key} broke")

    kind = jobs.register_job_kind("test-boom", due=lambda r, n: ["x"], run=boom)
    run_id = jobs.run_job(first, kind, "x", worker="a")
    with first.sessions() as session:
        row = session.get(JobRun, run_id)
        assert row is not None and row.status == "failed" and row.error == "RuntimeError: x broke"


def test_a_job_kind_needs_a_name() -> None:
    with pytest.raises(ValueError, match="job kind's name"):
        jobs.register_job_kind("", due=lambda r, n: [], run=lambda r, k: {})


def test_every_registered_kind_is_known_with_the_rules_own() -> None:
    jobs.register_job_kind("test-x", due=lambda r, n: [], run=lambda r, k: {})
    assert {"rule", "test-x"} <= set(jobs.job_kinds())
