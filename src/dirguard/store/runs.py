"""Recording runs: one row per execution of a job, started and then finished.

These functions add and flush but never commit: the caller owns the transaction (commit right
after :func:`start_run` when others should see the run while it is going).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from dirguard.store.column_types import utcnow
from dirguard.store.models import Run, RunStatus

MAX_ERROR_LENGTH = 4000
FINAL_STATUSES = (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.INTERRUPTED)


def start_run(session: Session, kind: str, source: str | None) -> Run:
    """A new run of ``kind`` (``snapshot``, ``monitor``, ``rollback``, ``demo``…), running now."""
    kind = kind.strip()
    if not kind or len(kind) > 32:
        raise ValueError(f"run kind {kind!r}: give a name of 1-32 characters, e.g. 'snapshot'")
    run = Run(kind=kind, source=source, started_at=utcnow(), status=RunStatus.RUNNING.value)
    session.add(run)
    session.flush()
    return run


def finish_run(
    session: Session,
    run: Run,
    status: RunStatus | str,
    counters: Mapping[str, Any] | None = None,
    error: str | None = None,
) -> Run:
    """Close ``run`` with a final status, its counters and (for failures) an error message.

    The message is stored as given (truncated to 4000 characters): it must not hold secrets.
    """
    try:
        final = RunStatus(status)
    except ValueError:
        raise ValueError(
            f"run status {status!r}: use one of {', '.join(s.value for s in FINAL_STATUSES)}"
        ) from None
    if final not in FINAL_STATUSES:
        raise ValueError(
            f"run status {final.value!r} is not final; a run ends succeeded, failed or interrupted"
        )
    if run.status != RunStatus.RUNNING.value:
        raise ValueError(f"run {run.id} already finished as {run.status}")
    run.status = final.value
    run.finished_at = utcnow()
    if counters is not None:
        run.counters = dict(counters)
    run.error = error[:MAX_ERROR_LENGTH] if error else None
    session.flush()
    return run
