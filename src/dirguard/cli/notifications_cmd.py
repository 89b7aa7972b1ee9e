"""``dirguard notifications list|deliver|retry|templates``: the e-mail dirguard sent or still
tries to send (from the ``[notifications]`` mailbox through Graph ``sendMail``), the deliveries
that are due, and a failed message sent again once its cause is fixed."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from dirguard.cli.common import JsonOption, cli_runtime, fail
from dirguard.cli.context import console, load_cli_config, print_json
from dirguard.cli.exit_codes import ExitCode

notifications_app = typer.Typer(
    help="E-mail notifications: the outbox (sent, pending, failed), deliveries, templates.",
    no_args_is_help=True,
)


@notifications_app.command("list")
def list_cmd(
    ctx: typer.Context,
    status: Annotated[str, typer.Option("--status", help="pending, sent, failed or all.")] = "all",
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many.")] = 200,
    as_json: JsonOption = False,
) -> None:
    """The outbox, newest first: each message's state, attempts and last error. Exit code 1
    when a listed message failed."""
    from dirguard.services.notifications.outbox import outbox

    if status not in ("pending", "sent", "failed", "all"):
        raise fail(f"--status {status!r}: one of pending, sent, failed, all", ExitCode.CRITICAL)
    with cli_runtime(ctx) as runtime:
        entries = outbox(runtime, status=None if status == "all" else status, limit=limit)
    failed = any(e.status == "failed" for e in entries)
    if as_json:
        print_json({"notifications": [e.as_json() for e in entries]})
    elif not entries:
        console.print("No notification.")
    else:
        table = Table("id", "status", "tries", "created", "to", "subject", "last error")
        for e in entries:
            table.add_row(
                str(e.id),
                e.status,
                str(e.attempts),
                e.created_at.isoformat(timespec="seconds"),
                escape(", ".join(e.recipients)),
                escape(e.subject),
                escape(e.last_error or ""),
            )
        console.print(table)
    if failed:
        raise typer.Exit(1)


@notifications_app.command("deliver")
def deliver_cmd(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Try every pending message whose next attempt is due now (what the scheduler does)."""
    from dirguard.services.notifications.outbox import deliver_due

    with cli_runtime(ctx) as runtime:
        done = deliver_due(runtime)
    if as_json:
        print_json({"deliveries": [d.__dict__ for d in done]})
        return
    for d in done:
        console.print(f"{d.id}: {d.status} after {d.attempts} attempt(s)", highlight=False)
    if not done:
        console.print("Nothing due.")


@notifications_app.command("retry")
def retry_cmd(
    ctx: typer.Context,
    notification_id: Annotated[int, typer.Argument(metavar="ID", help="The message's number.")],
    as_json: JsonOption = False,
) -> None:
    """Send a failed message again now (after fixing its cause: a right, a mailbox)."""
    from dirguard.services.notifications.outbox import retry

    with cli_runtime(ctx) as runtime:
        done = retry(runtime, notification_id)
    if as_json:
        print_json(done.__dict__)
    else:
        console.print(f"{done.id}: {done.status}", highlight=False)
    if done.status == "failed":
        raise typer.Exit(1)


@notifications_app.command("templates")
def templates_cmd(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """The templates messages are rendered from (built-in and the site's)."""
    from dirguard.services.notifications.templates import TemplateProblem, available

    config = load_cli_config(ctx).config
    try:
        found = available(config.notifications.templates_dir)
    except TemplateProblem as error:
        raise fail(str(error), ExitCode.CONFIG_INVALID) from None
    if as_json:
        print_json(
            {n: {"description": t.description, "path": str(t.path)} for n, t in found.items()}
        )
        return
    for name, template in found.items():
        console.print(f"{name}: {escape(template.description)} ({template.path})", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(notifications_app, name="notifications")
