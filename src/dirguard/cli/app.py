"""The ``dirguard`` command: a thin layer that parses, calls a service and renders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dirguard import __version__
from dirguard.cli import (
    ad_cmd,
    config_cmd,
    connect_cmd,
    db_cmd,
    demo_cmd,
    docs_cmd,
    elevation_cmd,
    monitor_cmd,
    permissions_cmd,
    restore_cmd,
    rollback_cmd,
    sandbox_cmd,
)
from dirguard.cli.context import state
from dirguard.log_setup import configure_logging

HELP = (
    "dirguard: guardian and administration console for hybrid identity.\n\n"
    "Exit codes: 0 ok; 1 failure; 2 missing permissions / partial consent, or bad usage; "
    "3 invalid configuration; 4 a needed service is unreachable."
)

app = typer.Typer(
    name="dirguard",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dirguard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="DIRGUARD_CONFIG",
            help="Configuration file (TOML). Default: ~/.config/dirguard/dirguard.toml.",
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output.")
    ] = 0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    state(ctx).config_path = config
    state(ctx).verbose = verbose
    configure_logging("debug" if verbose > 1 else "info" if verbose else "warning")


config_cmd.register(app)
permissions_cmd.register(app)
connect_cmd.register(app)
docs_cmd.register(app)
db_cmd.register(app)
demo_cmd.register(app)
sandbox_cmd.register(app)
ad_cmd.register(app)
monitor_cmd.register(app)
rollback_cmd.register(app)
restore_cmd.register(app)
elevation_cmd.register(app)


def main() -> None:
    app()
