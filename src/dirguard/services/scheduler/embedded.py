"""The embedded scheduler: a thread of ``dirguard serve`` / ``dirguard monitor`` running the
due jobs every ``[scheduler] tick`` seconds, until the process stops.

Each look is :func:`~dirguard.services.scheduler.jobs.run_due` (every job under its lease, so
several processes on one store never run a job twice at once); each run is logged with its
outcome by the job runner. Stopping sets the event: the job in progress finishes (a rule's
objects are each written and audited whole), no further job starts, and the thread ends. A
failure to look (the store unreachable) is logged and tried again at the next tick.
"""

from __future__ import annotations

import logging
import threading

from dirguard.services.runtime import Runtime
from dirguard.services.scheduler.jobs import run_due, worker_name
from dirguard.store.audit import SELF

log = logging.getLogger(__name__)


def scheduler_thread(runtime: Runtime, stop: threading.Event) -> threading.Thread | None:
    """The scheduler's thread (not started), or ``None`` with ``[scheduler] enabled = false``.
    With ``backend = "procrastinate"`` the thread queues the due jobs for the workers (a store
    that is not PostgreSQL is refused here, before the process starts serving)."""
    settings = runtime.config.scheduler
    if not settings.enabled:
        log.info("scheduler: off ([scheduler] enabled = false)")
        return None
    if settings.backend == "procrastinate":
        from dirguard.services.scheduler.queue import conninfo, enqueue_loop

        conninfo(runtime)
        return threading.Thread(
            target=enqueue_loop, args=(runtime, stop), name="scheduler-queue", daemon=False
        )
    own = runtime.acting_as(SELF)
    worker = worker_name()

    def run() -> None:
        log.info("scheduler: running due rules and reports every %g s (%s)", settings.tick, worker)
        while not stop.is_set():
            try:
                run_due(own, worker=worker, stop=stop)
            except Exception:  # the store may be back at the next tick
                log.exception("scheduler: could not run the due jobs; trying again")
            stop.wait(settings.tick)
        log.info("scheduler: stopped")

    return threading.Thread(target=run, name="scheduler", daemon=False)
