"""Applying a plan in the background, so that a browser can follow it step by step.

:meth:`ApplyJobs.start` refuses at once what may not be applied (no such plan, applied already,
four-eyes approval missing), then applies in a thread of this process; the steps' statuses are
committed one by one (:mod:`dirguard.services.rollback.steps`), which is what a progress view
reads (:func:`dirguard.services.rollback.review.progress`). A job remembers how it ended (its
error message when the apply was refused or failed before a step ran). One plan is applied by
one job at a time.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rollback.review import apply_reviewed, ensure_may_apply
from dirguard.services.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class ApplyJob:
    plan_id: int
    started_by: str
    state: str = "running"
    """``running``, ``finished`` (see the plan's status) or ``failed`` (``error``)."""
    error: str | None = None
    status: str | None = None
    """The plan's status once finished (``applied``, ``partial``, ``failed``)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan_id": self.plan_id,
            "started_by": self.started_by,
            "state": self.state,
            "error": self.error,
            "status": self.status,
        }


class ApplyJobs:
    """The applies this process runs in the background, by plan id."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, ApplyJob] = {}
        self._threads: dict[int, threading.Thread] = {}

    def get(self, plan_id: int) -> ApplyJob | None:
        with self._lock:
            return self._jobs.get(plan_id)

    def start(self, runtime: Runtime, plan_id: int) -> ApplyJob:
        """Start applying ``plan_id`` for the runtime's principal; a :class:`ServiceError` when it
        may not be applied (checked before the thread starts)."""
        with self._lock:
            running = self._jobs.get(plan_id)
            if running is not None and running.state == "running":
                raise ServiceError(f"plan {plan_id} is being applied already", Problem.CONFLICT)
            ensure_may_apply(runtime, plan_id)
            job = ApplyJob(plan_id=plan_id, started_by=runtime.principal)
            self._jobs[plan_id] = job
            thread = threading.Thread(
                target=self._run, args=(runtime, job), name=f"apply-plan-{plan_id}", daemon=True
            )
            self._threads[plan_id] = thread
        thread.start()
        return job

    def _run(self, runtime: Runtime, job: ApplyJob) -> None:
        try:
            applied = apply_reviewed(runtime, job.plan_id)
        except ServiceError as error:
            job.state, job.error = "failed", str(error)
        except Exception as error:  # a thread has nobody to raise to: log and keep it
            log.exception("applying plan %d failed", job.plan_id)
            job.state, job.error = "failed", f"{type(error).__name__}: {error}"
        else:
            job.state, job.status = "finished", applied.status

    def wait(self, plan_id: int, timeout: float | None = None) -> None:
        """Wait for the job of ``plan_id`` to end (tests, shutdown)."""
        thread = self._threads.get(plan_id)
        if thread is not None:
            thread.join(timeout)
