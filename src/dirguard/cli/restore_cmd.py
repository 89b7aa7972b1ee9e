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

import getpass
from typing import Annotated

import typer
from rich.markup import escape

from dirguard.cli.common import DomainOption, JsonOption, OneTenantOption, cli_runtime, time_option
from dirguard.cli.context import console
from dirguard.cli.elevation_cmd import print_revoked
from dirguard.cli.rollback_options import TIME_HELP, AsOption, RefreshOption
from dirguard.cli.rollback_render import finish_applied, print_restore_plan
from dirguard.services.rollback import apply_cases, plan_cases


def restore_cmd(
    ctx: typer.Context,
    object_: Annotated[
        str, typer.Argument(metavar="OBJECT", help="DN, objectGUID or sAMAccountName.")
    ],
    at: Annotated[str, typer.Option("--at", help="The moment to bring it back to. " + TIME_HELP)],
    apply: Annotated[
        bool,
        typer.Option("--apply", help="Apply the plan now (default: only make and print it)."),
    ] = False,
    domain: DomainOption = None,
    tenant: OneTenantOption = None,
    as_: AsOption = None,
    refresh: RefreshOption = True,
    as_json: JsonOption = False,
) -> None:
    """Plan OBJECT back to its recorded state at --at TIME and print the plan; with --apply,
    apply it step by step and verify each step. Exit code 0 when the plan was made (and, with
    --apply, applied in full) or nothing needed changing; 1 when the object or moment cannot be
    planned or a step failed or was skipped."""
    moment = time_option(at)
    request = plan_cases.RestoreRequest(
        object_text=object_, at=moment, domain=domain, tenant=tenant, refresh=refresh
    )
    with cli_runtime(ctx) as runtime:
        runtime = runtime.acting_as(as_ or getpass.getuser())
        planned = plan_cases.plan_restore(runtime, request)
        if planned.plan is not None and apply:
            if not as_json:
                console.print(
                    f"Plan {planned.plan.id} restores {escape(object_)} to "
                    f"{moment.isoformat()}; applying it",
                    highlight=False,
                )
            applying = apply_cases.ApplyRequest(plan_id=planned.plan.id, on_revoked=print_revoked)
            finish_applied(apply_cases.apply_stored(runtime, applying), as_json)
            return
    print_restore_plan(planned, as_json)


def register(app: typer.Typer) -> None:
    app.command("restore")(restore_cmd)
