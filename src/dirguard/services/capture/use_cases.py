"""The capture use cases as the CLI and the HTTP API call them: a :class:`Runtime` and a typed
request in, a typed result out, failures as :class:`ServiceError`.

* :func:`snapshot` — a baseline of each chosen domain (resumable);
* :func:`capture` — one change read of each chosen domain, then its actors;
* :func:`fill_actors` — the actors of each chosen domain's unattributed changes;
* :func:`monitor` — capture continuously until stopped (SIGTERM / Ctrl-C).

Each domain is opened through the runtime (its openers turn configuration into an
authenticated connection) and read through the AD provider's reader.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad.change_notification import NotifierFactory
from dirguard.providers.base import SourceError, SourceReader
from dirguard.providers.readers import reading_provider
from dirguard.services.capture.actor_fill import FillReport
from dirguard.services.capture.capture import (
    CaptureError,
    CaptureResult,
    capture_source,
    fill_source_actors,
)
from dirguard.services.capture.monitor import (
    RETRYABLE_PASS,
    Chore,
    Monitor,
    MonitorError,
    MonitorResult,
    PassReport,
    WatchedSource,
    stop_on_signals,
)
from dirguard.services.capture.snapshot import SnapshotResult, snapshot_source
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rollback.elevation_cases import Revoked, revoke_pending_elevations
from dirguard.services.rules.triggers import after_capture, after_pass
from dirguard.services.runtime import Runtime
from dirguard.services.scheduler.embedded import scheduler_thread
from dirguard.services.threats.detect import DetectReport
from dirguard.store.audit import SELF

log = logging.getLogger(__name__)

AD = reading_provider("ad")


@contextmanager
def _reader(runtime: Runtime, domain: AdDomainConfig) -> Iterator[SourceReader]:
    with closing(AD.open_reader(runtime, domain.name)) as reader:
        yield reader


def source_names(runtime: Runtime, kind: str, name: str | None) -> list[str]:
    """The configured sources of ``kind`` (``ad`` domains, ``entra`` tenants), or the one
    named; a :class:`ServiceError` naming what is configured otherwise."""
    if kind == "ad":
        return [d.name for d in runtime.ad_domains(name)]
    if kind == "entra":
        tenants = runtime.config.entra.tenants
        if not tenants:
            raise ServiceError("no [[entra.tenants]] in the configuration", Problem.CONFIG)
        if name is None:
            return [t.name for t in tenants]
        chosen = [t.name for t in tenants if t.name == name]
        if not chosen:
            known = ", ".join(t.name for t in tenants)
            raise ServiceError(
                f"no Entra tenant {name!r} configured (configured: {known})", Problem.NOT_FOUND
            )
        return chosen
    raise ServiceError(f"no {kind!r} source can be read", Problem.NOT_FOUND)


@contextmanager
def open_source(runtime: Runtime, kind: str, name: str) -> Iterator[SourceReader]:
    """The configured source opened for reading through its provider, closed afterwards."""
    try:
        with closing(reading_provider(kind).open_reader(runtime, name)) as reader:
            yield reader
    except SourceError as error:
        problem = Problem.PERMISSION if error.refused else Problem.UNAVAILABLE
        raise ServiceError(str(error), problem) from None


@dataclass(frozen=True, kw_only=True)
class SnapshotRequest:
    domain: str | None = None
    """A configured source's name (an AD domain, an Entra tenant); ``None``: every one of
    ``kind``."""
    progress: Callable[[str, int], None] | None = None
    """Called with the source and the number of objects read so far (0 when it starts)."""
    kind: str = "ad"
    """The kind of source (``ad``, ``entra``)."""


@dataclass(frozen=True, kw_only=True)
class SnapshotReport:
    snapshots: tuple[SnapshotResult, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"snapshots": [s.as_dict() for s in self.snapshots]}


def snapshot(runtime: Runtime, request: SnapshotRequest) -> SnapshotReport:
    """Read every object of each domain's configured partitions and store new versions."""
    results = []
    tell = request.progress
    for name in source_names(runtime, request.kind, request.domain):
        with open_source(runtime, request.kind, name) as reader:
            progress = None if tell is None else partial(tell, name)
            if progress is not None:
                progress(0)
            results.append(snapshot_source(runtime.sessions, reader, progress=progress))
    return SnapshotReport(snapshots=tuple(results))


@dataclass(frozen=True, kw_only=True)
class ActorCounts:
    """What filling in the actors of one domain did."""

    records_read: int
    attributed: int
    unknown: int

    @classmethod
    def of(cls, report: FillReport | None) -> ActorCounts | None:
        if report is None:
            return None
        return cls(
            records_read=report.records_read, attributed=report.filled, unknown=report.unknown
        )

    def as_dict(self) -> dict[str, int]:
        return {
            "records_read": self.records_read,
            "attributed": self.attributed,
            "unknown": self.unknown,
        }


