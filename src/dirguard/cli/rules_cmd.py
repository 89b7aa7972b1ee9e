"""``dirguard rules list|show|dry-run|run|export|import|history``: desired-state rules over AD and
Entra, kept as TOML files in git and run by dirguard's service identity (``rule <name>``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from dirguard.cli.common import JsonOption, cli_runtime, fail
from dirguard.cli.context import console, print_json
from dirguard.cli.exit_codes import ExitCode

rules_app = typer.Typer(
    help="Rules: desired-state automation (dry run, run, history, TOML export and import).",
    no_args_is_help=True,
)
NameArg = Annotated[str, typer.Argument(metavar="NAME", help="The rule's name.")]


@rules_app.command("list")
def list_cmd(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Every rule: version, enabled, schedule, trigger and scope."""
    from dirguard.services.rules.rule_store import list_rules

    with cli_runtime(ctx) as runtime:
        saved = list_rules(runtime)
    if as_json:
        print_json({"rules": [s.as_dict() for s in saved]})
        return
    if not saved:
        console.print("No rule. Import one with: dirguard rules import FILE.toml")
        return
    table = Table("name", "version", "enabled", "schedule", "trigger", "scope", "actions")
    for s in saved:
        rule = s.rule
        table.add_row(
            escape(rule.name),
            str(s.version),
            "yes" if rule.enabled else "no",
            rule.schedule or "",
            rule.trigger.event if rule.trigger else "",
            escape(f"{rule.scope.store_source} {rule.scope.base or rule.scope.unit or ''}"),
            escape(", ".join(a.label() for a in rule.actions)),
        )
    console.print(table)


@rules_app.command("show")
def show_cmd(ctx: typer.Context, name: NameArg, as_json: JsonOption = False) -> None:
    """The rule as its TOML file, with its versions."""
    from dirguard.services.rules.rule_store import export_rule, get_rule, rule_versions

    with cli_runtime(ctx) as runtime:
        saved = get_rule(runtime, name)
        versions = rule_versions(runtime, name)
        text = export_rule(runtime, name)
    if as_json:
        print_json({**saved.as_dict(), "versions": versions})
        return
    console.print(escape(text), highlight=False)
    for v in versions:
        console.print(f"# version {v['version']}: {v['saved_at']} by {escape(v['saved_by'])}")


def _render(report: dict[str, Any]) -> None:
    counts = report["counts"]
    mode = "dry run" if report["dry_run"] else "run"
    console.print(
        f"Rule {escape(report['rule'])} v{report['version']} ({mode} {report['run_id']}):"
        f" {counts['objects']} object(s), {counts['changed']} to change"
        f" ({counts['changes']} change(s)), {counts['unchanged']} unchanged,"
        f" {counts['failed']} failed",
        highlight=False,
    )
    table = Table("object", "action", "status", "change")
    for obj in report["objects"]:
        for change in obj["changes"]:
            if change["status"] == "failed":
                what = change["error"] or ""
            else:
                what = "; ".join(
                    f"{e['field']}: {e['before']} → {e['after']}" for e in change["edits"]
                )
            table.add_row(
                escape(obj["name"]), escape(change["action"]), change["status"], escape(what)
            )
    if report["objects"]:
        console.print(table)
    for entry in report.get("memberships") or []:
        c = entry.get("counts") or {}
        line = (
            f"{escape(entry['action'])}: {entry['status']}"
            + (
                f" — {c['members']} member(s) now, {c['desired']} wanted:"
                f" +{c['add']} added, -{c['remove']} removed"
                if c
                else ""
            )
            + (f" — HELD: {escape(entry['reason'])}" if entry.get("reason") else "")
            + (f" — {escape(entry['error'])}" if entry.get("error") else "")
        )
        console.print(line, highlight=False)


ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Carry out a keep-members plan that its guard holds (more removals than the"
        " rule's max_remove_percent, or emptying the group).",
    ),
]


