"""``dirguard rollback plan|show|apply|check`` and ``dirguard undelete``: undo recorded changes
(AD domains, and Entra tenants with --tenant).

``rollback plan`` first runs one capture pass (unless ``--no-refresh``) so conflicts are judged
against the directory's current state, then stores the plan and prints it; it writes nothing to
the directory. ``rollback apply`` applies a stored plan step by step and verifies each step.
The use cases are :mod:`dirguard.services.rollback.plan_cases` and
:mod:`dirguard.services.rollback.apply_cases`; this module parses, calls and prints.
"""

from __future__ import annotations

import getpass
from typing import Annotated

import typer

from dirguard.cli.common import DomainOption, JsonOption, OneTenantOption, cli_runtime
from dirguard.cli.context import console, print_json
from dirguard.cli.elevation_cmd import check_plan_cmd, print_revoked
from dirguard.cli.rollback_options import (
    ActorOption,
    AsOption,
    DisableInsteadOption,
    EventOption,
    ForceOption,
    IncludeUnattributedOption,
    ObjectOption,
    RefreshOption,
    SinceOption,
    ToOption,
    UnderOption,
    UntilOption,
    selection_of,
)
from dirguard.cli.rollback_render import finish_applied, print_plan
from dirguard.services.rollback import apply_cases, plan_cases, review

rollback_app = typer.Typer(help="Undo recorded changes with a stored plan.", no_args_is_help=True)


@rollback_app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    event: EventOption = None,
    object_: ObjectOption = None,
    to: ToOption = None,
    actor: ActorOption = None,
    under: UnderOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    include_unattributed: IncludeUnattributedOption = False,
    disable_instead: DisableInsteadOption = False,
    force: ForceOption = False,
    domain: DomainOption = None,
    tenant: OneTenantOption = None,
    as_: AsOption = None,
    refresh: RefreshOption = True,
    as_json: JsonOption = False,
) -> None:
    """Make and store a restore plan for one selection, and print it (nothing is written to the
    directory). Select exactly one of --event, --object with --to, --actor with --since, --under
    with --since. With --refresh (the default) each deleted object is looked up with the
    Show-Deleted control: one with no tombstone left is re-created from history instead (new
    objectGUID and objectSid, said in the plan). With --tenant the plan is for an Entra tenant
    (its directory audit read first for late actors): deleted users, groups, applications and
    service principals come back from deleted items, policies and named locations are created
    anew and every reference to them gets the new id."""
    given = {"event": event, "object": object_, "to": to, "actor": actor, "under": under}
    given |= {"since": since, "until": until, "include_unattributed": include_unattributed or None}
    given["disable_instead"] = disable_instead or None
    selection = selection_of(event, object_, actor, under, to, since, until, include_unattributed)
    request = plan_cases.PlanRequest(
        selection=selection,
        domain=domain,
        tenant=tenant,
        force=force,
        disable_instead=disable_instead,
        refresh=refresh,
        given={k: v for k, v in given.items() if v is not None},
    )
    with cli_runtime(ctx) as runtime:
        plan = plan_cases.make_plan(runtime.acting_as(as_ or getpass.getuser()), request)
    if as_json:
        print_json(plan.as_dict())
    else:
        print_plan(plan)
        console.print(f"Apply it with: dirguard rollback apply {plan.id}", highlight=False)


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
    needed group only while the plan runs.

    An Entra plan needs the Graph application permissions its steps write with; a read-only
    tenant with elevation_client_id has its elevation application grant them to dirguard's
    application only while the plan runs. With [rollback] four_eyes = true the plan needs
    another approver's `dirguard rollback approve` first (exit code 2 until then)."""
    with cli_runtime(ctx) as runtime:
        acting = runtime.acting_as(as_ or getpass.getuser())
        result = review.apply_reviewed(acting, plan_id, on_revoked=print_revoked)
    finish_applied(result, as_json)


@rollback_app.command("approve")
def approve_cmd(
    ctx: typer.Context,
    plan_id: Annotated[int, typer.Argument(metavar="PLAN_ID", help="The plan's number.")],
    note: Annotated[str | None, typer.Option("--note", help="Why it may be applied.")] = None,
    as_: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Approve a plan someone else made ([rollback] four_eyes = true: a plan is applied only
    after an approver other than its planner approved it). Exit code 2 for your own plan."""
    with cli_runtime(ctx) as runtime:
        shown = review.approve(runtime.acting_as(as_ or getpass.getuser()), plan_id, note)
    if as_json:
        print_json(shown.as_dict())
    else:
        names = ", ".join(a.approved_by for a in shown.approvals)
        console.print(f"Plan {plan_id} approved (approvals: {names}).", highlight=False)


@rollback_app.command("show")
def show_cmd(
    ctx: typer.Context,
    plan_id: Annotated[int, typer.Argument(metavar="PLAN_ID", help="The plan's number.")],
    as_json: JsonOption = False,
) -> None:
    """Print a stored plan again: its selection, its steps in order and, once applied, each
    step's outcome."""
    with cli_runtime(ctx) as runtime:
        plan = plan_cases.show_plan(runtime, plan_id)
    if as_json:
        print_json(plan.as_dict())
    else:
        print_plan(plan)


def undelete_cmd(
    ctx: typer.Context,
    object_: Annotated[
        str, typer.Argument(metavar="OBJECT", help="DN, objectGUID or sAMAccountName.")
    ],
    to: Annotated[
        str | None, typer.Option("--to", help="OU to bring it back into (default: where it was).")
    ] = None,
    domain: DomainOption = None,
    tenant: OneTenantOption = None,
    as_: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Bring a deleted object back from its tombstone (same objectGUID and objectSid), then
    restore its attributes and group memberships from dirguard's history. The rights check,
    read-only mode and elevation work as for `dirguard rollback apply` (exit code 2 when
    refused; the plan stays stored).

    With --tenant: an Entra object from deleted items (same id), or created anew when it is no
    longer there, then its members and owners from history."""
    request = apply_cases.UndeleteRequest(
        object_text=object_, to_ou=to, domain=domain, tenant=tenant, on_revoked=print_revoked
    )
    with cli_runtime(ctx) as runtime:
        result = apply_cases.undelete(runtime.acting_as(as_ or getpass.getuser()), request)
    finish_applied(result, as_json)


def register(app: typer.Typer) -> None:
    rollback_app.command("check")(check_plan_cmd)
    app.add_typer(rollback_app, name="rollback")
    app.command("undelete")(undelete_cmd)
