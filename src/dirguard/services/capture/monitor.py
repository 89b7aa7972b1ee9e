"""``dirguard monitor``: a DirSync pass per configured AD domain whenever the DC reports a change
(LDAP change notification) and at least every ``interval`` seconds, run until stopped.

Each pass is one :func:`dirguard.services.capture.capture.capture_source` call, which stores
every DirSync page with its cookie in one transaction; resuming after a crash is therefore the
capture's job (the stored cookie is where the next pass starts, a replayed page adds nothing).
This module adds what a long-running process needs on top:

- a connection per domain, opened on demand and dropped when it fails (a restarted DC or a
  network error), with capped exponential backoff and jitter before the next attempt, and a log
  line saying which DC failed, why and when the next attempt is;
- a clean stop: :func:`stop_on_signals` turns the first SIGTERM/SIGINT into a stop request that
  the loop honours between passes (a pass in progress finishes; its pages are atomic anyway); a
  second signal raises ``KeyboardInterrupt``, which abandons the pass (its open page is rolled
  back) and marks the run interrupted;
- one ``runs`` row of kind ``monitor`` whose counters are kept up to date while it runs (and
  saved at least every ``heartbeat`` seconds, with each domain's last pass time); every
  pass stores its events and cookies under that run (no row per pass). The row records the
  process (host and pid) that owns it, so that a later monitor of the same domain can close as
  ``interrupted`` a run left ``running`` by a killed process: only when that process is on this
  host and no longer alive (a live monitor's run, or one owned elsewhere, is left alone);
- the schema is read once per connection (it is needed to parse every page) rather than on every
  pass, and so is the audit source (:class:`~dirguard.providers.ad.read.AdReader`); a reconnect
  reads them afresh;
- near-real-time: a change notification (``change_notification``, on a second connection) ends
  the wait and makes its domain due (a burst is one pass; the DirSync cookie decides what is
  stored). The poll every ``interval`` is the fallback; ``notifier=None`` polls only.

Time is injected (``clock``, ``wait``; with ``notifier=None``) so tests need not really wait.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import AdDomainConfig
from dirguard.core.audit_record import AuditSource, AuditSourceError
from dirguard.providers.ad import KIND as AD
from dirguard.providers.ad.change_notification import (
    DomainNotifications,
    NotifierFactory,
    change_notifier,
)
from dirguard.providers.ad.errors import RETRYABLE, AdAuthError
from dirguard.providers.ad.errors import ldap_error_text as error_text
from dirguard.providers.base import SourceError, SourceReader, store_source
from dirguard.services.capture.actor_fill import FillReport
from dirguard.services.capture.capture import (
    CaptureError,
    CaptureResult,
    capture_source,
    fill_source_actors,
)
from dirguard.services.capture.monitor_runs import OWNER_KEY, close_abandoned_runs, process_owner
from dirguard.services.capture.monitor_state import DomainState, MonitorResult, WatchedSource
from dirguard.services.capture.monitor_support import Backoff, Chore, stop_on_signals
from dirguard.services.errors import Problem, ServiceError
from dirguard.store.column_types import utcnow
from dirguard.store.models import Run, RunStatus
from dirguard.store.runs import finish_run, start_run

if TYPE_CHECKING:  # python-ldap (the ``ad`` extra) only where a domain is watched
    from dirguard.providers.ad.connection import AdConnection

log = logging.getLogger(__name__)

__all__ = [
    "Backoff",
    "Chore",
    "DomainState",
    "Monitor",
    "MonitorError",
    "MonitorResult",
    "PassReport",
    "WatchedSource",
    "stop_on_signals",
]

RETRYABLE_PASS: tuple[type[BaseException], ...] = (*RETRYABLE, OperationalError)
"""What makes a pass worth doing again later: the reader's retryable errors, and a busy or
unreachable store."""

RETRYABLE_SOURCE_PASS: tuple[type[BaseException], ...] = (*RETRYABLE_PASS, AuditSourceError)
"""What makes a watched source's pass worth doing again: its audit trail unreadable for now
too (a ``SourceError`` is told apart by ``refused``)."""

Connector = Callable[[AdDomainConfig], "AdConnection"]
"""Opens a bound connection to one of the domain's DCs (raises ``AdConnectionError``, or a
:class:`ServiceError`: ``unavailable`` is retried, any other kind ends the monitor)."""


class Capture(Protocol):
    """One capture pass (:func:`capture_source`) under the monitor's run."""

    def __call__(
        self, sessions: sessionmaker[Session], reader: SourceReader, *, run: Run | None = ...
    ) -> CaptureResult: ...