def _run(ctx: typer.Context, name: str, *, dry_run: bool, as_json: bool, force: bool) -> None:
    from dirguard.services.rules.engine import run_rule

    with cli_runtime(ctx) as runtime:
        report = run_rule(runtime, name, dry_run=dry_run, force=force).as_dict()
    if as_json:
        print_json(report)
    else:
        _render(report)
    stopped = any(m["status"] in ("held", "failed") for m in report.get("memberships") or [])
    if report["counts"]["failed"] or stopped:
        raise typer.Exit(ExitCode.FAILURE)


@rules_app.command("dry-run")
def dry_run_cmd(
    ctx: typer.Context, name: NameArg, as_json: JsonOption = False, force: ForceOption = False
) -> None:
    """What the rule would change now: each object, each change, with counts (a keep-members
    action: members added and removed, and whether its guard holds the plan); nothing is
    written. Exit code 1 when some object would fail or a plan is held."""
    _run(ctx, name, dry_run=True, as_json=as_json, force=force)


@rules_app.command("run")
def run_cmd(
    ctx: typer.Context, name: NameArg, as_json: JsonOption = False, force: ForceOption = False
) -> None:
    """Run the rule now as its service identity; objects already as the rule wants are left
    alone. Exit code 1 when some object failed (the others are done) or a keep-members plan
    was held (nothing of that plan was done)."""
    _run(ctx, name, dry_run=False, as_json=as_json, force=force)


@rules_app.command("export")
def export_cmd(
    ctx: typer.Context,
    name: NameArg,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the TOML file here.")
    ] = None,
) -> None:
    """The rule's current version as a TOML file (to keep in git)."""
    from dirguard.services.rules.rule_store import export_rule

    with cli_runtime(ctx) as runtime:
        text = export_rule(runtime, name)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"Wrote {output}", highlight=False)


@rules_app.command("import")
def import_cmd(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="Rule TOML files.")],
    as_json: JsonOption = False,
) -> None:
    """Save the rules of these TOML files (a new version of each that changed). A bad file
    is refused naming it and the field; none is saved then (exit 3)."""
    from dirguard.core.rules import RuleError
    from dirguard.core.rules_file import loads
    from dirguard.services.rules.rule_store import import_rule

    texts = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
            loads(text, origin=str(path))
        except OSError as error:
            raise fail(f"{path}: {error.strerror}", ExitCode.CONFIG_INVALID) from None
        except RuleError as error:
            raise fail(str(error), ExitCode.CONFIG_INVALID) from None
        texts.append((path, text))
    saved = []
    with cli_runtime(ctx) as runtime:
        for path, text in texts:
            saved.append(import_rule(runtime, text, origin=str(path)))
    if as_json:
        print_json({"rules": [s.as_dict() for s in saved]})
        return
    for s in saved:
        console.print(f"{escape(s.rule.name)}: version {s.version}", highlight=False)


@rules_app.command("history")
def history_cmd(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(metavar="[NAME]", help="Only this rule.")] = None,
    run_id: Annotated[
        int | None, typer.Option("--run", help="One run with its per-object results.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many runs.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The latest runs, newest first (or one run's objects with --run)."""
    from dirguard.services.rules.run_report import run_details, run_history

    with cli_runtime(ctx) as runtime:
        if run_id is not None:
            report = run_details(runtime, run_id).as_dict()
            if as_json:
                print_json(report)
            else:
                _render(report)
            return
        runs = run_history(runtime, name, limit=limit)
    if as_json:
        print_json({"runs": runs})
        return
    if not runs:
        console.print("No run yet.")
        return
    table = Table("run", "rule", "v", "mode", "by", "started", "status", "objects", "changed")
    for r in runs:
        table.add_row(
            str(r["run_id"]),
            escape(r["rule"]),
            str(r["version"]),
            "dry run" if r["dry_run"] else "run",
            escape(r["started_by"]),
            r["started_at"][:19],
            r["status"],
            str(r["counts"].get("objects", 0)),
            str(r["counts"].get("changed", 0)),
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(rules_app, name="rules")
