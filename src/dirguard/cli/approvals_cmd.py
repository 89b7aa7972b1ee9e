"""``dirguard approvals list|show|sweep``: approval requests for web actions (every one: the
command runs as the store's owner), one request with its decisions, and the expiry and
escalation pass the scheduler runs. Deciding is done signed in to the console, where who
decides is proven."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dirguard.cli.common import JsonOption, cli_runtime, fail
from dirguard.cli.context import console, print_json
from dirguard.cli.exit_codes import ExitCode

approvals_app = typer.Typer(
    help="Approval requests for web actions: list, show, expire and escalate (sweep).",
    no_args_is_help=True,
)
STATES = ("pending", "rejected", "expired", "executed", "failed", "all")


@approvals_app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: Annotated[str, typer.Option("--status", help=", ".join(STATES) + ".")] = "pending",
    as_json: JsonOption = False,
) -> None:
    """Approval requests, newest first (pending ones by default)."""
    from dirguard.core.delegation import ConsoleUser
    from dirguard.services.approvals.requests import list_requests

    if status not in STATES:
        raise fail(f"--status {status!r}: one of {', '.join(STATES)}", ExitCode.CRITICAL)
    with cli_runtime(ctx) as runtime:
        rows = list_requests(
            runtime,
            ConsoleUser(name=runtime.principal),
            administrator=True,
            status=None if status == "all" else status,
        )
    if as_json:
        print_json({"requests": rows})
        return
    if not rows:
        console.print("No approval request.")
        return
    table = Table("id", "status", "action", "object", "requester", "approvals", "expires")
    for r in rows:
        approved = sum(1 for d in r["decisions"] if d["decision"] == "approve")
        table.add_row(
            str(r["id"]),
            r["status"],
            r["action"],
            escape(r["target"]),
            escape(r["requester"]),
            f"{approved} of {r['required']}",
            r["expires_at"],
        )
    console.print(table)


@approvals_app.command("show")
def show_cmd(
    ctx: typer.Context,
    request_id: Annotated[int, typer.Argument(metavar="ID", help="The request's number.")],
    as_json: JsonOption = False,
) -> None:
    """One request: what it changes, who may decide, each decision, how it ended."""
    from dirguard.services.approvals.requests import show

    with cli_runtime(ctx) as runtime:
        row = show(runtime, request_id)
    if as_json:
        print_json(row)
        return
    console.print(
        f"[bold]request {row['id']}[/] {row['status']}: {escape(row['action'])} on "
        f"{escape(row['target'])} for {escape(row['requester'])}",
        highlight=False,
    )
    for d in row["decisions"]:
        console.print(f"  {escape(d['by'])}: {d['decision']} at {d['at']}", highlight=False)
    if row["result"]:
        console.print(f"result: {escape(str(row['result']))}", highlight=False)


@approvals_app.command("sweep")
def sweep_cmd(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Expire overdue requests and escalate those that waited too long (what the scheduler
    does), now."""
    from dirguard.services.approvals.requests import sweep

    with cli_runtime(ctx) as runtime:
        swept = sweep(runtime)
    if as_json:
        print_json({"expired": swept.expired, "escalated": swept.escalated})
    else:
        console.print(
            f"expired: {swept.expired or 'none'}; escalated: {swept.escalated or 'none'}",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(approvals_app, name="approvals")