@dataclass(frozen=True, kw_only=True)
class DomainCapture:
    capture: CaptureResult
    actors: ActorCounts | None
    """``None``: the domain names no audit source (``samba_audit_files``)."""

    def as_dict(self) -> dict[str, Any]:
        actors = None if self.actors is None else self.actors.as_dict()
        return {**self.capture.as_dict(), "actors": actors}


@dataclass(frozen=True, kw_only=True)
class CaptureRequest:
    domain: str | None = None
    """A configured source's name; ``None``: every one of ``kind``."""
    kind: str = "ad"
    """The kind of source (``ad``, ``entra``)."""


@dataclass(frozen=True, kw_only=True)
class CaptureReport:
    captures: tuple[DomainCapture, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"captures": [c.as_dict() for c in self.captures]}


def _actors(runtime: Runtime, reader: SourceReader) -> ActorCounts | None:
    try:
        return ActorCounts.of(fill_source_actors(runtime.sessions, reader))
    except OSError as error:
        message = f"{reader.name}: reading the audit files: {error}"
        raise ServiceError(message, Problem.FAILURE) from None


def capture(runtime: Runtime, request: CaptureRequest) -> CaptureReport:
    """One DirSync pass per domain (the changes since the last pass or the snapshot), then the
    actors of its unattributed changes, then (committed) the rules its changes trigger."""
    results = []
    for name in source_names(runtime, request.kind, request.domain):
        with open_source(runtime, request.kind, name) as reader:
            try:
                result = capture_source(runtime.sessions, reader)
            except CaptureError as error:
                raise ServiceError(str(error), Problem.FAILURE) from None
            results.append(DomainCapture(capture=result, actors=_actors(runtime, reader)))
            source = reader.source
        after_capture(runtime, source)  # the pass has committed: its triggered rules
    return CaptureReport(captures=tuple(results))


@dataclass(frozen=True, kw_only=True)
class ActorsRequest:
    domain: str | None = None
    """A configured domain's name; ``None``: every configured domain."""


@dataclass(frozen=True, kw_only=True)
class ActorsReport:
    domains: dict[str, ActorCounts | None]

    def as_dict(self) -> dict[str, Any]:
        return {n: None if a is None else a.as_dict() for n, a in self.domains.items()}


def fill_actors(runtime: Runtime, request: ActorsRequest) -> ActorsReport:
    """Attribute each domain's unattributed changes (dirguard's own writes, then its audit
    trail)."""
    found = {}
    for domain in runtime.ad_domains(request.domain):
        with _reader(runtime, domain) as reader:
            found[domain.name] = _actors(runtime, reader)
    return ActorsReport(domains=found)


@dataclass(frozen=True, kw_only=True)
class MonitorRequest:
    domain: str | None = None
    """A configured domain's name; ``None``: every configured domain (none when only
    ``tenant`` is given)."""
    tenant: str | None = None
    """A configured Entra tenant's name; ``None``: every configured tenant (none when only
    ``domain`` is given)."""
    source_interval: float = 30.0
    """Seconds between passes over each Entra tenant (a delta round per delta collection, a
    poll of the others within the conditional-access budget)."""
    interval: float = 2.0
    """Seconds between DirSync polls of each domain (the fallback to change notification)."""
    once: bool = False
    """One pass per domain, then return (no retries: an unreachable DC is an error)."""
    notify: bool = True
    """Follow the DCs' LDAP change notification (``False``: poll only)."""
    on_pass: PassReport | None = None
    """Called after every successful pass."""
    on_revoked: Callable[[Revoked], None] | None = None
    """Told which pending elevations (left by a dirguard that stopped) were revoked first."""
    elevation_check: float = 60.0
    """Seconds between checks for elevations a dirguard that stopped left behind."""
    stop: threading.Event | None = None
    """Set by the caller to stop (``dirguard serve --monitor`` runs the monitor in a thread and
    owns the signals); ``None``: the monitor stops on SIGTERM/SIGINT itself."""
    detect: bool = True
    """Match each pass's changes against the threat rules (alerts, auto-undo, notifications)."""
    on_alerts: Callable[[DetectReport], None] | None = None
    """Told of each pass's detection when it made or added to alerts."""
    scheduler: bool = True
    """Run the due rules and reports in this process too (``[scheduler]``; never with
    ``once``). ``dirguard serve --monitor`` runs its own scheduler and says ``False``."""


def _ad_change_notifier() -> NotifierFactory:
    """LDAP change notification (python-ldap, the ``ad`` extra: imported only when a domain is
    watched)."""
    from dirguard.providers.ad.change_notification import change_notifier

    return change_notifier


