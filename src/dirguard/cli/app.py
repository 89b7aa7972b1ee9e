"""The ``dirguard`` command: a thin layer that parses, calls a service and renders.

Commands are registered by name (:data:`COMMANDS`) and their modules imported when they run
(:mod:`dirguard.cli.lazy_commands`): ``dirguard --help`` and a command that needs neither the
store nor a directory start without SQLAlchemy, the LDAP stack or azure-identity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dirguard import __version__
from dirguard.cli.context import state
from dirguard.cli.lazy_commands import LazyCommand, LazyCommands
from dirguard.log_setup import configure_logging

HELP = (
    "dirguard: guardian and administration console for hybrid identity.\n\n"
    "Exit codes: 0 ok; 1 failure; 2 missing permissions / partial consent, or bad usage; "
    "3 invalid configuration; 4 a needed service is unreachable."
)

COMMANDS = (
    LazyCommand(
        "init",
        "config_cmd",
        "Write a commented example configuration to --config (or the default path).",
    ),
    LazyCommand(
        "docs", "docs_cmd", "Regenerate the permissions and resource-types page from the catalog."
    ),
    LazyCommand(
        "demo",
        "demo_cmd",
        "The job dirguard exists for, on throwaway directories: a sandbox Microsoft 365 tenant\n"
        "and (as root) a Samba AD domain, each with a small organisation, a baseline, monitoring, a"
        "\nrogue admin's bad half hour captured with who, from where and when, one confirmation for"
        "\nthe plans that undo it, applied and checked against the directories.",
    ),
    LazyCommand(
        "changes",
        "ad_cmd",
        "Recorded changes, oldest first, filtered by every option given: domain, object, type,\n"
        "attribute, actor, address, operation, time window, free text, and values to exclude.",
    ),
    LazyCommand(
        "history", "ad_cmd", "The attribute timeline of one object (moves and renames included)."
    ),
    LazyCommand("show", "ad_cmd", "The object's recorded state at a moment."),
    LazyCommand(
        "diff",
        "diff_cmd",
        "What differs between two recorded moments, or a moment and the live directory\n"
        "(volatile attributes left out). Exit 0: the same; 1: differences (listed).",
    ),
    LazyCommand(
        "monitor",
        "monitor_cmd",
        "Store AD and Entra changes as they happen, in one process: a DirSync pass per domain\n"
        "whenever the DC reports a change (LDAP change notification) and at least every --interval"
        "\nseconds, a Graph pass per tenant every --entra-interval seconds; each source resumed"
        " from\nits stored cursors and retried with backoff on its own while it fails. Needs"
        " baselines\n(`dirguard snapshot ad`, `dirguard snapshot entra`). Stops cleanly on SIGTERM"
        " or Ctrl-C\n(exit 0).",
    ),
    LazyCommand(
        "serve",
        "serve_cmd",
        "Serve the web console and REST API (OpenAPI schema at /api/openapi.json) on loopback\n"
        "by default, over HTTPS with the configured certificate or a generated self-signed one\n"
        "(its fingerprint is logged). Stops cleanly on SIGTERM or Ctrl-C (exit 0).",
    ),
    LazyCommand(
        "account",
        "account_cmd",
        "Local console accounts (for a site without Entra ID, or break-glass): add, list,"
        " set-role,\ndisable, reset-totp. Passwords are read from standard input or a prompt,"
        " never from\nthe command line.",
    ),
    LazyCommand(
        "undelete",
        "rollback_cmd",
        "Bring a deleted object back from its tombstone (same objectGUID and objectSid), then\n"
        "restore its attributes and group memberships from dirguard's history. The rights check,"
        "\nread-only mode and elevation work as for `dirguard rollback apply` (exit code 2 when\n"
        "refused; the plan stays stored).",
    ),
    LazyCommand(
        "restore",
        "restore_cmd",
        "Plan OBJECT back to its recorded state at --at TIME and print the plan; with --apply,\n"
        "apply it step by step and verify each step. Exit code 0 when the plan was made (and,"
        " with\n--apply, applied in full) or nothing needed changing; 1 when the object or moment"
        " cannot be\nplanned or a step failed or was skipped.",
    ),
    LazyCommand("config", "config_cmd", "Validate and show the configuration."),
    LazyCommand(
        "report",
        "report_cmd",
        "One report read from the Entra tenant now (last sign-in, inactive users and guests,\n"
        "users without MFA methods, guests, stale devices, privileged role holders, expiring\n"
        "application credentials), as a table, JSON, CSV or XLSX. Without a key: the reports.",
    ),
    LazyCommand(
        "secret",
        "config_cmd",
        "Manage dirguard's encrypted secret store (values are never printed).",
    ),
    LazyCommand(
        "permissions",
        "permissions_cmd",
        "What dirguard needs to be granted, and why; check a granted set against it.",
    ),
    LazyCommand(
        "connect",
        "connect_cmd",
        "Connections to Active Directory and Entra ID: create and validate them.",
    ),
    LazyCommand(
        "db",
        "db_cmd",
        "The store (SQLite or PostgreSQL): schema migrations, status, and the integrity of the"
        " recorded history (verify, checkpoint).",
    ),
    LazyCommand(
        "sandbox",
        "sandbox_cmd",
        "The sandbox Microsoft 365 tenant: a local Graph + Entra token emulator.",
    ),
    LazyCommand("snapshot", "ad_cmd", "Baseline snapshots."),
    LazyCommand("capture", "ad_cmd", "One incremental capture pass."),
    LazyCommand("rollback", "rollback_cmd", "Undo recorded changes with a stored plan."),
    LazyCommand(
        "threats",
        "threats_cmd",
        "Threat definitions: list and show them, dry-run a rule file, scan the history.",
    ),
    LazyCommand(
        "alerts",
        "alerts_cmd",
        "Alerts raised by the threat definitions: list, show, resolve, dismiss.",
    ),
    LazyCommand(
        "approvals",
        "approvals_cmd",
        "Approval requests for web actions: list, show, expire and escalate (sweep).",
    ),
    LazyCommand(
        "rules",
        "rules_cmd",
        "Rules: desired-state automation (dry run, run, history, TOML export and import).",
    ),
    LazyCommand(
        "scheduler",
        "scheduler_cmd",
        "Scheduled rules and reports: workers for the PostgreSQL job queue.",
    ),
    LazyCommand(
        "notifications",
        "notifications_cmd",
        "E-mail notifications: the outbox (sent, pending, failed), deliveries, templates.",
    ),
    LazyCommand(
        "elevation",
        "elevation_cmd",
        "Just-in-time elevations of read-only AD accounts and Entra applications: status and"
        " revocation.",
    ),
)
"""Every top-level command in the order ``dirguard --help`` lists them, the module that
registers it and the first paragraph of its help. A new command, or a command whose help
changes, changes its row here too (``tests/test_cli_startup.py`` compares the rows with the
commands themselves)."""


class DirguardCommands(LazyCommands):
    table = COMMANDS


app = typer.Typer(
    name="dirguard",
    help=HELP,
    cls=DirguardCommands,
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dirguard {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="DIRGUARD_CONFIG",
            help="Configuration file (TOML). Default: ~/.config/dirguard/dirguard.toml.",
        ),
    ] = None,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="More log output.")
    ] = 0,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print version.")
    ] = False,
) -> None:
    state(ctx).config_path = config
    state(ctx).verbose = verbose
    configure_logging("debug" if verbose > 1 else "info" if verbose else "warning")


def main() -> None:
    app()
