"""``dirguard db``: migrate the store's schema and show where it stands.

The store URL comes from ``--url``, else the configuration (``[store] url``, overridable with
``DIRGUARD_STORE__URL``), else the embedded SQLite default. The work is done by
:func:`upgrade_store` and :func:`store_status`, which take the URL as a plain string.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from dirguard.cli.common import cli_runtime
from dirguard.cli.context import console, err_console, load_cli_config, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.store import database
from dirguard.store.models import TABLES

UrlOption = Annotated[
    str | None,
    typer.Option(
        "--url",
        help="Store URL: sqlite:///PATH or postgresql://USER@HOST/DB. "
        "Default: the configuration's [store] url.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def upgrade_store(url: str) -> dict[str, Any]:
    """Migrate the store at ``url`` to the newest schema; what was done."""
    engine = database.create_engine_for(url)
    try:
        before = database.current_revision(engine)
        database.upgrade(engine)
        return {
            "url": database.masked(url),
            "from_revision": before,
            "to_revision": database.current_revision(engine),
        }
    finally:
        engine.dispose()


def store_status(url: str) -> dict[str, Any]:
    """Schema revision (current and newest known) and rows per table of the store at ``url``."""
    head = database.head_revision()
    path = database.sqlite_path(url)
    if path is not None and not path.exists():
        # Looking must not create an empty database file.
        return {
            "url": database.masked(url),
            "exists": False,
            "current_revision": None,
            "head_revision": head,
            "up_to_date": False,
            "tables": dict.fromkeys(TABLES),
        }
    engine = database.create_engine_for(url)
    try:
        current = database.current_revision(engine)
        return {
            "url": database.masked(url),
            "exists": True,
            "current_revision": current,
            "head_revision": head,
            "up_to_date": current == head,
            "tables": database.table_row_counts(engine, TABLES),
        }
    finally:
        engine.dispose()


def _fail(error: database.StoreError) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {error}", markup=True, highlight=False)
    if isinstance(error, database.StoreUrlError):
        return typer.Exit(ExitCode.CONFIG_INVALID)
    if isinstance(error, database.StoreUnavailable):
        return typer.Exit(ExitCode.UNAVAILABLE)
    return typer.Exit(ExitCode.FAILURE)


def upgrade_command(
    ctx: typer.Context, url: UrlOption = None, json_output: JsonOption = False
) -> None:
    """Create or migrate the store's tables to the newest schema (safe to repeat)."""
    try:
        result = upgrade_store(url or load_cli_config(ctx, as_json=json_output).config.store.url)
    except database.StoreError as error:
        raise _fail(error) from None
    if json_output:
        print_json(result)
        return
    if result["from_revision"] == result["to_revision"]:
        console.print(f"Store {result['url']} is already at revision {result['to_revision']}.")
    else:
        console.print(
            f"Store {result['url']} upgraded from revision "
            f"{result['from_revision'] or '(empty)'} to {result['to_revision']}."
        )


def status_command(
    ctx: typer.Context, url: UrlOption = None, json_output: JsonOption = False
) -> None:
    """Show the store's schema revision against the newest one, and rows per table."""
    try:
        result = store_status(url or load_cli_config(ctx, as_json=json_output).config.store.url)
    except database.StoreError as error:
        raise _fail(error) from None
    if json_output:
        print_json(result)
        return
    console.print(f"Store: {result['url']}", highlight=False)
    if not result["exists"]:
        console.print("No database yet: run `dirguard db upgrade` to create it.")
        return
    current = result["current_revision"] or "(empty: no tables)"
    state = "up to date" if result["up_to_date"] else "run `dirguard db upgrade`"
    console.print(f"Schema revision: {current} (newest: {result['head_revision']}; {state})")
    table = Table("Table", "Rows")
    for name, rows in result["tables"].items():
        table.add_row(name, "-" if rows is None else str(rows))
    console.print(table)


def verify_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Walk every event chain and check it against its newest signed checkpoint; exit 1 naming
    the first event that does not fit, a chain cut short, or a rewritten history."""
    from dirguard.services.chain_integrity import verify_store

    with cli_runtime(ctx) as runtime:
        report = verify_store(runtime.config, runtime.sessions)
    if json_output:
        print_json(report.as_dict())
    else:
        for problem in report.problems:
            console.print(f"[red]✗[/red] {escape(problem)}", highlight=False)
        for chain in report.chains:
            pinned = (
                f", checkpoint at event {chain.checkpoint.sequence} ({chain.checkpoint.at})"
                if chain.checkpoint
                else ", no checkpoint yet"
            )
            mark = "[green]✓[/green]" if not chain.problems else "[red]✗[/red]"
            console.print(
                f"{mark} {escape(chain.source)}: {chain.events} events{pinned}", highlight=False
            )
            for problem in chain.problems:
                console.print(f"    {escape(problem)}", highlight=False)
        if not report.chains:
            console.print("The store holds no change events yet.")
    if not report.ok:
        raise typer.Exit(ExitCode.FAILURE)


def checkpoint_command(ctx: typer.Context, json_output: JsonOption = False) -> None:
    """Sign the head of every event chain and append it to the checkpoint file ([store]
    checkpoint_file, and syslog with checkpoint_syslog = true); run it on a schedule."""
    from dirguard.services.chain_integrity import write_checkpoints

    with cli_runtime(ctx) as runtime:
        made = write_checkpoints(runtime.config, runtime.sessions, runtime.clock())
        where = runtime.config.store.checkpoint_file
    if json_output:
        print_json({"checkpoint_file": str(where), "checkpoints": [c.as_dict() for c in made]})
        return
    for checkpoint in made:
        console.print(
            f"{escape(checkpoint.source)}: event {checkpoint.sequence} signed", highlight=False
        )
    console.print(f"{len(made)} checkpoint(s) appended to {where}", highlight=False)


def register(app: typer.Typer) -> None:
    db = typer.Typer(
        name="db",
        help="The store (SQLite or PostgreSQL): schema migrations, status, and the integrity of"
        " the recorded history (verify, checkpoint).",
        no_args_is_help=True,
    )
    db.command("upgrade")(upgrade_command)
    db.command("status")(status_command)
    db.command("verify")(verify_command)
    db.command("checkpoint")(checkpoint_command)
    app.add_typer(db, name="db")
