"""Several workers on PostgreSQL through the job queue (``[scheduler] backend =
"procrastinate"``): two real worker processes on the tests' PostgreSQL server work through
queued jobs; the same job queued four times (four enqueuers that found it due at once) runs
four times, one after the other and never two at once, although both workers are busy; a job
already waiting is not queued twice; a SQLite store is refused naming the setting."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import URL, make_url

from dirguard.config.scheduler_schema import SchedulerConfig
from dirguard.config.schema import Config, StoreConfig
from dirguard.services.errors import ServiceError
from dirguard.services.runtime import Runtime
from dirguard.services.scheduler import jobs
from dirguard.services.scheduler.queue import (
    conninfo,
    enqueue,
    enqueue_due,
    ensure_schema,
    queue_app,
)
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.models_rules import JobRun
from tests.fixtures.postgres_server import PostgresServer
from tests.scheduler.queue_worker import KIND

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_runtime(
    postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """A migrated PostgreSQL store configured as a user would: the password in PGPASSWORD
    (which the worker processes inherit), never in the URL."""
    name = f"test_{uuid.uuid4().hex}"
    url = postgres_server.create_database(name)
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    parts = make_url(url)
    bare = URL.create(
        parts.drivername,
        username=parts.username,
        host=parts.host,
        port=parts.port,
        database=parts.database,
    ).render_as_string()
    engine = create_engine_for(bare)
    upgrade(engine)
    config = Config(store=StoreConfig(url=bare), scheduler=SchedulerConfig(backend="procrastinate"))
    try:
        yield Runtime(config=config, sessions=session_factory(engine), principal="dirguard")
    finally:
        engine.dispose()
        postgres_server.drop_database(name)


def _states(runtime: Runtime) -> list[str]:
    import psycopg

    with psycopg.connect(conninfo(runtime)) as connection:
        rows = connection.execute("SELECT status FROM procrastinate_jobs ORDER BY id").fetchall()
    return [str(r[0]) for r in rows]


def _worker(runtime: Runtime, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.scheduler.queue_worker", runtime.config.store.url],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=output,
            stderr=output,
        )


def test_two_workers_never_run_one_job_twice_at_once(pg_runtime: Runtime, tmp_path: Path) -> None:
    ensure_schema(pg_runtime)
    ensure_schema(pg_runtime)  # already there: left alone
    app, task = queue_app(pg_runtime)
    logs = [tmp_path / "worker-a.log", tmp_path / "worker-b.log"]
    workers = [_worker(pg_runtime, log) for log in logs]
    try:
        deadline = time.monotonic() + 60
        while not all("running queued jobs" in log.read_text() for log in logs):
            assert all(w.poll() is None for w in workers), [log.read_text() for log in logs]
            assert time.monotonic() < deadline, [log.read_text() for log in logs]
            time.sleep(0.2)
        with app.open():
            assert enqueue(task, KIND, "dup") is not None
            # Waiting already: a second enqueuer's copy is not queued (unless it already runs).
            second = enqueue(task, KIND, "dup")
            for _ in range(4):
                assert enqueue(task, KIND, "nightly", queueing_lock=False) is not None
            assert enqueue(task, KIND, "other") is not None
        deadline = time.monotonic() + 120
        while any(s != "succeeded" for s in _states(pg_runtime)):
            assert "failed" not in _states(pg_runtime), [log.read_text() for log in logs]
            assert time.monotonic() < deadline, _states(pg_runtime)
            time.sleep(0.3)
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [w.wait(timeout=60) for w in workers]
    assert codes == [0, 0], [log.read_text() for log in logs]

    with pg_runtime.sessions() as session:
        runs = list(session.scalars(select(JobRun).where(JobRun.kind == KIND).order_by(JobRun.id)))
    nightly = sorted((r for r in runs if r.key == "nightly"), key=lambda r: r.started_at)
    assert len(nightly) == 4 and {r.status for r in runs} == {"succeeded"}
    for before, after in itertools.pairwise(nightly):
        assert before.finished_at is not None and after.started_at >= before.finished_at
    assert len([r for r in runs if r.key == "dup"]) == (1 if second is None else 2)
    pids = {w.pid for w in workers}
    ran_by = {int(r.summary["pid"]) for r in runs}
    assert ran_by == pids, f"each worker ran jobs: {ran_by} of {pids}"
    assert all(r.worker.endswith("(queue)") for r in runs)


def test_the_queue_needs_a_postgresql_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    engine = create_engine_for(url)
    runtime = Runtime(
        config=Config(store=StoreConfig(url=url)),
        sessions=session_factory(engine),
        principal="dirguard",
    )
    engine.dispose()
    with pytest.raises(ServiceError, match=r"\[scheduler\] backend = \"procrastinate\" needs a"):
        conninfo(runtime)


def test_serve_and_monitor_queue_what_is_due_once(pg_runtime: Runtime) -> None:
    """The enqueuer (the serve / monitor scheduler thread with this backend) finds the test
    kind due on two ticks: one job waits in the queue, not two."""
    jobs.register_job_kind(KIND, due=lambda runtime, now: ["weekly"], run=lambda r, k: {})
    try:
        ensure_schema(pg_runtime)
        app, task = queue_app(pg_runtime)
        with app.open():
            assert f"{KIND}:weekly" in enqueue_due(pg_runtime, task)
            assert f"{KIND}:weekly" not in enqueue_due(pg_runtime, task)
    finally:
        jobs.forget_job_kind(KIND)
    assert _states(pg_runtime).count("todo") >= 1
    import psycopg

    with psycopg.connect(conninfo(pg_runtime)) as connection:
        waiting = connection.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE queueing_lock = %s",
            (f"{KIND}:weekly",),
        ).fetchone()
    assert waiting is not None and waiting[0] == 1


def test_the_worker_command_refuses_a_sqlite_store(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dirguard.cli.app import app

    config = tmp_path / "dirguard.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n'
        f'checkpoint_file = "{tmp_path / "c.jsonl"}"\n'
        f'[secrets]\nkey_file = "{tmp_path / "k"}"\nstore_file = "{tmp_path / "s.json"}"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["--config", str(config), "scheduler", "worker"])
    assert result.exit_code == 3, result.output
    assert "needs a PostgreSQL [store] url" in result.output
