"""Scheduled jobs: kinds registered once (rules, scheduled reports…), run when due, never twice
at once.

A **job kind** says which of its jobs are due at a moment (``due``: rule names whose schedule
fired, report keys whose e-mail is due) and how to run one (``run``: returns a summary stored
in ``job_runs``). :func:`register_job_kind` is the whole API another capability needs::

    register_job_kind("report", due=reports_due, run=send_report)

:func:`run_due` is one pass over every kind. Each job is run under a **lease**: a ``job_leases``
row (kind, key) inserted before the job starts and deleted when it ends. The primary key lets
only one worker insert it, on SQLite as on PostgreSQL, so two ``dirguard serve`` / ``monitor``
processes on the same store never run the same job at the same time; a lease whose ``until`` has
passed (its worker died mid-job) is taken over by the next pass.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from dirguard.services.runtime import Runtime
from dirguard.store.models_rules import JobLease, JobRun

log = logging.getLogger(__name__)

DueFn = Callable[[Runtime, datetime], list[str]]
RunFn = Callable[[Runtime, str], Mapping[str, Any]]
LEASE = timedelta(minutes=30)
"""How long a job may run before another worker may assume its worker died."""


@dataclass(frozen=True, kw_only=True)
class JobKind:
    name: str
    due: DueFn
    run: RunFn


_KINDS: dict[str, JobKind] = {}


def register_job_kind(name: str, *, due: DueFn, run: RunFn) -> JobKind:
    """Declare a kind of scheduled job (registering the same name again replaces it)."""
    if not name or len(name) > 64:
        raise ValueError(f"a job kind's name is 1-64 characters, not {name!r}")
    kind = JobKind(name=name, due=due, run=run)
    _KINDS[name] = kind
    return kind


def forget_job_kind(name: str) -> None:
    """Unregister a kind (tests; a capability switched off)."""
    _KINDS.pop(name, None)


def job_kinds() -> dict[str, JobKind]:
    """Every registered kind (the rules' kind registers itself on first use)."""
    from dirguard.services.reports import scheduled as _reports  # noqa: F401 - report, approvals
    from dirguard.services.rules import scheduled  # noqa: F401 - registers the "rule" kind

    return dict(_KINDS)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def take_lease(runtime: Runtime, kind: str, key: str, holder: str) -> bool:
    """Take the job's lease; ``False`` when another worker holds a live one."""
    now = runtime.clock()
    with runtime.sessions.begin() as session:
        session.execute(
            delete(JobLease).where(JobLease.kind == kind, JobLease.key == key, JobLease.until < now)
        )
    try:
        with runtime.sessions.begin() as session:
            session.add(JobLease(kind=kind, key=key, holder=holder, until=now + LEASE))
    except IntegrityError:
        return False
    return True


def drop_lease(runtime: Runtime, kind: str, key: str, holder: str) -> None:
    with runtime.sessions.begin() as session:
        session.execute(
            delete(JobLease).where(
                JobLease.kind == kind, JobLease.key == key, JobLease.holder == holder
            )
        )


def run_job(
    runtime: Runtime,
    kind: JobKind,
    key: str,
    *,
    worker: str | None = None,
    recheck: bool = False,
) -> int | None:
    """Run one job under its lease and record it in ``job_runs``; the row's id, or ``None``
    when another worker is running it now (or, with ``recheck``, ran it since it was found
    due). A failing job is recorded, not raised."""
    holder = worker or worker_name()
    if not take_lease(runtime, kind.name, key, holder):
        log.info("job %s %s: another worker runs it now", kind.name, key)
        return None
    try:
        if recheck and key not in kind.due(runtime, runtime.clock()):
            log.info("job %s %s: another worker ran it meanwhile", kind.name, key)
            return None
        with runtime.sessions.begin() as session:
            row = JobRun(
                kind=kind.name,
                key=key,
                worker=holder,
                started_at=runtime.clock(),
                status="running",
                summary={},
            )
            session.add(row)
            session.flush()
            run_id = row.id
        status, summary, error = "succeeded", {}, None
        try:
            summary = dict(kind.run(runtime, key))
        except Exception as failure:  # a job's failure is its record's, not the scheduler's
            log.exception("job %s %s failed", kind.name, key)
            status, error = "failed", f"{type(failure).__name__}: {failure}"
        with runtime.sessions.begin() as session:
            done = session.get(JobRun, run_id)
            assert done is not None
            done.status, done.summary, done.error = status, summary, error
            done.finished_at = runtime.clock()
        log.info("job %s %s %s (job run %d, worker %s)", kind.name, key, status, run_id, holder)
        return run_id
    finally:
        drop_lease(runtime, kind.name, key, holder)


def run_due(
    runtime: Runtime, *, worker: str | None = None, stop: threading.Event | None = None
) -> list[int]:
    """One pass: every due job of every kind, each under its lease; the ``job_runs`` ids.
    With ``stop``: no further job starts once it is set (the one running finishes)."""
    ran: list[int] = []
    now = runtime.clock()
    for kind in job_kinds().values():
        try:
            keys = kind.due(runtime, now)
        except Exception:
            log.exception("job kind %s: could not tell what is due", kind.name)
            continue
        for key in keys:
            if stop is not None and stop.is_set():
                return ran
            run_id = run_job(runtime, kind, key, worker=worker, recheck=True)
            if run_id is not None:
                ran.append(run_id)
    return ran


def last_started(runtime: Runtime, kind: str, key: str) -> datetime | None:
    """When the job last started (any worker, any outcome)."""
    with runtime.sessions() as session:
        return session.scalars(
            select(JobRun.started_at)
            .where(JobRun.kind == kind, JobRun.key == key)
            .order_by(JobRun.started_at.desc())
            .limit(1)
        ).first()
