"""``dirguard demo``: the main job on embedded defaults (see ``services/demo.py``)."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Annotated, Any

import typer
from rich.table import Table

from dirguard.cli.common import EXIT_CODES
from dirguard.cli.context import console, err_console, load_cli_config, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.services.demo import DemoReport, run_demo
from dirguard.services.errors import ServiceError
from dirguard.store.database import StoreError, StoreUnavailable
from dirguard.throwaway.samba_dc import DCBusyError, PortInUseError, SambaDCError


def demo(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    no_domain: Annotated[
        bool, typer.Option("--no-domain", help="Skip the throwaway Samba AD DC.")
    ] = False,
) -> None:
    """Migrate the store, read the catalog, snapshot a throwaway Samba AD DC into the store."""
    config = load_cli_config(ctx, as_json=as_json).config
    try:
        with console.status("Starting", spinner="dots") as status:
            report = run_demo(
                config,
                getpass.getuser(),
                lambda step: status.update(step),
                domain=skip_domain if no_domain else None,
            )
    except StoreUnavailable as exc:
        err_console.print(f"store unreachable: {exc}", highlight=False)
        raise typer.Exit(ExitCode.UNAVAILABLE) from None
    except (StoreError, PortInUseError, DCBusyError, SambaDCError) as exc:
        err_console.print(str(exc), highlight=False)
        raise typer.Exit(ExitCode.FAILURE) from None
    except ServiceError as exc:
        err_console.print(str(exc), highlight=False)
        raise typer.Exit(EXIT_CODES[exc.problem]) from None
    if as_json:
        print_json(report.as_dict())
    else:
        _print_report(report)


def _print_report(report: DemoReport) -> None:
    console.print(f"Store: {report.store} (schema {report.schema_revision}), run {report.run_id}")
    perms = Table("Service", "read-only", "full", title="Permissions needed (dirguard permissions)")
    for service, counts in report.permissions.items():
        perms.add_row(service, str(counts["read-only"]), str(counts["full"]))
    console.print(perms)
    console.print(f"{report.features} features, {report.resource_types} resource types declared")
    if report.domain:
        snapshot = report.domain["snapshot"]
        objects = Table(
            "Resource type",
            "Objects stored",
            title=f"Baseline snapshot of {report.domain['realm']} "
            f"({snapshot['objects']} objects read in {snapshot['seconds']:.1f} s)",
        )
        for key, count in report.domain["objects"].items():
            objects.add_row(key, str(count))
        console.print(objects)
    for reason in report.skipped:
        console.print(f"[yellow]skipped[/] {reason}", highlight=False)


def skip_domain(sessions: object, progress: Callable[[str], None]) -> dict[str, Any]:
    del sessions, progress
    return {}


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
