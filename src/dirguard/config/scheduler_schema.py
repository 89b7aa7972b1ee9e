"""The ``[scheduler]`` section: where rules and scheduled reports run.

::

    [scheduler]
    enabled = true        # run them in `dirguard serve` and `dirguard monitor` (the default)
    tick = 30             # seconds between two looks at what is due
    backend = "embedded"  # or "procrastinate": several workers on a PostgreSQL store

``embedded`` (the default) is a thread of the ``serve`` / ``monitor`` process calling the
scheduler's ``run_due`` every ``tick`` seconds; any number of such processes may share one
store, a lease row keeping each job to one of them at a time. ``procrastinate`` queues the due
jobs in a PostgreSQL-backed job queue that any number of ``dirguard scheduler worker`` processes
work through, each job under a lock so it never runs twice at once on any worker
(:mod:`dirguard.services.scheduler.queue` says why this queue).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool


class SchedulerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: StrictBool = True
    """Run the due jobs inside ``dirguard serve`` and ``dirguard monitor`` (``false``: only a
    separate worker, or nobody, runs them)."""
    tick: float = Field(default=30.0, gt=0, le=3600)
    """Seconds between the scheduler's looks at what is due (cron schedules are per minute)."""
    backend: Literal["embedded", "procrastinate"] = "embedded"
    """``embedded``: serve / monitor run the jobs; ``procrastinate``: they queue them for the
    workers (the store must be PostgreSQL)."""
