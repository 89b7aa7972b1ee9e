"""``dirguard serve``: the app under uvicorn, over HTTPS unless told otherwise, stopped cleanly.

SIGINT or SIGTERM stops accepting connections, lets the requests in flight finish (up to
:data:`GRACE` seconds), then stops the in-process monitor if there is one (it finishes its
pass; the open page is committed or not at all) and the scheduler (the job running finishes)
and returns. A second signal stops at once.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

from dirguard.config.schema import WebConfig
from dirguard.services.capture.use_cases import MonitorRequest, monitor
from dirguard.services.errors import ServiceError
from dirguard.services.runtime import Runtime
from dirguard.services.scheduler.embedded import scheduler_thread
from dirguard.web.app import create_app
from dirguard.web.tls_cert import TlsFiles, configured, self_signed

log = logging.getLogger("dirguard.web")
GRACE = 10
"""Seconds the requests in flight get to finish at shutdown."""


@dataclass(frozen=True, kw_only=True)
class ServeRequest:
    host: str
    port: int
    tls: bool
    settings: WebConfig
    tls_dir: Path
    """Where a generated certificate is kept."""
    monitor: MonitorRequest | None = None
    """Run the monitor in this process too (``--monitor``)."""
    on_ready: Callable[[str], None] | None = None
    """Told the console's URL once it listens."""


def tls_files(request: ServeRequest) -> TlsFiles | None:
    if not request.tls:
        return None
    settings = request.settings
    if settings.tls_cert is not None and settings.tls_key is not None:
        files = configured(settings.tls_cert, settings.tls_key)
        log.info(
            "HTTPS with the configured certificate %s (SHA-256 %s)", files.cert, files.fingerprint
        )
        return files
    files = self_signed(request.tls_dir, request.host)
    log.warning(
        "HTTPS with a self-signed certificate dirguard generated (%s, for %s): browsers will"
        " warn; check its SHA-256 fingerprint %s, or set [web] tls_cert and tls_key",
        files.cert,
        ", ".join(files.names),
        files.fingerprint,
    )
    return files


def _monitor_thread(runtime: Runtime, request: MonitorRequest) -> threading.Thread:
    def run() -> None:
        try:
            result = monitor(runtime, request)
            log.info("monitor stopped (run %s %s)", result.run_id, result.status)
        except ServiceError as error:
            log.error("monitor stopped: %s (the console keeps serving the stored history)", error)
        except Exception:
            log.exception("monitor failed (the console keeps serving the stored history)")

    return threading.Thread(target=run, name="monitor", daemon=False)


def _consent_thread(runtime: Runtime, stop: threading.Event) -> threading.Thread | None:
    """Checks every connection's consent at start and every ``[consent] check_interval``
    seconds, recording it for the banner (reads the directories only); none with 0."""
    every = runtime.config.consent.check_interval
    if not every:
        return None
    from dirguard.services.consent_state import check_and_record
    from dirguard.store.audit import SELF

    def run() -> None:
        while not stop.is_set():
            try:
                for state in check_and_record(runtime.acting_as(SELF)):
                    if state.partial or state.complete is None:
                        log.warning("consent check: %s", state.summary())
            except Exception:  # the console keeps serving; tried again at the next interval
                log.exception("consent check failed")
            stop.wait(every)

    return threading.Thread(target=run, name="consent-check", daemon=True)


def serve(runtime: Runtime, request: ServeRequest) -> None:
    """Serve until SIGINT/SIGTERM (see the module's docstring)."""
    import uvicorn

    files = tls_files(request)
    app = create_app(runtime, request.settings, secure_cookies=files is not None)
    config = uvicorn.Config(
        app,
        host=request.host,
        port=request.port,
        ssl_certfile=str(files.cert) if files else None,
        ssl_keyfile=str(files.key) if files else None,
        log_config=None,
        timeout_graceful_shutdown=GRACE,
        server_header=False,
        proxy_headers=False,
    )
    server = uvicorn.Server(config)
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            server.force_exit = True
        stop.set()
        server.should_exit = True

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    thread = None
    if request.monitor is not None:
        # this process's scheduler runs below: the monitor does not start a second one
        thread = _monitor_thread(runtime, replace(request.monitor, stop=stop, scheduler=False))
        thread.start()
    scheduler = scheduler_thread(runtime, stop)
    if scheduler is not None:
        scheduler.start()
    checker = _consent_thread(runtime, stop)
    if checker is not None:
        checker.start()
    scheme = "https" if files else "http"
    shown = f"[{request.host}]" if ":" in request.host else request.host
    url = f"{scheme}://{shown}:{request.port}/"
    if request.on_ready is not None:
        request.on_ready(url)
    try:
        server.run()
    finally:
        stop.set()
        if thread is not None:
            log.info("stopping the monitor (it finishes its pass)")
            thread.join()
        if scheduler is not None:
            log.info("stopping the scheduler (the job running finishes)")
            scheduler.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("dirguard serve stopped")
