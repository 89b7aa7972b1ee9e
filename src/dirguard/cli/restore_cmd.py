"""``dirguard restore OBJECT --at TIME``: one object back to how dirguard recorded it at a moment.

A capture pass runs first (unless ``--no-refresh``) so the plan starts from the directory's
current state. The plan reanimates the object when it is deleted now (or, when no tombstone is
left, re-creates it from history with a new objectGUID and objectSid, and says so), moves or
renames it back, and sets each attribute and linked value that differs; it is stored and
printed. Nothing is written to the directory unless ``--apply`` is given: then the stored plan is
applied exactly as ``dirguard rollback apply`` applies it (the same rights checks and read-only
rules, every step read back and verified).
"""

from __future__ import annotations

import contextlib
import getpass
from functools import partial
from typing import Annotated, Any

import typer
from rich.markup import escape

from dirguard.cli import rollback_cmd
from dirguard.cli.common import DomainOption, JsonOption
from dirguard.cli.common import connect_domain as _connect
from dirguard.cli.common import fail as _fail
from dirguard.cli.common import store_sessions as _store
from dirguard.cli.common import time_option as _time
from dirguard.cli.context import console, load_cli_config, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.providers.ad.plan.restore_plan import PlanningError
from dirguard.providers.ad.plan.steps import generic_plan
from dirguard.providers.ad.tombstones import missing_tombstones
from dirguard.services import history as history_query
from dirguard.services.errors import ServiceError
from dirguard.services.rollback import plan_store
from dirguard.services.rollback import plans as rollback_plans


def restore_cmd(
    ctx: typer.Context,
    object_: Annotated[
        str, typer.Argument(metavar="OBJECT", help="DN, objectGUID or sAMAccountName.")
    ],
    at: Annotated[
        str,
        typer.Option("--at", help="The moment to bring it back to. " + rollback_cmd.TIME_HELP),
    ],
    apply: Annotated[
        bool,
        typer.Option("--apply", help="Apply the plan now (default: only make and print it)."),
    ] = False,
    domain: DomainOption = None,
    as_: rollback_cmd.AsOption = None,
    refresh: rollback_cmd.RefreshOption = True,
    as_json: JsonOption = False,
) -> None:
    """Plan OBJECT back to its recorded state at --at TIME and print the plan; with --apply,
    apply it step by step and verify each step. Exit code 0 when the plan was made (and, with
    --apply, applied in full) or nothing needed changing; 1 when the object or moment cannot be
    planned or a step failed or was skipped."""
    moment = _time(at)
    config = load_cli_config(ctx).config
    dom = rollback_cmd._one_domain(config, domain)
    requested_by = as_ or getpass.getuser()
    plan_id: int | None = None
    with _store(config) as sessions, contextlib.ExitStack() as stack:
        tombstones = None
        if refresh:
            rollback_cmd._refresh(config, sessions, dom)
            tombstones = partial(missing_tombstones, stack.enter_context(_connect(config, dom)))
        try:
            with sessions.begin() as session:
                draft = rollback_plans.plan_for_object(
                    session, dom.name, object_, moment, tombstones=tombstones
                )
                if draft.steps:
                    plan = plan_store.save_plan(
                        session,
                        source=dom.name,
                        requested_by=requested_by,
                        selection={"restore": object_, "at": moment.isoformat()},
                        force=False,
                        draft=generic_plan(draft),
                    )
                    plan_id = plan.id
        except (PlanningError, history_query.HistoryQueryError, ServiceError) as error:
            raise _fail(str(error), ExitCode.FAILURE) from None
        shown: dict[str, Any] | None = None
        if plan_id is not None:
            with sessions() as session:
                shown = plan_store.plan_dict(session, plan_id)
    if shown is None or plan_id is None:
        message = f"{object_} already is as it was at {moment.isoformat()}; nothing to restore"
        if as_json:
            print_json({"object": object_, "at": moment.isoformat(), "plan": None})
        else:
            console.print(escape(message), highlight=False)
        return
    if apply:
        if not as_json:
            console.print(
                f"Plan {plan_id} restores {escape(object_)} to {moment.isoformat()}; applying it",
                highlight=False,
            )
        rollback_cmd.apply_cmd(ctx, plan_id=plan_id, as_=as_, as_json=as_json)
        return
    if as_json:
        print_json({**shown, "apply_with": f"dirguard rollback apply {plan_id}"})
    else:
        rollback_cmd._print_plan(shown)
        console.print(
            f"Nothing was written. Apply it with: dirguard rollback apply {plan_id} "
            f"(or run this command again with --apply)",
            highlight=False,
        )


def register(app: typer.Typer) -> None:
    app.command("restore")(restore_cmd)