FillActors = Callable[[sessionmaker[Session], SourceReader, AuditSource | None], FillReport | None]
"""Attributes the source's new events from its audit trail (:func:`fill_source_actors`)."""

Wait = Callable[[float], bool]
"""Waits up to the given seconds; returns ``True`` when a stop was requested meanwhile."""


class MonitorError(Exception):
    """The monitor cannot go on (refused credentials, unresolvable password); says what to do."""


PassReport = Callable[[str, CaptureResult], None]
"""Called after every successful pass (the CLI prints the ones that found changes)."""


def _close(state: DomainState) -> None:
    if state.reader is not None:
        with contextlib.suppress(Exception):
            state.reader.close()
        state.reader = None


@dataclass(kw_only=True)
class Monitor:
    """The poll loop over ``domains``; :meth:`run` returns when ``stop`` is set (or after one
    pass per domain with ``once``)."""

    sessions: sessionmaker[Session]
    domains: Sequence[AdDomainConfig]
    connector: Connector
    sources: Sequence[WatchedSource] = ()
    """Sources other than AD domains (Entra tenants), each passed on its own schedule: one
    that fails backs off without holding the others up."""
    interval: float = 2.0
    once: bool = False
    backoff: Backoff = field(default_factory=Backoff)
    capture: Capture = capture_source
    fill_actors: FillActors = fill_source_actors
    stop: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], float] = time.monotonic
    wait: Wait | None = None
    draw: Callable[[], float] = random.random
    on_pass: PassReport | None = None
    notifier: NotifierFactory | None = change_notifier
    chores: Sequence[Chore] = ()
    """Periodic work besides capturing (not with ``once``)."""
    after_pass: Callable[[str], object] | None = None
    """Called with the domain's name after each successful pass (threat detection on the events
    just stored); a failure is logged and never stops the capture."""
    heartbeat: float = 30.0
    """Seconds after which the run's counters are saved even when nothing changed, so that the
    console sees the time of the last pass (a live monitor's lag)."""

    def __post_init__(self) -> None:
        if not self.domains and not self.sources:
            raise MonitorError(
                "nothing to monitor: add [[ad.domains]] or [[entra.tenants]] to the configuration"
            )
        if not 0 < self.interval <= 3600:
            raise MonitorError(f"interval {self.interval} s: give 0 < seconds <= 3600")
        self.states = {d.name: DomainState(domain=d) for d in self.domains}
        self.states |= {w.key: DomainState(watched=w) for w in self.sources}
        self.owner: dict[str, Any] = process_owner()
        self._run: Run | None = None
        self.notifications = DomainNotifications(None if self.once else self.notifier)

    def _now(self) -> float:
        return self.clock()

    def _chores(self) -> list[float]:
        """Run the chores that are due; when each is due next."""
        if self.once:
            return []
        for chore in self.chores:
            if chore.due is None:
                chore.due = self._now() + chore.every
            elif chore.due <= self._now() and not self.stop.is_set():
                try:
                    chore.work()
                except Exception as error:  # a chore never stops the capture
                    log.warning(
                        "monitor: %s failed (%s: %s); tried again in %.0f s",
                        chore.name,
                        type(error).__name__,
                        error,
                        chore.every,
                    )
                chore.due = self._now() + chore.every
        return [c.due for c in self.chores if c.due is not None]

    def _wait(self, seconds: float) -> bool:
        if self.wait is not None:
            return self.wait(seconds)
        return self.notifications.wait(seconds, self.stop, self._now)

    def counters(self) -> dict[str, Any]:
        return {n: s.as_dict() | self.notifications.counters(n) for n, s in self.states.items()}

    def _marks(self) -> list[tuple[Any, ...]]:
        keys = ("events", "errors", "notification_active")  # what changes the saved counters
        return [(*(c[k] for k in keys), c["passes"] > 0) for c in self.counters().values()]

    def _source_pass(self, state: DomainState, watched: WatchedSource) -> CaptureResult | None:
        """One pass over a watched source (``None``: it failed and is retried later)."""
        try:
            if state.reader is None:
                state.reader = watched.open()
                state.connects += 1
                if state.failures:
                    log.warning(
                        "%s %s reachable again after %d failed attempt(s)",
                        watched.kind,
                        watched.name,
                        state.failures,
                    )
            result = self.capture(self.sessions, state.reader, run=self._run)
            self.fill_actors(self.sessions, state.reader, None)
        except SourceError as error:
            _close(state)
            if error.refused:
                raise MonitorError(str(error)) from None
            self._retry_later(state, watched.name, error)
            return None
        except ServiceError as error:
            _close(state)
            if error.problem is not Problem.UNAVAILABLE:
                raise
            self._retry_later(state, watched.name, error)
            return None
        except CaptureError as error:
            # no baseline yet: the other sources go on; this one is tried again (a snapshot
            # taken meanwhile is found)
            self._retry_later(state, watched.name, error)
            return None
        except RETRYABLE_SOURCE_PASS as error:
            _close(state)
            self._retry_later(state, watched.name, error)
            return None
        return result

    def _pass(self, state: DomainState) -> None:
        """One pass for one source; a retryable failure schedules a retry with backoff."""
        if state.watched is not None:
            result = self._source_pass(state, state.watched)
            if result is not None:
                self._passed(state, result, state.watched.interval)
            return
        assert state.domain is not None
        from dirguard.providers.ad.read import AdReader

        name = state.domain.name
        where = state.conn.server if state.conn is not None else ", ".join(state.domain.servers)
        try:
            if state.reader is None:
                ad_reader = AdReader(self.connector(state.domain), state.domain)
                state.reader = ad_reader
                state.connects += 1
                where = ad_reader.conn.server
                if state.failures:
                    log.warning(
                        "domain %s: DC %s reachable again after %d failed attempt(s)",
                        name,
                        where,
                        state.failures,
                    )
            reader = state.reader
            assert isinstance(reader, AdReader)
            reader.schema  # noqa: B018 - read once per connection, before the pass
            if state.deletions_hidden is None:
                state.deletions_hidden = reader.changes_incomplete()
            result = self.capture(self.sessions, reader, run=self._run)
            # Who and where: the DC's audit records of this pass (and late ones of earlier passes).
            self.fill_actors(self.sessions, reader, None)
        except AdAuthError as error:
            _close(state)
            raise MonitorError(str(error)) from None
        except ServiceError as error:
            _close(state)
            if error.problem is not Problem.UNAVAILABLE:
                raise  # a refused bind, a wrong CA file, an unresolvable credential
            self._retry_later(state, where, error)
            return
        except RETRYABLE_PASS as error:
            # a busy or unreachable store too: the pass's transaction was rolled back, so the
            # next pass simply does it again from the stored cursor
            _close(state)
            self._retry_later(state, where, error)
            return
        self._passed(state, result, self.interval)

    def _passed(self, state: DomainState, result: CaptureResult, interval: float) -> None:
        state.failures = 0
        state.last_pass_at = utcnow().isoformat()
        state.passes += 1
        state.entries += result.entries
        state.events += result.events
        state.ops.update(result.ops)
        state.due = self._now() + interval
        if result.events:
            log.info("%s: %d change event(s) stored", state.name, result.events)
        if self.after_pass is not None:
            try:
                self.after_pass(state.watched.key if state.watched else state.name)
            except Exception as error:  # detection never stops the capture
                log.warning(
                    "%s: threat detection failed (%s: %s); tried again after the next pass",
                    state.name,
                    type(error).__name__,
                    error,
                )
        if self.on_pass is not None:
            self.on_pass(state.name, result)

    def _retry_later(self, state: DomainState, where: str, error: BaseException) -> None:
        """A retryable failure: the next attempt after the backoff (with ``once``: raised)."""
        name = state.name
        state.failures += 1
        state.errors += 1
        state.last_error = error_text(error).removeprefix(f"{name}: ")
        state.last_error_at = utcnow().isoformat()
        delay = self.backoff.delay(state.failures, self.draw())
        if state.watched is not None:
            log.warning(
                "%s %s: pass failed (%s), retrying in %.1f s",
                state.watched.kind,
                name,
                state.last_error,
                delay,
            )
        else:
            log.warning(
                "domain %s: DC %s unreachable (%s), retrying in %.1f s",
                name,
                where,
                state.last_error,
                delay,
            )
        state.due = self._now() + delay
        if self.once:
            raise error

    def _run_counters(self) -> dict[str, Any]:
        return {**self.counters(), OWNER_KEY: self.owner}

    def _save_counters(self, run: Run) -> None:
        run.counters = self._run_counters()  # the detached copy too: each pass merges it
        with self.sessions.begin() as session:
            session.merge(run)

    def run(self) -> MonitorResult:
        names = ", ".join(self.states)
        sources = [store_source(AD, d.name) for d in self.domains]
        sources += [w.key for w in self.sources]
        with self.sessions.begin() as session:
            close_abandoned_runs(session, sources)
            run = start_run(session, "monitor", ", ".join(sources)[:255])
            run.counters = self._run_counters()
        self._run = run
        log.info(
            "monitor (run %d) watching %s every %.1f s%s",
            run.id,
            names,
            self.interval,
            " (one pass)" if self.once else "; stop with SIGTERM or Ctrl-C",
        )
        status = RunStatus.SUCCEEDED
        saved, beat = self._marks(), self._now() + self.heartbeat
        try:
            self.notifications.start(
                self.domains, self.connector, lambda n: self.backoff.delay(n, self.draw())
            )
            while not self.stop.is_set():
                for name in self.notifications.take():  # due now, unless its DC is retried
                    if not (state := self.states[name]).failures:
                        state.due = min(state.due, self._now())
                for state in self.states.values():
                    if self.stop.is_set():
                        break
                    if state.due <= self._now():
                        self._pass(state)
                if saved != (now := self._marks()) or self._now() >= beat:
                    saved, beat = now, self._now() + self.heartbeat
                    self._save_counters(run)
                if self.once:
                    break
                chores_due = self._chores()
                pause = min([s.due for s in self.states.values()] + chores_due) - self._now()
                if pause > 0 and self._wait(pause):
                    break
            if self.stop.is_set():
                status = RunStatus.INTERRUPTED
        except BaseException as error:
            final = RunStatus.INTERRUPTED if isinstance(error, KeyboardInterrupt) else None
            with self.sessions.begin() as session:
                finish_run(
                    session,
                    session.merge(run),
                    final or RunStatus.FAILED,
                    counters=self._run_counters(),
                    error=f"{type(error).__name__}: {error_text(error)}",
                )
            raise
        finally:
            self.notifications.close()
            for state in self.states.values():
                _close(state)
        with self.sessions.begin() as session:
            finish_run(session, session.merge(run), status, counters=self._run_counters())
        log.info("monitor (run %d) stopped: %s", run.id, status.value)
        return MonitorResult(run_id=run.id, status=status.value, domains=self.counters())
