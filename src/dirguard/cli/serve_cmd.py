"""``dirguard serve``: the web console and REST API (and, with ``--monitor``, the monitor)."""

from __future__ import annotations

from typing import Annotated

import typer

from dirguard.cli.common import DomainOption, cli_runtime
from dirguard.cli.context import err_console

Host = Annotated[
    str | None,
    typer.Option("--host", help="Address to listen on (default: [web] host, 127.0.0.1)."),
]
Port = Annotated[
    int | None,
    typer.Option("--port", "-p", min=1, max=65535, help="Port (default: [web] port, 8443)."),
]
NoTls = Annotated[
    bool,
    typer.Option("--no-tls", help="Plain HTTP (only behind a TLS-terminating reverse proxy)."),
]
WithMonitor = Annotated[
    bool,
    typer.Option(
        "--monitor",
        help="Also run the monitor (every configured AD domain and Entra tenant) in this"
        " process (else the console reads the store a"
        " separate `dirguard monitor` writes).",
    ),
]
Interval = Annotated[
    float,
    typer.Option("--interval", "-i", help="With --monitor: seconds between DirSync polls."),
]


def serve_cmd(
    ctx: typer.Context,
    host: Host = None,
    port: Port = None,
    no_tls: NoTls = False,
    with_monitor: WithMonitor = False,
    domain: DomainOption = None,
    interval: Interval = 2.0,
) -> None:
    """Serve the web console and REST API (OpenAPI schema at /api/openapi.json) on loopback
    by default, over HTTPS with the configured certificate or a generated self-signed one
    (its fingerprint is logged). Stops cleanly on SIGTERM or Ctrl-C (exit 0)."""
    from dirguard.config.paths import data_dir
    from dirguard.services.capture.use_cases import MonitorRequest
    from dirguard.web.server import ServeRequest, serve

    with cli_runtime(ctx) as runtime:
        settings = runtime.config.web
        request = ServeRequest(
            host=host or settings.host,
            port=port or settings.port,
            tls=settings.tls and not no_tls,
            settings=settings,
            tls_dir=data_dir() / "console-tls",
            monitor=MonitorRequest(domain=domain, interval=interval) if with_monitor else None,
            on_ready=lambda url: err_console.print(
                f"dirguard console on {url} (Ctrl-C stops)", highlight=False
            ),
        )
        serve(runtime, request)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
