"""Scheduled jobs on a PostgreSQL job queue (``[scheduler] backend = "procrastinate"``), for
several workers against one PostgreSQL store.

Why `procrastinate <https://procrastinate.readthedocs.io/>`_: it keeps its queue in
PostgreSQL itself — the store dirguard already needs for several workers — so there is no
broker (Redis, RabbitMQ) to run, secure and back up beside it; it is maintained (3.x, MIT),
pure Python over psycopg 3 (the store's driver), and it has the two locks this needs: a
**queueing lock** (at most one job of a key waiting, so an enqueuer that finds a job due on
every tick does not pile them up) and a **lock** (jobs of one key never run at the same time,
on any worker). Celery needs a broker; RQ needs Redis; Dramatiq and Huey likewise.

The roles: ``dirguard serve`` / ``monitor`` (their scheduler thread) look at what is due every
tick, as the embedded scheduler does, and **enqueue** each due job (kind, key) under both
locks; any number of ``dirguard scheduler worker`` processes **run** them, each through the same
:func:`~dirguard.services.scheduler.jobs.run_job` as the embedded scheduler (its lease row and
its ``job_runs`` history, and a recheck that the job is still due, so a job queued twice runs
once). Job kinds are the same :func:`~dirguard.services.scheduler.jobs.register_job_kind`
registrations. Procrastinate's tables are created in the store's database the first time
(under an advisory lock, so two workers starting together create them once).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy.engine import make_url

from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard.services.scheduler.jobs import job_kinds, run_job, worker_name
from dirguard.store.audit import SELF

log = logging.getLogger(__name__)
QUEUE = "dirguard-jobs"
TASK = "dirguard.scheduled_job"
SCHEMA_LOCK = 0x6469_7267  # "dirg": the advisory lock two workers creating the tables share


def conninfo(runtime: Runtime) -> str:
    """The store's database as a libpq URL; a clear error for a store that is not PostgreSQL."""
    url = make_url(runtime.config.store.url)
    if url.get_backend_name() != "postgresql":
        raise ServiceError(
            '[scheduler] backend = "procrastinate" needs a PostgreSQL [store] url (several'
            f" workers share its queue), not {url.get_backend_name()}: use the embedded"
            " backend with SQLite",
            Problem.CONFIG,
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def queue_app(runtime: Runtime) -> tuple[Any, Any]:
    """The procrastinate app on the store's database and its one task (kind, key)."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo(runtime)))
    own = runtime.acting_as(SELF)

    def scheduled_job(kind: str, key: str) -> None:
        found = job_kinds().get(kind)
        if found is None:
            log.warning("queued job %s %s: no such job kind in this worker", kind, key)
            return
        run_job(own, found, key, worker=f"{worker_name()} (queue)", recheck=True)

    task = app.task(name=TASK, queue=QUEUE)(scheduled_job)
    return app, task


def ensure_schema(runtime: Runtime) -> None:
    """Create procrastinate's tables in the store's database unless they are there."""
    import psycopg
    from procrastinate.schema import SchemaManager

    with psycopg.connect(conninfo(runtime)) as connection:
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
        row = connection.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if row is None or row[0] is None:
            log.info("scheduler: creating the job queue's tables in the store's database")
            connection.execute(SchemaManager.get_schema())
        connection.commit()


def enqueue(task: Any, kind: str, key: str, *, queueing_lock: bool = True) -> int | None:
    """Queue one job under its lock (and, by default, its queueing lock); its queue id, or
    ``None`` when the same job is already waiting."""
    from procrastinate.exceptions import AlreadyEnqueued

    name = f"{kind}:{key}"
    options: dict[str, Any] = {"lock": name}
    if queueing_lock:
        options["queueing_lock"] = name
    try:
        job_id: int = task.configure(**options).defer(kind=kind, key=key)
    except AlreadyEnqueued:
        return None
    return job_id


def enqueue_due(runtime: Runtime, task: Any) -> list[str]:
    """Queue every due job of every kind; ``kind:key`` of the ones queued now."""
    queued = []
    now = runtime.clock()
    for kind in job_kinds().values():
        try:
            keys = kind.due(runtime, now)
        except Exception:
            log.exception("job kind %s: could not tell what is due", kind.name)
            continue
        for key in keys:
            if enqueue(task, kind.name, key) is not None:
                log.info("scheduler: queued job %s %s", kind.name, key)
                queued.append(f"{kind.name}:{key}")
    return queued


def enqueue_loop(runtime: Runtime, stop: threading.Event) -> None:
    """The serve / monitor scheduler thread with the queue: enqueue what is due every tick."""
    own = runtime.acting_as(SELF)
    tick = runtime.config.scheduler.tick
    log.info("scheduler: queueing due rules and reports every %g s for the workers", tick)
    app = task = None
    while not stop.is_set():
        try:
            if app is None:
                ensure_schema(own)
                app, task = queue_app(own)
                app.open()
            enqueue_due(own, task)
        except Exception:  # the database may be back at the next tick
            log.exception("scheduler: could not queue the due jobs; trying again")
        stop.wait(tick)
    if app is not None:
        app.close()
    log.info("scheduler: stopped")


def run_worker(runtime: Runtime, *, concurrency: int = 1, wait: bool = True) -> None:
    """Work through the queue until SIGTERM / Ctrl-C (the job running finishes); with
    ``wait=False``, until the queue is empty."""
    ensure_schema(runtime)
    app, _ = queue_app(runtime)
    log.info("scheduler worker %s: running queued jobs (%d at a time)", worker_name(), concurrency)
    app.run_worker(queues=[QUEUE], concurrency=concurrency, wait=wait, install_signal_handlers=True)
    log.info("scheduler worker %s: stopped", worker_name())
