"""``dirguard demo``: the main job on embedded defaults (see ``services/demo.py``)."""

from __future__ import annotations

import contextlib
import getpass
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from dirguard.cli.common import EXIT_CODES, JsonOption
from dirguard.cli.context import console, err_console, load_cli_config, print_json
from dirguard.cli.exit_codes import ExitCode
from dirguard.services.demo import DemoReport, run_demo
from dirguard.services.errors import ServiceError
from dirguard.store.database import StoreError, StoreUnavailable
from dirguard.throwaway.samba_dc import DCBusyError, PortInUseError, SambaDCError

NoDomain = Annotated[bool, typer.Option("--no-domain", help="Skip the throwaway Samba AD DC.")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Apply the rollback plan without asking.")]
Keep = Annotated[
    bool, typer.Option("--keep", help="Leave the DC running afterwards, until Ctrl-C, to try more.")
]


@contextlib.contextmanager
def _demo_errors() -> Iterator[None]:
    """The demo's failures as exit codes: 4 for an unreachable store, the service error's kind,
    1 for the rest (a busy port or DC, a failed provisioning)."""
    try:
        yield
    except StoreUnavailable as exc:
        err_console.print(f"store unreachable: {exc}", highlight=False)
        raise typer.Exit(ExitCode.UNAVAILABLE) from None
    except (StoreError, PortInUseError, DCBusyError, SambaDCError) as exc:
        err_console.print(str(exc), highlight=False)
        raise typer.Exit(ExitCode.FAILURE) from None
    except ServiceError as exc:
        err_console.print(str(exc), highlight=False)
        raise typer.Exit(EXIT_CODES[exc.problem]) from None


def demo(
    ctx: typer.Context,
    as_json: JsonOption = False,
    no_domain: NoDomain = False,
    yes: Yes = False,
    keep: Keep = False,
) -> None:
    """The job dirguard exists for, on a throwaway domain: a small organisation, a baseline,
    monitoring, a rogue admin's bad half hour captured with who, from where and when, one plan
    that undoes it, applied and checked against the live directory."""
    config = load_cli_config(ctx, as_json=as_json).config
    from dirguard.services.demo import incident_domain

    inventory = (
        skip_domain
        if no_domain
        else incident_domain(
            config.store.url,
            getpass.getuser(),
            _confirmer(yes, as_json),
            _keeper if keep and not as_json else None,
        )
    )
    with _demo_errors(), console.status("Starting", spinner="dots") as status:
        report = run_demo(
            config, getpass.getuser(), lambda step: status.update(step), domain=inventory
        )
    if as_json:
        print_json(report.as_dict())
    else:
        _print_report(report)
    if report.domain and report.domain.get("applied") and not report.domain.get("restored"):
        raise typer.Exit(ExitCode.FAILURE)


def _confirmer(yes: bool, as_json: bool) -> Callable[[Any], bool]:
    def confirm(plan: Any) -> bool:
        if yes:
            return True
        if as_json or not sys.stdin.isatty():
            err_console.print("not applied: give --yes to apply the plan without a terminal")
            return False
        steps = Counter(s.kind for s in plan.steps)
        console.print(
            f"\nRollback plan {plan.id}: {len(plan.steps)} steps ("
            + ", ".join(f"{n} {k}" for k, n in steps.most_common())
            + ")",
            highlight=False,
        )
        for warning in plan.warnings:
            console.print(f"[yellow]note[/] {escape(warning)}", highlight=False)
        return typer.confirm("Apply it to the domain now?", default=True)

    return confirm


def _keeper(report: dict[str, Any]) -> None:
    config = report.get("config")
    console.print(
        "\nThe throwaway DC keeps running. In another terminal, try:\n"
        f"  dirguard --config {config} changes --since {report['plan']['created_at'][:10]}\n"
        f"  dirguard --config {config} rollback show {report['plan']['id']}\n"
        f"  dirguard --config {config} diff --from 2000-01-01 --live\n"
        f"  dirguard --config {config} monitor\n"
        "Press Ctrl-C here to stop the DC and remove it.",
        highlight=False,
    )
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()


def _print_report(report: DemoReport) -> None:
    console.print(f"Store: {report.store} (schema {report.schema_revision}), run {report.run_id}")
    perms = Table("Service", "read-only", "full", title="Permissions needed (dirguard permissions)")
    for service, counts in report.permissions.items():
        perms.add_row(service, str(counts["read-only"]), str(counts["full"]))
    console.print(perms)
    console.print(f"{report.features} features, {report.resource_types} resource types declared")
    if report.domain:
        _print_incident(report.domain)
    for reason in report.skipped:
        console.print(f"[yellow]skipped[/] {reason}", highlight=False)


def _print_incident(domain: dict[str, Any]) -> None:
    org = domain["organisation"]
    console.print(
        f"\n[bold]{domain['realm']}[/]: {org['departments']} departments, {org['users']} users,"
        f" {org['service_accounts']} service accounts",
        highlight=False,
    )
    console.print("[bold]The rogue admin:[/]")
    for line in domain["incident"]:
        console.print(f"  - {escape(line)}", highlight=False)
    captured = domain["captured"]
    table = Table(
        "when", "who", "from", "what", "object", title=f"{len(captured)} changes captured"
    )
    for change in captured[:12]:
        what = f"{change['op']} {change['attribute'] or ''}".strip()
        table.add_row(
            change["when"][11:19],
            change["actor"] or "(unknown)",
            change["from"] or "",
            what,
            change["object"] or "",
        )
    console.print(table)
    if len(captured) > 12:
        kinds = ", ".join(f"{n} {k}" for k, n in domain["captured_by_kind"].items())
        console.print(f"  ... and {len(captured) - 12} more: {kinds}", highlight=False)
    plan = domain["plan"]
    console.print(f"Rollback plan {plan['id']}: {len(plan['steps'])} steps", highlight=False)
    if domain["applied"]:
        counts = ", ".join(f"{n} {k}" for k, n in domain["steps"].items())
        console.print(f"Applied: {domain['status']} ({counts})", highlight=False)
        verdict = "[green]back as it was[/]" if domain["restored"] else "[red]NOT back[/]"
        console.print(f"The live directory against the moment before: {verdict}")
        for left in domain["left"]:
            what = escape(left["objects"][0])
            if left["count"] > 1:
                what += f" and {left['count'] - 1} more"
            why = f"\n      {escape(left['why'])}" if left["why"] else ""
            console.print(
                f"  {left['presence']} {what}: {', '.join(left['fields'])}{why}", highlight=False
            )
    for note in domain["notes"]:
        console.print(f"[yellow]note[/] {escape(note)}", highlight=False)


def skip_domain(sessions: object, progress: Callable[[str], None]) -> dict[str, Any]:
    del sessions, progress
    return {}


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
