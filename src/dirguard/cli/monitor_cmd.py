"""``dirguard monitor``: capture AD changes continuously until SIGTERM or Ctrl-C.

Operator messages (connections, retries, stop) go to the log on standard error, in the format
of the configuration's ``[log]``; standard output gets one line per pass that stored changes and
a summary at the end (JSON lines with ``--json``).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from sqlalchemy.orm import Session, sessionmaker

from dirguard.cli.context import console, err_console, load_cli_config
from dirguard.cli.elevation_cmd import revoke_at_start
from dirguard.cli.exit_codes import ExitCode
from dirguard.config.schema import AdDomainConfig, Config
from dirguard.providers.ad.change_notification import change_notifier
from dirguard.services.capture.ad_capture import CaptureError, CaptureResult
from dirguard.services.capture.monitor import (
    RETRYABLE,
    Monitor,
    MonitorError,
    config_connector,
    stop_on_signals,
)
from dirguard.store.database import StoreError, create_engine_for, session_factory, upgrade


def _fail(message: str, code: ExitCode) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {escape(message)}", markup=True, highlight=False)
    return typer.Exit(code)


def _domains(config: Config, name: str | None) -> list[AdDomainConfig]:
    domains = list(config.ad.domains)
    if not domains:
        raise _fail("no [[ad.domains]] in the configuration", ExitCode.CONFIG_INVALID)
    if name is None:
        return domains
    chosen = [d for d in domains if d.name == name.lower()]
    if not chosen:
        known = ", ".join(d.name for d in domains)
        raise _fail(f"no AD domain {name!r} configured (configured: {known})", ExitCode.FAILURE)
    return chosen


def _line(data: object) -> None:
    """One JSON document on one line, flushed at once (a reader follows the stream live)."""
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))


def monitor_cmd(
    ctx: typer.Context,
    domain: Annotated[
        str | None,
        typer.Option("--domain", "-d", help="Domain name from the configuration (default: all)."),
    ] = None,
    interval: Annotated[
        float,
        typer.Option(
            "--interval", "-i", help="Seconds between DirSync polls of each domain (the fallback)."
        ),
    ] = 2.0,
    once: Annotated[
        bool, typer.Option("--once", help="One pass per domain, then exit (no retries).")
    ] = False,
    no_notify: Annotated[
        bool,
        typer.Option(
            "--no-notify",
            help="Poll only: no LDAP change-notification search (for DCs or firewalls where a "
            "persistent search is unwanted).",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON lines: one per pass with changes, then a summary.")
    ] = False,
) -> None:
    """Store AD changes as they happen: a DirSync pass per domain whenever the DC reports a change
    (LDAP change notification) and at least every --interval seconds, resumed from the stored
    cookie, retried with backoff while a DC is down. Needs a baseline (`dirguard snapshot ad`).
    Stops cleanly on SIGTERM or Ctrl-C (exit 0)."""
    if not 0 < interval <= 3600:
        raise typer.BadParameter(
            f"{interval} s: give a number of seconds above 0 and at most 3600",
            param_hint="--interval",
        )
    config = load_cli_config(ctx).config
    domains = _domains(config, domain)

    def report(name: str, result: CaptureResult) -> None:
        if not result.events:
            return
        if as_json:
            _line({"pass": result.as_dict()})
            return
        ops = ", ".join(f"{k} {v}" for k, v in sorted(result.ops.items()))
        console.print(f"[bold]{name}[/]: {result.events} events ({ops})", highlight=False)

    try:
        engine = create_engine_for(config.store.url)
        upgrade(engine)
    except StoreError as error:
        raise _fail(str(error), ExitCode.UNAVAILABLE) from None
    try:
        sessions: sessionmaker[Session] = session_factory(engine)
        revoke_at_start(config, sessions, domains)  # left by a dirguard that stopped
        monitor = Monitor(
            sessions=sessions,
            domains=domains,
            connector=config_connector(config),
            interval=interval,
            once=once,
            on_pass=report,
            notifier=None if no_notify else change_notifier,
        )
        with stop_on_signals(monitor.stop, monitor.notifications.wake):
            result = monitor.run()
    except MonitorError as error:
        raise _fail(str(error), ExitCode.CRITICAL) from None
    except CaptureError as error:
        raise _fail(str(error), ExitCode.FAILURE) from None
    except KeyboardInterrupt:
        err_console.print("monitor: stopped during a pass (the open page was not committed)")
        return
    except RETRYABLE as error:
        raise _fail(f"monitor --once: {error}", ExitCode.UNAVAILABLE) from None
    finally:
        engine.dispose()
    if as_json:
        _line({"monitor": result.as_dict()})
        return
    for name, counts in result.domains.items():
        console.print(
            f"[bold]{name}[/]: {counts['passes']} passes, {counts['events']} events, "
            f"{counts['errors']} errors, {counts['notifications']} change notifications "
            f"(run {result.run_id} {result.status})",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor_cmd)
