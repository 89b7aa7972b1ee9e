"""How the rollback commands print a plan and the outcome of applying one."""

from __future__ import annotations

from collections.abc import Sequence

import typer
from rich.markup import escape
from rich.table import Table

from dirguard.cli.context import console, err_console, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.services.rollback.apply_cases import Applied
from dirguard.services.rollback.plan_cases import RestorePlanned
from dirguard.services.rollback.plan_store import StoredPlan


def print_plan(plan: StoredPlan) -> None:
    """The plan's heading and steps on standard output, its warnings on standard error."""
    console.print(
        f"[bold]Plan {plan.id}[/] for {escape(plan.source)}, requested by "
        f"{escape(plan.requested_by)}: {plan.status}",
        highlight=False,
    )
    table = Table("#", "status", "step", "conflict / outcome")
    for step in plan.steps:
        table.add_row(
            str(step.position),
            step.status,
            escape(step.description),
            escape(step.outcome or step.conflict or ""),
        )
    console.print(table)
    for warning in plan.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)


def warn_elevation_problems(problems: Sequence[str]) -> None:
    """Say on standard error that an elevation could not be ended (the account is still in the
    admin group until ``dirguard elevation revoke`` or the next start removes it)."""
    for problem in problems:
        err_console.print(
            f"[red]error:[/red] {escape(problem)}; the account may still be in the group: run "
            "`dirguard elevation revoke`",
            highlight=False,
        )


def print_applied(result: Applied, as_json: bool) -> None:
    """The plan as applied (JSON: with the rights and elevations), one line on what
    just-in-time elevation did, and the elevations that could not be ended."""
    if as_json:
        print_json(result.as_dict())
    else:
        print_plan(result.plan)
        if result.elevations:
            ended = "" if result.problems else " and removed afterwards"
            console.print(
                f"Just-in-time elevation: {len(result.elevations)} group membership(s) granted "
                f"for this plan{ended} (see `dirguard elevation status`)",
                highlight=False,
            )
    warn_elevation_problems(result.problems)


def print_restore_plan(planned: RestorePlanned, as_json: bool) -> None:
    """A restore's plan (not applied), or that nothing needed restoring."""
    if as_json:
        print_json(planned.as_dict())
    elif planned.plan is None:
        message = (
            f"{planned.object_text} already is as it was at {planned.at.isoformat()}; "
            "nothing to restore"
        )
        console.print(escape(message), highlight=False)
    else:
        print_plan(planned.plan)
        console.print(
            f"Nothing was written. Apply it with: dirguard rollback apply {planned.plan.id} "
            f"(or run this command again with --apply)",
            highlight=False,
        )


def finish_applied(result: Applied, as_json: bool) -> None:
    """Print the outcome; exit code 1 when a step failed or was skipped, or an elevation could
    not be ended."""
    print_applied(result, as_json)
    if not result.ok:
        raise typer.Exit(ExitCode.FAILURE)
