"""``dirguard rollback plan|apply`` and ``dirguard undelete``: undo recorded AD changes.

``rollback plan`` first runs one capture pass (unless ``--no-refresh``) so conflicts are judged
against the directory's current state, then stores the plan and prints it; it writes nothing to
the directory. ``rollback apply`` applies a stored plan step by step and verifies each step.
"""

from __future__ import annotations

import contextlib
import getpass
from functools import partial
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from dirguard.cli.common import DomainOption, JsonOption
from dirguard.cli.common import configured_domains as _domains
from dirguard.cli.common import connect_domain as _connect
from dirguard.cli.common import fail as _fail
from dirguard.cli.common import store_sessions as _store
from dirguard.cli.common import time_option as _time
from dirguard.cli.context import console, err_console, load_cli_config, print_json
from dirguard.cli.elevation_cmd import (
    check_plan_cmd,
    guarded_apply_or_exit,
    print_elevations,
    revoke_at_start,
    undelete_or_exit,
    warn_elevation_problems,
)
from dirguard.cli.exit_codes import ExitCode
from dirguard.config.schema import AdDomainConfig, Config
from dirguard.providers.ad.plan.restore_plan import PlanningError
from dirguard.providers.ad.plan.steps import generic_plan
from dirguard.providers.ad.tombstones import missing_tombstones
from dirguard.services import history as history_query
from dirguard.services.capture.ad_capture import CaptureError, capture_domain, fill_domain_actors
from dirguard.services.errors import ServiceError
from dirguard.services.rollback import plan_store, subtree_plans
from dirguard.services.rollback import plans as rollback_plans

TIME_HELP = "ISO 8601 time, e.g. 2024-05-01T12:00:00+02:00; without a zone it is UTC."

rollback_app = typer.Typer(help="Undo recorded changes with a stored plan.", no_args_is_help=True)

AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        "--requested-by",
        help="The person dirguard acts for (audit log). Default: your login.",
    ),
]
RefreshOption = Annotated[
    bool,
    typer.Option(
        "--refresh/--no-refresh", help="Capture the directory's latest changes before planning."
    ),
]


def _one_domain(config: Config, name: str | None) -> AdDomainConfig:
    domains = _domains(config, name)
    if len(domains) > 1:
        known = ", ".join(d.name for d in domains)
        raise _fail(
            f"several AD domains are configured ({known}); choose one with --domain",
            ExitCode.FAILURE,
        )
    return domains[0]


def _refresh(config: Config, sessions: Any, domain: AdDomainConfig) -> None:
    with _connect(config, domain) as conn:
        try:
            capture_domain(sessions, conn, domain)
        except CaptureError as error:
            raise _fail(str(error), ExitCode.FAILURE) from None
        try:
            fill_domain_actors(sessions, conn, domain)
        except OSError as error:
            raise _fail(
                f"{domain.name}: reading the audit files: {error}", ExitCode.FAILURE
            ) from None


def _print_plan(plan: dict[str, Any]) -> None:
    console.print(
        f"[bold]Plan {plan['id']}[/] for {escape(plan['source'])}, requested by "
        f"{escape(plan['requested_by'])}: {plan['status']}",
        highlight=False,
    )
    table = Table("#", "status", "step", "conflict / outcome")
    for step in plan["steps"]:
        table.add_row(
            str(step["position"]),
            step["status"],
            escape(step["description"]),
            escape(step["outcome"] or step["conflict"] or ""),
        )
    console.print(table)
    for warning in plan["selection"].get("warnings", []):
        err_console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


