"""Each configured connection's health, read from the store: is a monitor running, when did its
last pass end, how far behind is it, what failed lately, and its consent state.

A monitor's ``runs`` row (kind ``monitor``) names the sources it watches and keeps per-domain
counters, saved at least every heartbeat (:class:`dirguard.services.capture.monitor.Monitor`):
the last pass time is there. A ``running`` row whose process on this host is gone counts as
stopped (a killed monitor cannot close its row). Everything here only reads.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dirguard.services.capture.monitor_runs import OWNER_KEY
from dirguard.services.consent_state import AD, ENTRA, ConsentState, latest_states
from dirguard.services.runtime import Runtime
from dirguard.store.models import ChangeEvent, Run, RunStatus

RECENT_RUNS = 50
"""How many of the newest runs are looked at for a connection's monitor and errors."""


@dataclass(frozen=True, kw_only=True)
class ConnectionHealth:
    source: str
    kind: str
    name: str
    mode: str
    monitor: str
    """``running``, ``stopped`` (its last monitor ended or its process is gone) or ``never``."""
    monitor_run: int | None
    last_pass_at: datetime | None
    lag_seconds: float | None
    """Seconds since the last successful pass (``None``: none known)."""
    last_change_at: datetime | None
    """When the newest change of this connection was stored."""
    errors: int
    """Failures of the current (or last) monitor run."""
    last_error: str | None
    last_error_at: datetime | None
    consent: ConsentState | None

    @property
    def healthy(self) -> bool:
        consent_ok = self.consent is not None and self.consent.complete is True
        return self.monitor == "running" and consent_ok and self.last_error is None

    def as_dict(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value else None

        return {
            "source": self.source,
            "kind": self.kind,
            "name": self.name,
            "mode": self.mode,
            "monitor": self.monitor,
            "monitor_run": self.monitor_run,
            "last_pass_at": iso(self.last_pass_at),
            "lag_seconds": self.lag_seconds,
            "last_change_at": iso(self.last_change_at),
            "errors": self.errors,
            "last_error": self.last_error,
            "last_error_at": iso(self.last_error_at),
            "healthy": self.healthy,
            "consent": None if self.consent is None else self.consent.as_dict(),
        }


def _process_gone(run: Run) -> bool:
    """Whether ``run``'s owning process was on this host and has ended."""
    owner = run.counters.get(OWNER_KEY) if isinstance(run.counters, dict) else None
    if not isinstance(owner, dict) or owner.get("host") != socket.gethostname():
        return False
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _health(
    session: Session,
    runtime: Runtime,
    runs: list[Run],
    kind: str,
    name: str,
    mode: str,
    consent: ConsentState | None,
) -> ConnectionHealth:
    source = f"{kind}:{name}"
    watching = [r for r in runs if r.kind == "monitor" and source in (r.source or "").split(", ")]
    run = watching[0] if watching else None
    # The monitor keeps an AD domain's counters under its name, a watched source's (an Entra
    # tenant) under its store key.
    counter_key = name if kind == AD else source
    counts = (
        run.counters.get(counter_key) if run and isinstance(run.counters, dict) else None
    ) or {}
    monitor = "never"
    if run is not None:
        alive = run.status == RunStatus.RUNNING.value and not _process_gone(run)
        monitor = "running" if alive else "stopped"
    last_pass = _time(counts.get("last_pass_at"))
    if last_pass is None and run is None:  # never monitored: the last snapshot or capture
        finished = [r.finished_at for r in runs if r.source == source and r.finished_at]
        last_pass = finished[0] if finished else None
    last_error = counts.get("last_error")
    last_error_at = _time(counts.get("last_error_at"))
    failed = [r for r in runs if source in (r.source or "").split(", ") and r.error]
    if failed and (run is None or failed[0].id >= run.id):
        last_error, last_error_at = failed[0].error, failed[0].finished_at
    newest = session.scalar(
        select(func.max(ChangeEvent.observed_at)).where(ChangeEvent.source == source)
    )
    now = runtime.clock()
    return ConnectionHealth(
        source=source,
        kind=kind,
        name=name,
        mode=mode,
        monitor=monitor,
        monitor_run=run.id if run else None,
        last_pass_at=last_pass,
        lag_seconds=None if last_pass is None else max(0.0, (now - last_pass).total_seconds()),
        last_change_at=newest,
        errors=int(counts.get("errors") or 0),
        last_error=str(last_error) if last_error else None,
        last_error_at=last_error_at,
        consent=consent,
    )


def connection_health(runtime: Runtime) -> list[ConnectionHealth]:
    """The health of every configured connection, AD domains first."""
    config = runtime.config
    with runtime.sessions() as session:
        runs = list(session.scalars(select(Run).order_by(Run.id.desc()).limit(RECENT_RUNS)))
        states = latest_states(session)
        found = [
            _health(session, runtime, runs, AD, d.name, d.mode.value, states.get(f"{AD}:{d.name}"))
            for d in config.ad.domains
        ]
        found += [
            _health(
                session,
                runtime,
                runs,
                ENTRA,
                t.name,
                t.mode.value,
                states.get(f"{ENTRA}:{t.name}"),
            )
            for t in config.entra.tenants
        ]
    return found


def banner_states(runtime: Runtime) -> list[ConsentState]:
    """The configured connections whose newest consent check found something missing: what the
    console's red banner names (with how to fix each)."""
    with runtime.sessions() as session:
        states = latest_states(session)
    keys = [f"{AD}:{d.name}" for d in runtime.config.ad.domains]
    keys += [f"{ENTRA}:{t.name}" for t in runtime.config.entra.tenants]
    return [states[k] for k in keys if k in states and states[k].partial]