def _chores(
    runtime: Runtime, domains: Sequence[AdDomainConfig], elevation_check: float
) -> tuple[Chore, ...]:
    """The monitor's periodic work: revoking the elevations a dirguard that stopped left behind
    (a running apply's are left alone), checking each connection's consent (recorded for the
    console's banner) and signed checkpoints of the event chains."""
    from dirguard.services.chain_integrity import write_checkpoints

    def revoke_left_elevations() -> None:
        revoked = revoke_pending_elevations(runtime, domains, runtime.entra_tenants())
        for row in revoked.ended:
            log.warning(
                "revoked elevation %d: %s removed from %s (left by a dirguard that stopped)",
                row.id,
                row.account,
                row.group,
            )
        for problem in revoked.problems:
            log.warning("pending elevation not revoked: %s", problem)

    chores = [Chore(name="elevation check", every=elevation_check, work=revoke_left_elevations)]
    if every := runtime.config.threats.exposure_interval:
        from dirguard.services.threats.monitoring import exposure_chore

        chores.append(Chore(name="exposure checks", every=every, work=exposure_chore(runtime)))
    if every := runtime.config.consent.check_interval:
        from dirguard.services.consent_state import check_and_record

        def check_consent() -> None:
            for state in check_and_record(runtime.acting_as(SELF)):
                if state.partial or state.complete is None:
                    log.warning("consent check: %s", state.summary())

        chores.append(Chore(name="consent check", every=every, work=check_consent))
    if every := runtime.config.store.checkpoint_interval:

        def checkpoint() -> None:
            write_checkpoints(runtime.config, runtime.sessions, runtime.clock())

        chores.append(Chore(name="chain checkpoint", every=every, work=checkpoint))
    return tuple(chores)


def _run_until(watcher: Monitor, stop: threading.Event) -> MonitorResult:
    """Run ``watcher`` until ``stop`` is set (then its wait is woken at once)."""

    def relay() -> None:
        stop.wait()
        watcher.stop.set()
        watcher.notifications.wake.set()

    threading.Thread(target=relay, name="monitor-stop", daemon=True).start()
    if stop.is_set():
        watcher.stop.set()
    return watcher.run()


def _watched(
    runtime: Runtime, request: MonitorRequest
) -> tuple[list[AdDomainConfig], list[WatchedSource]]:
    """The AD domains and the other sources (Entra tenants) the request names: with neither
    named, everything configured; a name of one kind only, only that one."""
    both = request.domain is None and request.tenant is None
    domains: list[AdDomainConfig] = []
    if request.domain is not None or (both and runtime.config.ad.domains):
        domains = runtime.ad_domains(request.domain)
    names: list[str] = []
    if request.tenant is not None or (both and runtime.config.entra.tenants):
        names = source_names(runtime, "entra", request.tenant)
    if not domains and not names:
        raise ServiceError(
            "nothing to monitor: add [[ad.domains]] or [[entra.tenants]] to the configuration",
            Problem.CONFIG,
        )
    provider = reading_provider("entra")
    sources = [
        WatchedSource(
            kind="entra",
            name=name,
            open=partial(provider.open_reader, runtime, name),
            interval=request.source_interval,
        )
        for name in names
    ]
    return domains, sources


def monitor(runtime: Runtime, request: MonitorRequest) -> MonitorResult:
    """Capture the domains' changes as they happen until SIGTERM or Ctrl-C (a second signal
    raises ``KeyboardInterrupt``: the pass in progress is abandoned, the run marked
    interrupted). Pending elevations left by a dirguard that stopped are revoked first. Every
    connection is opened through the runtime, its credential resolved afresh."""
    domains, sources = _watched(runtime, request)
    revoked = revoke_pending_elevations(runtime, domains, runtime.entra_tenants())
    if request.on_revoked is not None:
        request.on_revoked(revoked)
    from dirguard.services.threats.monitoring import detection_hook

    try:
        watcher = Monitor(
            sessions=runtime.sessions,
            domains=domains,
            connector=lambda domain: runtime.openers(domain).bind(),
            sources=sources,
            interval=request.interval,
            once=request.once,
            on_pass=request.on_pass,
            notifier=_ad_change_notifier() if request.notify and domains else None,
            chores=_chores(runtime, domains, request.elevation_check),
            after_pass=after_pass(
                runtime, detection_hook(runtime, request.on_alerts) if request.detect else None
            ),
        )
        scheduler = None
        if request.scheduler and not request.once:
            scheduler = scheduler_thread(runtime, watcher.stop)
        if scheduler is not None:
            scheduler.start()
        try:
            if request.stop is not None:
                return _run_until(watcher, request.stop)
            with stop_on_signals(watcher.stop, watcher.notifications.wake):
                return watcher.run()
        finally:
            watcher.stop.set()
            if scheduler is not None:
                scheduler.join()
    except MonitorError as error:
        raise ServiceError(str(error), Problem.PERMISSION) from None
    except CaptureError as error:
        raise ServiceError(str(error), Problem.FAILURE) from None
    except RETRYABLE_PASS as error:
        raise ServiceError(f"monitor --once: {error}", Problem.UNAVAILABLE) from None
    except ServiceError as error:
        if error.problem is not Problem.UNAVAILABLE:
            raise
        raise ServiceError(f"monitor --once: {error}", Problem.UNAVAILABLE) from None
