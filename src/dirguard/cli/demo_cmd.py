"""``dirguard demo``: the main job on embedded defaults (see ``services/demo.py``)."""

from __future__ import annotations

import contextlib
import getpass
import logging
import signal
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
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
NoTenant = Annotated[
    bool, typer.Option("--no-tenant", help="Skip the sandbox Microsoft 365 tenant.")
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Apply the rollback plans without asking.")]
Keep = Annotated[
    bool,
    typer.Option(
        "--keep",
        help="Leave everything running afterwards, with the web console on it, until Ctrl-C.",
    ),
]


@contextlib.contextmanager
def _demo_errors() -> Iterator[None]:
    """The demo's failures as exit codes: 4 for an unreachable store, the service error's kind,
    1 for the rest (a busy port or DC, a failed provisioning, a tenant that did not start)."""
    from dirguard.services.demo_tenant import TenantStartError

    try:
        yield
    except StoreUnavailable as exc:
        err_console.print(f"store unreachable: {escape(str(exc))}", highlight=False)
        raise typer.Exit(ExitCode.UNAVAILABLE) from None
    except (StoreError, PortInUseError, DCBusyError, SambaDCError, TenantStartError) as exc:
        err_console.print(str(exc), highlight=False)
        raise typer.Exit(ExitCode.FAILURE) from None
    except ServiceError as exc:
        err_console.print(str(exc), highlight=False)
        raise typer.Exit(EXIT_CODES[exc.problem]) from None


def demo(
    ctx: typer.Context,
    as_json: JsonOption = False,
    no_domain: NoDomain = False,
    no_tenant: NoTenant = False,
    yes: Yes = False,
    keep: Keep = False,
) -> None:
    """The job dirguard exists for, on throwaway directories: a sandbox Microsoft 365 tenant
    and (as root) a Samba AD domain, each with a small organisation, a baseline, monitoring, a
    rogue admin's bad half hour captured with who, from where and when, one confirmation for
    the plans that undo it, applied and checked against the directories."""
    config = load_cli_config(ctx, as_json=as_json).config
    # The report is the demo's output; the Graph client's retries (429 on conditional access)
    # and skipped collections are logged at warning level and would drown it.
    for name in ("dirguard", "httpx", "azure"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from dirguard.services.demo import DemoOptions

    options = DemoOptions(
        ad=not no_domain,
        entra=not no_tenant,
        confirm=_confirmer(yes, as_json),
        keep=_keeper if keep and not as_json else None,
    )
    with _demo_errors(), console.status("Starting", spinner="dots") as status:
        _status.append(status)
        report = run_demo(config, getpass.getuser(), lambda step: status.update(step), options)
    if as_json:
        print_json(report.as_dict())
    elif not _printed:
        _print_report(report)
    if not report.restored:
        raise typer.Exit(ExitCode.FAILURE)


_printed: list[bool] = []
_status: list[Any] = []
"""The running spinner, stopped while the demo asks or waits for Ctrl-C."""


@contextlib.contextmanager
def _paused() -> Iterator[None]:
    for status in _status:
        status.stop()
    try:
        yield
    finally:
        for status in _status:
            status.start()


def _confirmer(yes: bool, as_json: bool) -> Callable[[list[Any]], bool]:
    def confirm(plans: list[Any]) -> bool:
        if yes:
            return True
        if as_json or not sys.stdin.isatty():
            err_console.print("not applied: give --yes to apply the plans without a terminal")
            return False
        with _paused():
            console.print("\n[bold]The rollback of everything the rogue admin did:[/]")
            for plan in plans:
                steps = Counter(s.kind for s in plan.steps)
                console.print(
                    f"  plan {plan.id} for {escape(plan.source)}: {len(plan.steps)} steps ("
                    + ", ".join(f"{n} {k}" for k, n in steps.most_common())
                    + ")",
                    highlight=False,
                )
                for step in plan.steps:
                    console.print(f"    - {escape(step.description)}", highlight=False)
                for warning in plan.warnings:
                    console.print(f"    [yellow]note[/] {escape(warning)}", highlight=False)
            return typer.confirm("Apply them now?", default=True)

    return confirm


def _keeper(report: Any, config_file: Path, store_url: str) -> None:
    from dirguard.services.demo_console import demo_console

    with _paused():
        _print_report(report)
        _printed.append(True)
        console.print("\nStarting the web console on it (dirguard serve --monitor)...")
        with demo_console(config_file, getpass.getuser()) as web:
            tenant = f" --tenant {report.tenant['tenant']}" if report.tenant else ""
            since = (report.tenant or report.domain)["plan"]["created_at"][:10]
            cfg = f"dirguard --config {config_file}"
            console.print(
                f"\n[bold]Everything keeps running.[/] Console: {web.url}\n"
                f"  sign in as {web.account} with the password {web.password}"
                " (shown once; a local console administrator made for the demo)\n"
                f"  (the console's certificate is self-signed: accept it, or check its"
                " fingerprint in the serve log)\n"
                "In another terminal (. .venv/bin/activate first), try:\n"
                f"  {cfg} changes --since {since}\n"
                f"  {cfg} changes{tenant} --since {since}\n"
                + "".join(
                    f"  {cfg} rollback show {half['plan']['id']}\n"
                    for half in (report.tenant, report.domain)
                    if half
                )
                + (f"  {cfg} diff --from {since} --live\n" if report.domain else "")
                + f"  {cfg} snapshot entra{tenant}\n" * bool(report.tenant)
                + f"Store: {store_url}; configuration: {config_file} (pid of the console:"
                f" {web.pid})\n"
                "Press Ctrl-C here to stop everything and remove it.",
                highlight=False,
            )
            # Ctrl-C even where the shell started the demo with SIGINT ignored (a background
            # job), and SIGTERM alike: each ends the wait, and the blocks stop what they started.
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.signal(signal.SIGTERM, signal.default_int_handler)
            with contextlib.suppress(KeyboardInterrupt):
                threading.Event().wait()
        console.print("Stopping the console, the tenant and the DC; removing their directories")


def _print_report(report: DemoReport) -> None:
    console.print(f"Store: {report.store} (schema {report.schema_revision}), run {report.run_id}")
    perms = Table("Service", "read-only", "full", title="Permissions needed (dirguard permissions)")
    for service, counts in report.permissions.items():
        perms.add_row(service, str(counts["read-only"]), str(counts["full"]))
    console.print(perms)
    console.print(f"{report.features} features, {report.resource_types} resource types declared")
    if report.tenant:
        _print_tenant(report.tenant)
    if report.domain:
        _print_incident(report.domain)
    for reason in report.skipped:
        console.print(f"[yellow]skipped[/] {escape(reason)}", highlight=False)


def _captured_table(captured: list[dict[str, Any]], kinds: dict[str, int]) -> None:
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
        counts = ", ".join(f"{n} {k}" for k, n in kinds.items())
        console.print(f"  ... and {len(captured) - 12} more: {counts}", highlight=False)


def _print_tenant(tenant: dict[str, Any]) -> None:
    org = tenant["organisation"]
    console.print(
        f"\n[bold]Entra tenant {tenant['tenant']}[/] (sandbox): {org['users']} users,"
        f" {org.get('groups', 0)} groups",
        highlight=False,
    )
    console.print(f"[bold]The rogue admin {escape(tenant['rogue'])}:[/]", highlight=False)
    for line in tenant["incident"]:
        console.print(f"  - {escape(line)}", highlight=False)
    _captured_table(tenant["captured"], tenant["captured_by_kind"])
    plan = tenant["plan"]
    console.print(f"Rollback plan {plan['id']}: {len(plan['steps'])} steps", highlight=False)
    for step in plan["steps"]:
        mark = {"succeeded": "[green]done[/]", "failed": "[red]failed[/]"}.get(step["status"], "")
        console.print(f"  {mark} {escape(step['description'])}", highlight=False)
    if tenant["applied"]:
        counts = ", ".join(f"{n} {k}" for k, n in tenant["steps"].items())
        console.print(f"Applied: {tenant['status']} ({counts})", highlight=False)
        verdict = "[green]back as it was[/]" if tenant["restored"] else "[red]NOT back[/]"
        console.print(f"The tenant, read afresh, against the moment before: {verdict}")
        for check, held in tenant["checks"].items():
            console.print(f"  {'[green]yes[/]' if held else '[red]NO[/]'} {escape(check)}")
        console.print("Not as it was, and why:")
        for left in tenant["left"]:
            console.print(f"  {escape(left['object'])}: {escape(left['why'])}", highlight=False)
    for note in tenant["notes"]:
        console.print(f"[yellow]note[/] {escape(note)}", highlight=False)


def _print_incident(domain: dict[str, Any]) -> None:
    org = domain["organisation"]
    console.print(
        f"\n[bold]AD domain {domain['realm']}[/] (throwaway Samba DC):"
        f" {org['departments']} departments, {org['users']} users,"
        f" {org['service_accounts']} service accounts",
        highlight=False,
    )
    console.print("[bold]The rogue admin in the domain:[/]")
    for line in domain["incident"]:
        console.print(f"  - {escape(line)}", highlight=False)
    _captured_table(domain["captured"], domain["captured_by_kind"])
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


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
