"""``dirguard elevation status|revoke``: just-in-time elevations of the read-only AD account.

A rollback in read-only mode adds the bind account to the admin group it needs and removes it
afterwards. An elevation left ``pending`` (dirguard stopped while the account was elevated) is
revoked at the start of the next ``rollback apply``, ``undelete`` or ``monitor``, or at once by
``dirguard elevation revoke``.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from dirguard.cli.common import DomainOption, JsonOption
from dirguard.cli.common import configured_domains as _domains
from dirguard.cli.common import fail as _fail
from dirguard.cli.common import store_sessions as _store
from dirguard.cli.context import console, err_console, load_cli_config, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.config.schema import AdDomainConfig, Config
from dirguard.providers.ad.account_token import AccountTokenError
from dirguard.providers.ad.connection import (
    AdAuthError,
    AdConnection,
    AdConnectionError,
    AdUnreachable,
)
from dirguard.providers.ad.plan.partition_rights import PartitionError
from dirguard.providers.ad.plan.restore_plan import PlanningError
from dirguard.services.capture.ad_capture import CaptureError
from dirguard.services.errors import ServiceError
from dirguard.services.history import HistoryQueryError
from dirguard.services.rollback import elevation
from dirguard.services.rollback.apply import RollbackError
from dirguard.services.rollback.guarded_apply import (
    CredentialProblem,
    GuardedApply,
    RightsRefused,
    apply_guarded,
    check_plan,
    openers_for,
    revoke_all_pending,
    undelete_guarded,
)
from dirguard.services.rollback.undelete import plan_undelete
from dirguard.store.models import RestorePlan

T = TypeVar("T")

elevation_app = typer.Typer(
    help="Just-in-time elevations of the read-only AD account: status and revocation.",
    no_args_is_help=True,
)


def revoke_at_start(
    config: Config,
    sessions: sessionmaker[Session],
    domains: Sequence[AdDomainConfig],
    by: str | None = None,
) -> list[dict[str, Any]]:
    """Revoke pending elevations before a command touches AD; say so on standard error (a
    failure is a warning: the elevation stays pending and ``dirguard elevation revoke`` retries).
    ``by``: who runs the command (default: the OS user)."""
    ended, problems = revoke_all_pending(config, sessions, domains, by=by or getpass.getuser())
    for row in ended:
        err_console.print(
            f"[yellow]revoked[/yellow] pending elevation {row['id']}: {escape(row['account'])} "
            f"removed from {escape(row['group'])} (granted {row['started_at']} for "
            f"{escape(row['reason'])}; dirguard had stopped while it was in place)",
            highlight=False,
        )
    for problem in problems:
        err_console.print(f"[yellow]warning:[/yellow] {escape(problem)}", highlight=False)
    return ended


def _or_exit(work: Callable[[], T]) -> T:
    """Run a guarded apply; errors become exit codes: 2 for a refusal (read-only mode, a
    missing group), 3 for a credential, 4 for an unreachable DC, 1 for the rest."""
    try:
        return work()
    except RightsRefused as error:
        raise _fail(str(error), ExitCode.CRITICAL) from None
    except CredentialProblem as error:
        raise _fail(str(error), ExitCode.CONFIG_INVALID) from None
    except AdUnreachable as error:
        raise _fail(str(error), ExitCode.UNAVAILABLE) from None
    except AdAuthError as error:
        raise _fail(str(error), ExitCode.CRITICAL) from None
    except AdConnectionError as error:
        raise _fail(str(error), ExitCode.UNAVAILABLE) from None
    except ServiceError as error:
        raise _fail(str(error), ExitCode.FAILURE) from None
    except (
        RollbackError,
        elevation.ElevationError,
        AccountTokenError,
        PartitionError,
        PlanningError,
        HistoryQueryError,
        CaptureError,
    ) as error:
        raise _fail(str(error), ExitCode.FAILURE) from None


def guarded_apply_or_exit(
    config: Config,
    sessions: sessionmaker[Session],
    domain: AdDomainConfig,
    plan_id: int,
    *,
    requested_by: str,
) -> GuardedApply:
    """Apply a stored plan through the rights check (and elevation in read-only mode)."""
    openers = openers_for(config, domain)
    return _or_exit(
        lambda: apply_guarded(sessions, domain, openers, plan_id, requested_by=requested_by)
    )


def undelete_or_exit(
    config: Config,
    sessions: sessionmaker[Session],
    domain: AdDomainConfig,
    object_text: str,
    *,
    requested_by: str,
    to_ou: str | None,
) -> GuardedApply:
    """Plan and apply an undelete through the rights check (and elevation)."""
    openers = openers_for(config, domain)

    def make_plan(conn: AdConnection) -> int:
        return plan_undelete(
            sessions, conn, domain, object_text, requested_by=requested_by, to_ou=to_ou
        )

    return _or_exit(
        lambda: undelete_guarded(
            sessions, domain, openers, object_text, requested_by=requested_by, make_plan=make_plan
        )
    )


def warn_elevation_problems(problems: Sequence[str]) -> None:
    """Say on standard error that an elevation could not be ended (the account is still in the
    admin group until ``dirguard elevation revoke`` or the next start removes it)."""
    for problem in problems:
        err_console.print(
            f"[red]error:[/red] {escape(problem)}; the account may still be in the group: run "
            "`dirguard elevation revoke`",
            highlight=False,
        )


def print_elevations(result: GuardedApply) -> None:
    """One line on what just-in-time elevation did for the plan (nothing when it was not used)."""
    if result.elevations:
        ended = "" if result.problems else " and removed afterwards"
        console.print(
            f"Just-in-time elevation: {len(result.elevations)} group membership(s) granted for "
            f"this plan{ended} (see `dirguard elevation status`)",
            highlight=False,
        )


def check_plan_cmd(
    ctx: typer.Context,
    plan_id: Annotated[int, typer.Argument(metavar="PLAN_ID", help="The plan's number.")],
    as_json: JsonOption = False,
) -> None:
    """Check, writing nothing, whether `dirguard rollback apply PLAN_ID` would apply the plan:
    the partitions it touches, the groups they need, which ones the bind account lacks, and
    whether read-only mode refuses or elevation would grant them. Exit code 2 when apply would
    be refused."""
    config = load_cli_config(ctx).config
    with _store(config) as sessions:
        source = _or_exit(lambda: _plan_source(sessions, plan_id))
        domain = _domains(config, source)[0]
        openers = openers_for(config, domain)
        result = _or_exit(lambda: check_plan(sessions, domain, openers, plan_id))
    if as_json:
        print_json(result)
    else:
        rights = result["rights"]
        needs = (
            ", ".join(f"{n['group']} ({n['partition']})" for n in rights["needs"])
            or "nothing (no pending step)"
        )
        console.print(
            f"Plan {plan_id} ({result['mode']} mode) needs: {escape(needs)}", highlight=False
        )
        console.print(f"{result['would']}: {escape(result['message'])}", highlight=False)
    if result["would"] == "refuse":
        raise typer.Exit(ExitCode.CRITICAL)


def _plan_source(sessions: sessionmaker[Session], plan_id: int) -> str:
    with sessions() as session:
        plan = session.get(RestorePlan, plan_id)
        if plan is None:
            raise RollbackError(f"no restore plan {plan_id}; `dirguard rollback plan` makes one")
        return plan.source


def _table(rows: list[dict[str, Any]]) -> Table:
    table = Table(
        "id", "domain", "account", "group", "asked by", "reason", "status", "start", "end"
    )
    for row in rows:
        table.add_row(
            str(row["id"]),
            escape(row["source"]),
            escape(row["account"]),
            escape(row["group"]),
            escape(row["requested_by"]),
            escape(row["reason"]),
            row["status"],
            row["started_at"],
            row["ended_at"] or "",
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
    config = load_cli_config(ctx).config
    names = {d.name for d in _domains(config, domain)} if domain else None
    with _store(config) as sessions:
        pending = [r for r in elevation.pending(sessions) if names is None or r["source"] in names]
        recent = [
            r for r in elevation.recent(sessions, limit) if names is None or r["source"] in names
        ]
    if as_json:
        print_json({"pending": pending, "recent": recent})
        return
    if pending:
        console.print(f"[bold red]{len(pending)} pending elevation(s)[/]", highlight=False)
        console.print(_table(pending))
    else:
        console.print("No pending elevation.")
    if recent:
        console.print("[bold]Recent elevations[/]")
        console.print(_table(recent))


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
    """Remove every pending elevation's group membership now, with the elevation credential.
    Exit code 1 when one could not be removed (it stays pending)."""
    config = load_cli_config(ctx).config
    domains = _domains(config, domain)
    with _store(config) as sessions:
        ended, problems = revoke_all_pending(
            config, sessions, domains, by=requested_by or getpass.getuser()
        )
    if as_json:
        print_json({"revoked": ended, "problems": problems})
    else:
        for row in ended:
            console.print(
                f"elevation {row['id']}: {escape(row['account'])} removed from "
                f"{escape(row['group'])} ({escape(row['end_note'] or '')})",
                highlight=False,
            )
        if not ended and not problems:
            console.print("No pending elevation.")
    if problems:
        raise _fail("; ".join(problems), ExitCode.FAILURE)


def register(app: typer.Typer) -> None:
    app.add_typer(elevation_app, name="elevation")
