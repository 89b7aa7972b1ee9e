"""``dirguard threats list|show|test|scan|docs``: the threat definitions in force, a dry run of
a rule file over the stored history, a scan of the history (and of the current state for
exposure checks), and the generated rules page. The use cases are in
:mod:`dirguard.services.threats`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from dirguard.cli.common import JsonOption, cli_runtime, fail, service_errors, time_option
from dirguard.cli.context import console, err_console, load_cli_config, print_json
from dirguard.cli.exit_codes import ExitCode

threats_app = typer.Typer(
    help="Threat definitions: list and show them, dry-run a rule file, scan the history.",
    no_args_is_help=True,
)

DEFAULT_DOC = Path("docs/threats.md")


def _rule_dict(rule: Any) -> dict[str, Any]:
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity.value,
        "directory": rule.directory.value,
        "kind": rule.kind.value,
        "enabled": rule.enabled,
        "noisy": rule.noisy,
        "mitre": list(rule.mitre),
        "references": list(rule.references),
        "rationale": rule.rationale,
        "remediation": rule.remediation,
        "threshold": {
            "count": rule.threshold.count,
            "window_s": rule.threshold.window.total_seconds(),
        },
        "grouping": {
            "by": list(rule.grouping.by),
            "dedup_window_s": rule.grouping.dedup_window.total_seconds(),
            "throttle_s": rule.grouping.throttle.total_seconds(),
        },
        "exclude": {
            "actors": list(rule.exclude.actors),
            "objects": list(rule.exclude.objects),
            "values": list(rule.exclude.values),
        },
        "auto_undo": {
            "enabled": rule.auto_undo.enabled,
            "objects": list(rule.auto_undo.objects),
            "allow_actors": list(rule.auto_undo.allow_actors),
        },
        "origin": rule.origin,
    }


def _rules(ctx: typer.Context) -> list[Any]:
    from dirguard.services.threats.definitions import rules_in_force

    config = load_cli_config(ctx).config
    with service_errors():
        return rules_in_force(config.threats)


@threats_app.command("list")
def list_cmd(
    ctx: typer.Context,
    directory: Annotated[
        str | None, typer.Option("--directory", help="Only rules of this directory (ad, entra).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The rules in force (built-ins, site files, site settings applied)."""
    rules = [r for r in _rules(ctx) if directory is None or r.directory.value == directory]
    if as_json:
        print_json({"rules": [_rule_dict(r) for r in rules]})
        return
    table = Table("id", "severity", "kind", "on", "title", "MITRE")
    for r in rules:
        table.add_row(
            escape(r.id),
            r.severity.value,
            r.kind.value,
            "yes" if r.enabled else "no",
            escape(r.title),
            ", ".join(r.mitre),
        )
    console.print(table)


@threats_app.command("show")
def show_cmd(
    ctx: typer.Context,
    rule_id: Annotated[str, typer.Argument(metavar="RULE_ID", help="The rule's id.")],
    as_json: JsonOption = False,
) -> None:
    """One rule: what it matches, why it matters and what to do."""
    from dirguard.services.threats.definitions import find_rule

    with service_errors():
        rule = find_rule(_rules(ctx), rule_id)
    shown = _rule_dict(rule)
    if as_json:
        print_json(shown)
        return
    console.print(f"[bold]{escape(rule.id)}[/] {escape(rule.title)}", highlight=False)
    console.print(
        f"severity {rule.severity.value} · {rule.kind.value} · {rule.directory.value} · "
        f"{'on' if rule.enabled else 'off'} · MITRE {', '.join(rule.mitre) or '-'}",
        highlight=False,
    )
    console.print(f"\n{escape(rule.rationale)}\n\nRemediation: {escape(rule.remediation)}")


@threats_app.command("test")
def test_cmd(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="A rule file (TOML).")],
    since: Annotated[str | None, typer.Option("--since", help="From this time.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this time.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Validate a rule file and dry-run its rules (noisy ones too) over the stored history:
    the alerts they would raise, thresholds and dedup applied. Nothing is stored. Exit code 3
    when the file is invalid (each problem names the file, rule and field)."""
    from dirguard.services.threats.scan import dry_run

    with cli_runtime(ctx) as runtime:
        result = dry_run(runtime, path, time_option(since), time_option(until))
    if as_json:
        print_json(result)
        return
    console.print(
        f"{len(result['rules'])} rule(s), {result['events']} change(s) looked at: "
        f"{len(result['alerts'])} alert(s), {len(result['exposures'])} exposure(s).",
        highlight=False,
    )
    for alert in result["alerts"]:
        console.print(
            f"  [{alert['severity']}] {escape(alert['summary'])} ×{alert['count']}",
            highlight=False,
        )
    for exposure in result["exposures"]:
        console.print(f"  exposure {escape(exposure['summary'])}", highlight=False)


@threats_app.command("scan")
def scan_cmd(
    ctx: typer.Context,
    since: Annotated[str | None, typer.Option("--since", help="From this time.")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Up to this time.")] = None,
    exposure: Annotated[
        bool, typer.Option("--exposure", help="Also run the exposure checks over current state.")
    ] = False,
    exposure_only: Annotated[
        bool, typer.Option("--exposure-only", help="Only the exposure checks.")
    ] = False,
    notify: Annotated[
        bool, typer.Option("--notify", help="Send the new alerts to the configured channels.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Match the stored history against the rules in force and store the alerts (each change
    counts once per rule, also if the monitor saw it). Auto-undo never runs on history."""
    from dirguard.services.threats.scan import ScanRequest, scan

    rules = _rules(ctx)
    request = ScanRequest(
        since=time_option(since),
        until=time_option(until),
        changes=not exposure_only,
        exposure=exposure or exposure_only,
        notify=notify,
    )
    with cli_runtime(ctx) as runtime:
        report = scan(runtime, rules, request)
    if as_json:
        print_json(report.as_dict())
        return
    console.print(
        f"{report.events} change(s) looked at, {report.hits} match(es): "
        f"{len(report.new_alerts)} new alert(s), {len(report.joined_alerts)} updated; "
        f"{report.exposures} exposure(s), {len(report.resolved)} exposure alert(s) resolved.",
        highlight=False,
    )


@threats_app.command("docs")
def docs_cmd(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The Markdown page.")
    ] = DEFAULT_DOC,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 when the page is stale.")
    ] = False,
) -> None:
    """Regenerate the threat definitions page from the built-in rule files."""
    from dirguard.core.threats.rules_doc import render
    from dirguard.providers.registry import RESOURCE_TYPES
    from dirguard.services.threats.definitions import builtin_rules

    text = render(builtin_rules(), list(RESOURCE_TYPES))
    if check:
        try:
            current = output.read_text(encoding="utf-8")
        except OSError as exc:
            raise fail(
                f"{output}: cannot read ({exc.strerror}); run `dirguard threats docs`",
                ExitCode.FAILURE,
            ) from None
        if current != text:
            raise fail(f"{output} is stale; run `dirguard threats docs`", ExitCode.FAILURE)
        console.print(f"{output} is up to date.")
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        err_console.print(f"{output}: cannot write ({exc.strerror})", soft_wrap=True)
        raise typer.Exit(ExitCode.FAILURE) from None
    console.print(f"Wrote {output} ({len(text.splitlines())} lines).")


def register(app: typer.Typer) -> None:
    app.add_typer(threats_app, name="threats")
