"""``dirguard elevation status|revoke`` and ``rollback check``: just-in-time elevations of the
read-only AD account (its admin group memberships) and of a read-only Entra tenant's application
(the Graph application permissions and directory roles granted to it).

A rollback in read-only mode adds the bind account to the admin group it needs and removes it
afterwards. An elevation left ``pending`` (dirguard stopped while the account was elevated) is
revoked at the start of the next ``rollback apply``, ``undelete`` or ``monitor``, or at once by
``dirguard elevation revoke``. The use cases are
:mod:`dirguard.services.rollback.elevation_cases`.
"""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dirguard.cli.common import DomainOption, JsonOption, cli_runtime, fail, service_errors
from dirguard.cli.context import console, err_console, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.config.schema import AdDomainConfig
from dirguard.services.rollback import apply_cases, elevation_cases
from dirguard.services.rollback.elevation import ElevationRow
from dirguard.services.rollback.elevation_cases import Revoked
from dirguard.services.runtime import Runtime

elevation_app = typer.Typer(
    help="Just-in-time elevations of read-only AD accounts and Entra applications: status and"
    " revocation.",
    no_args_is_help=True,
)


def print_revoked(revoked: Revoked) -> None:
    """Say on standard error which pending elevations were revoked before a command touched AD
    (a failure is a warning: the elevation stays pending and ``dirguard elevation revoke``
    retries)."""
    for row in revoked.ended:
        err_console.print(
            f"[yellow]revoked[/yellow] pending elevation {row.id}: {escape(row.account)} "
            f"removed from {escape(row.group)} (granted {row.started_at.isoformat()} for "
            f"{escape(row.reason)}; dirguard had stopped while it was in place)",
            highlight=False,
        )
    for problem in revoked.problems:
        err_console.print(f"[yellow]warning:[/yellow] {escape(problem)}", highlight=False)


def revoke_at_start(runtime: Runtime, domains: Sequence[AdDomainConfig]) -> Revoked:
    """Revoke pending elevations before a command touches AD (on behalf of the runtime's
    principal), and say so on standard error."""
    with service_errors():
        revoked = elevation_cases.revoke_pending_elevations(runtime, domains)
    print_revoked(revoked)
    return revoked


def check_plan_cmd(
    ctx: typer.Context,
    plan_id: Annotated[int, typer.Argument(metavar="PLAN_ID", help="The plan's number.")],
    as_json: JsonOption = False,
) -> None:
    """Check, writing nothing, whether `dirguard rollback apply PLAN_ID` would apply the plan:
    the partitions it touches, the groups they need, which ones the bind account lacks, and
    whether read-only mode refuses or elevation would grant them. Exit code 2 when apply would
    be refused."""
    with cli_runtime(ctx) as runtime:
        result = apply_cases.check(runtime, apply_cases.CheckRequest(plan_id=plan_id))
    if as_json:
        print_json(result.as_dict())
    else:
        needs = ", ".join(result.rights.needed()) or "nothing (no pending step)"
        console.print(
            f"Plan {plan_id} ({result.mode} mode) needs: {escape(needs)}", highlight=False
        )
        console.print(f"{result.would}: {escape(result.message)}", highlight=False)
    if result.would == "refuse":
        raise typer.Exit(ExitCode.CRITICAL)


def _table(rows: Sequence[ElevationRow]) -> Table:
    table = Table(
        "id", "domain", "account", "group", "asked by", "reason", "status", "start", "end"
    )
    for row in rows:
        table.add_row(
            str(row.id),
            escape(row.source),
            escape(row.account),
            escape(row.group),
            escape(row.requested_by),
            escape(row.reason),
            row.status,
            row.started_at.isoformat(),
            row.ended_at.isoformat() if row.ended_at else "",
        )
    return table


@elevation_app.command("status")
def status_cmd(
    ctx: typer.Context,
    domain: DomainOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="Recent elevations to list.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List pending elevations (still in place, or left by a dirguard that stopped) and the
    most recent ones. Reads the store only; nothing is written to AD."""
    request = elevation_cases.StatusRequest(domain=domain, limit=limit)
    with cli_runtime(ctx) as runtime:
        result = elevation_cases.status(runtime, request)
    if as_json:
        print_json(result.as_dict())
        return
    if result.pending:
        console.print(f"[bold red]{len(result.pending)} pending elevation(s)[/]", highlight=False)
        console.print(_table(result.pending))
    else:
        console.print("No pending elevation.")
    if result.recent:
        console.print("[bold]Recent elevations[/]")
        console.print(_table(result.recent))


@elevation_app.command("revoke")
def revoke_cmd(
    ctx: typer.Context,
    domain: DomainOption = None,
    requested_by: Annotated[
        str | None,
        typer.Option(
            "--requested-by", "--as", help="Who revokes (audit log). Default: your login."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Remove every pending elevation's grant now (an AD group membership, an Entra application
    permission or directory role), with the elevation credential. Exit code 1 when one could
    not be removed (it stays pending)."""
    request = elevation_cases.RevokeRequest(domain=domain)
    with cli_runtime(ctx) as runtime:
        runtime = runtime.acting_as(requested_by or getpass.getuser())
        result = elevation_cases.revoke(runtime, request)
    if as_json:
        print_json(result.as_dict())
    else:
        for row in result.ended:
            console.print(
                f"elevation {row.id}: {escape(row.account)} removed from "
                f"{escape(row.group)} ({escape(row.end_note or '')})",
                highlight=False,
            )
        if not result.ended and not result.problems:
            console.print("No pending elevation.")
    if result.problems:
        raise fail("; ".join(result.problems), ExitCode.FAILURE)


def register(app: typer.Typer) -> None:
    app.add_typer(elevation_app, name="elevation")
