"""``dirguard monitor``: capture AD and Entra changes continuously until SIGTERM or Ctrl-C.

Operator messages (connections, retries, stop) go to the log on standard error, in the format
of the configuration's ``[log]``; standard output gets one line per pass that stored changes and
a summary at the end (JSON lines with ``--json``).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from dirguard.cli.common import DomainOption, cli_runtime
from dirguard.cli.context import console, err_console
from dirguard.cli.elevation_cmd import print_revoked
from dirguard.services.capture.capture import CaptureResult
from dirguard.services.capture.monitor import MonitorResult
from dirguard.services.capture.use_cases import MonitorRequest, monitor

Interval = Annotated[
    float,
    typer.Option(
        "--interval", "-i", help="Seconds between DirSync polls of each domain (the fallback)."
    ),
]
Once = Annotated[bool, typer.Option("--once", help="One pass per domain, then exit (no retries).")]
NoNotify = Annotated[
    bool,
    typer.Option(
        "--no-notify",
        help="Poll only: no LDAP change-notification search (for DCs or firewalls where a "
        "persistent search is unwanted).",
    ),
]
ElevationCheck = Annotated[
    float,
    typer.Option(
        "--elevation-check",
        help="Seconds between checks for just-in-time elevations a killed dirguard left in"
        " place (revoked; a running apply's are left alone).",
        min=1.0,
    ),
]
TenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant", "-t", help="Only this configured Entra tenant (default: all, with the domains)."
    ),
]
SourceInterval = Annotated[
    float,
    typer.Option(
        "--entra-interval",
        help="Seconds between passes over each Entra tenant (delta rounds and polls).",
        min=1.0,
        max=3600.0,
    ),
]
JsonLines = Annotated[
    bool, typer.Option("--json", help="JSON lines: one per pass with changes, then a summary.")
]


def _line(data: object) -> None:
    """One JSON document on one line, flushed at once (a reader follows the stream live)."""
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))


def monitor_cmd(
    ctx: typer.Context,
    domain: DomainOption = None,
    tenant: TenantOption = None,
    interval: Interval = 2.0,
    entra_interval: SourceInterval = 30.0,
    once: Once = False,
    no_notify: NoNotify = False,
    elevation_check: ElevationCheck = 60.0,
    as_json: JsonLines = False,
) -> None:
    """Store AD and Entra changes as they happen, in one process: a DirSync pass per domain
    whenever the DC reports a change (LDAP change notification) and at least every --interval
    seconds, a Graph pass per tenant every --entra-interval seconds; each source resumed from
    its stored cursors and retried with backoff on its own while it fails. Needs baselines
    (`dirguard snapshot ad`, `dirguard snapshot entra`). Stops cleanly on SIGTERM or Ctrl-C
    (exit 0)."""
    if not 0 < interval <= 3600:
        raise typer.BadParameter(
            f"{interval} s: give a number of seconds above 0 and at most 3600",
            param_hint="--interval",
        )

    def report(name: str, result: CaptureResult) -> None:
        if result.events and as_json:
            _line({"pass": result.as_dict()})
        elif result.events:
            ops = ", ".join(f"{k} {v}" for k, v in sorted(result.ops.items()))
            console.print(f"[bold]{name}[/]: {result.events} events ({ops})", highlight=False)

    request = MonitorRequest(
        domain=domain,
        tenant=tenant,
        source_interval=entra_interval,
        interval=interval,
        once=once,
        notify=not no_notify,
        on_pass=report,
        on_revoked=print_revoked,
        elevation_check=elevation_check,
    )
    with cli_runtime(ctx) as runtime:
        try:
            result = monitor(runtime, request)
        except KeyboardInterrupt:
            err_console.print("monitor: stopped during a pass (the open page was not committed)")
            return
    _summary(result, as_json)


def _summary(result: MonitorResult, as_json: bool) -> None:
    if as_json:
        _line({"monitor": result.as_dict()})
        return
    for name, counts in result.domains.items():
        console.print(
            f"[bold]{name}[/]: {counts['passes']} passes, {counts['events']} events, "
            f"{counts['errors']} errors, {counts.get('notifications', 0)} change notifications "
            f"(run {result.run_id} {result.status})",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("monitor")(monitor_cmd)
