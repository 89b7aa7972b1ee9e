"""Monitor runs left ``running`` by a process that was killed: recognised and closed.

A monitor's ``runs`` row records the process that owns it (host and pid, under
:data:`OWNER_KEY` in its counters). A new monitor of the same domain closes such a row as
``interrupted`` only when that process is on this host and no longer alive; a row whose owner
may still be running (alive, on another host sharing the store, or not recorded) is left alone.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dirguard.store.column_types import utcnow
from dirguard.store.models import Run, RunStatus

log = logging.getLogger(__name__)

OWNER_KEY = "_owner"
"""Key of a monitor run's counters naming its process: ``{"host": ..., "pid": ...}``."""


def process_owner() -> dict[str, Any]:
    """This process as a monitor run's owner."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _abandoned_by(run: Run, host: str) -> int | None:
    """The pid of the dead process on ``host`` that owned ``run``; ``None`` when the owner may
    still be running (alive, on another host, or not recorded)."""
    owner = run.counters.get(OWNER_KEY) if isinstance(run.counters, dict) else None
    if not isinstance(owner, dict) or owner.get("host") != host:
        return None
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid() or _alive(pid):
        return None
    return pid


def close_abandoned_runs(session: Session, domains: Sequence[str]) -> list[int]:
    """Mark ``interrupted`` the ``running`` monitor runs of any of ``domains`` whose owning
    process on this host has died (killed, say); returns their ids. Others are left alone."""
    host = socket.gethostname()
    wanted = set(domains)
    closed = []
    query = select(Run).where(Run.kind == "monitor", Run.status == RunStatus.RUNNING.value)
    for run in session.scalars(query):
        if not wanted & set((run.source or "").split(", ")):
            continue
        pid = _abandoned_by(run, host)
        if pid is None:
            log.info(
                "monitor run %d of %s is still running (or owned elsewhere)", run.id, run.source
            )
            continue
        run.status = RunStatus.INTERRUPTED.value
        run.finished_at = utcnow()
        run.error = f"its monitor process (pid {pid} on {host}) ended without closing it"
        closed.append(run.id)
        log.warning(
            "monitor run %d of %s: process %d is gone; marked interrupted", run.id, run.source, pid
        )
    return closed