@rollback_app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    event: Annotated[
        int | None, typer.Option("--event", help="Change number, as `dirguard changes` shows it.")
    ] = None,
    object_: Annotated[
        str | None, typer.Option("--object", help="DN, objectGUID or sAMAccountName.")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", help="With --object: " + TIME_HELP)] = None,
    actor: Annotated[
        str | None, typer.Option("--actor", help="Undo what this account did (DOMAIN\\account).")
    ] = None,
    under: Annotated[
        str | None,
        typer.Option(
            "--under",
            help="Undo every change to this OU and what was under it in the window (also "
            "objects moved out or deleted since), whoever made it.",
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", help="With --actor or --under: " + TIME_HELP)
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="With --actor or --under: " + TIME_HELP)
    ] = None,
    include_unattributed: Annotated[
        bool,
        typer.Option(
            "--include-unattributed",
            help="With --actor: add the window's changes whose actor is unknown (moves and "
            "renames on Samba); each such step is flagged.",
        ),
    ] = False,
    disable_instead: Annotated[
        bool,
        typer.Option(
            "--disable-instead",
            help="Disable the accounts the selection created instead of deleting them.",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Undo also values that were changed again since.")
    ] = False,
    domain: DomainOption = None,
    as_: AsOption = None,
    refresh: RefreshOption = True,
    as_json: JsonOption = False,
) -> None:
    """Make and store a restore plan for one selection, and print it (nothing is written to the
    directory). Select exactly one of --event, --object with --to, --actor with --since, --under
    with --since. With --refresh (the default) each deleted object is looked up with the
    Show-Deleted control: one with no tombstone left is re-created from history instead (new
    objectGUID and objectSid, said in the plan)."""
    chosen = [
        name
        for name, given in (
            ("--event", event),
            ("--object", object_),
            ("--actor", actor),
            ("--under", under),
        )
        if given is not None
    ]
    if len(chosen) != 1:
        raise typer.BadParameter(
            "give exactly one of --event, --object (with --to), --actor (with --since), "
            "--under (with --since)"
        )
    if object_ is not None and to is None:
        raise typer.BadParameter("--object needs --to TIME (the moment to bring it back to)")
    if (actor is not None or under is not None) and since is None:
        raise typer.BadParameter(f"{chosen[0]} needs --since TIME (the start of the window)")
    if (to is not None and object_ is None) or ((since or until) and not (actor or under)):
        raise typer.BadParameter(
            "--to goes with --object; --since and --until go with --actor or --under"
        )
    if include_unattributed and actor is None:
        raise typer.BadParameter("--include-unattributed goes with --actor")
    at, start, end = _time(to), _time(since), _time(until)
    config = load_cli_config(ctx).config
    dom = _one_domain(config, domain)
    selection: dict[str, Any] = {
        "event": event,
        "object": object_,
        "to": to,
        "actor": actor,
        "under": under,
        "since": since,
        "until": until,
        "include_unattributed": include_unattributed or None,
        "disable_instead": disable_instead or None,
    }
    with _store(config) as sessions, contextlib.ExitStack() as stack:
        tombstones = None
        if refresh:
            _refresh(config, sessions, dom)
            tombstones = partial(missing_tombstones, stack.enter_context(_connect(config, dom)))
        try:
            with sessions.begin() as session:
                if event is not None:
                    draft = rollback_plans.plan_for_event(
                        session,
                        dom.name,
                        event,
                        force=force,
                        disable_instead=disable_instead,
                        tombstones=tombstones,
                    )
                elif object_ is not None:
                    draft = rollback_plans.plan_for_object(
                        session, dom.name, object_, at, tombstones=tombstones
                    )
                elif under is not None:
                    draft = subtree_plans.plan_for_subtree(
                        session,
                        dom.name,
                        under,
                        start,
                        end,
                        force=force,
                        disable_instead=disable_instead,
                        tombstones=tombstones,
                    )
                else:
                    assert actor is not None
                    draft = rollback_plans.plan_for_actor(
                        session,
                        dom.name,
                        actor,
                        start,
                        end,
                        force=force,
                        include_unattributed=include_unattributed,
                        disable_instead=disable_instead,
                        tombstones=tombstones,
                    )
                plan = plan_store.save_plan(
                    session,
                    source=dom.name,
                    requested_by=as_ or getpass.getuser(),
                    selection={k: v for k, v in selection.items() if v is not None},
                    force=force,
                    draft=generic_plan(draft),
                )
                plan_id = plan.id
        except (PlanningError, history_query.HistoryQueryError, ServiceError) as error:
            raise _fail(str(error), ExitCode.FAILURE) from None
        with sessions() as session:
            shown = plan_store.plan_dict(session, plan_id)
    if as_json:
        print_json(shown)
    else:
        _print_plan(shown)
        console.print(f"Apply it with: dirguard rollback apply {plan_id}", highlight=False)


@rollback_app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    plan_id: Annotated[int, typer.Argument(metavar="PLAN_ID", help="The plan's number.")],
    as_: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Apply a stored plan step by step, reading every object back to verify it. Exit code 1
    when a step failed or was skipped (each step's outcome is printed), or an elevation could
    not be ended (it stays pending and is revoked at the next start).

    Before the first write the bind account's groups are checked against what each partition
    the plan touches needs (Domain Admins, Enterprise Admins, Schema Admins): exit code 2 naming
    the missing group. In read-only mode nothing is written (exit code 2) unless just-in-time
    elevation is configured (elevation_bind_upn): then the bind account is a member of the
    needed group only while the plan runs."""
    config = load_cli_config(ctx).config
    with _store(config) as sessions:
        with sessions() as session:
            try:
                source = plan_store.plan_dict(session, plan_id)["source"]
            except ServiceError as error:
                raise _fail(str(error), ExitCode.FAILURE) from None
        dom = _one_domain(config, source)
        requested_by = as_ or getpass.getuser()
        revoke_at_start(config, sessions, [dom], requested_by)
        result = guarded_apply_or_exit(config, sessions, dom, plan_id, requested_by=requested_by)
        with _connect(config, dom) as conn:
            capture_domain(sessions, conn, dom)  # record dirguard's own writes in the history
        with sessions() as session:
            shown = plan_store.plan_dict(session, plan_id)
    shown.update(
        rights=result.rights.as_dict(),
        elevations=result.elevations,
        elevation_problems=result.problems,
    )
    if as_json:
        print_json(shown)
    else:
        _print_plan(shown)
        print_elevations(result)
    warn_elevation_problems(result.problems)
    if result.report.status != "applied" or result.problems:
        raise typer.Exit(ExitCode.FAILURE)


def undelete_cmd(
    ctx: typer.Context,
    object_: Annotated[
        str, typer.Argument(metavar="OBJECT", help="DN, objectGUID or sAMAccountName.")
    ],
    to: Annotated[
        str | None, typer.Option("--to", help="OU to bring it back into (default: where it was).")
    ] = None,
    domain: DomainOption = None,
    as_: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Bring a deleted object back from its tombstone (same objectGUID and objectSid), then
    restore its attributes and group memberships from dirguard's history. The rights check,
    read-only mode and elevation work as for `dirguard rollback apply` (exit code 2 when
    refused; the plan stays stored)."""
    config = load_cli_config(ctx).config
    dom = _one_domain(config, domain)
    requested_by = as_ or getpass.getuser()
    with _store(config) as sessions:
        revoke_at_start(config, sessions, [dom], requested_by)
        result = undelete_or_exit(
            config, sessions, dom, object_, requested_by=requested_by, to_ou=to
        )
        plan_id = result.report.plan_id
        with _connect(config, dom) as conn:
            capture_domain(sessions, conn, dom)
        with sessions() as session:
            shown = plan_store.plan_dict(session, plan_id)
    shown.update(
        rights=result.rights.as_dict(),
        elevations=result.elevations,
        elevation_problems=result.problems,
    )
    if as_json:
        print_json(shown)
    else:
        _print_plan(shown)
        print_elevations(result)
    warn_elevation_problems(result.problems)
    if result.report.status != "applied" or result.problems:
        raise typer.Exit(ExitCode.FAILURE)


def register(app: typer.Typer) -> None:
    rollback_app.command("check")(check_plan_cmd)
    app.add_typer(rollback_app, name="rollback")
    app.command("undelete")(undelete_cmd)
