"""``dirguard diff``: compare two recorded moments of a domain or an Entra tenant, or a moment
with the live directory (exit 0 when nothing differs, 1 when something does, as ``diff`` does)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from dirguard.cli.common import (
    DomainOption,
    JsonOption,
    OneTenantOption,
    cli_runtime,
    time_option,
)
from dirguard.cli.context import console, print_json
from dirguard.cli.exit_codes import ExitCode

if TYPE_CHECKING:
    from dirguard.services.compare import CompareReport

SinceOption = Annotated[str, typer.Option("--from", help="The earlier moment (ISO 8601).")]
UntilOption = Annotated[
    str | None, typer.Option("--to", help="The later moment (ISO 8601); or --live.")
]
LiveOption = Annotated[
    bool, typer.Option("--live", help="Compare with the directory as it is now (a fresh read).")
]
UnderOption = Annotated[
    str | None,
    typer.Option("--under", help="Only objects under this DN at either moment (AD only)."),
]
ObjectOption = Annotated[
    str | None,
    typer.Option(
        "--object", help="Only this object (GUID, DN or sAMAccountName; an Entra object's id)."
    ),
]


def _short(value: Any) -> str:
    text = "(absent)" if value is None else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def diff_cmd(
    ctx: typer.Context,
    since: SinceOption,
    until: UntilOption = None,
    live: LiveOption = False,
    domain: DomainOption = None,
    tenant: OneTenantOption = None,
    under: UnderOption = None,
    object_: ObjectOption = None,
    as_json: JsonOption = False,
) -> None:
    """What differs between two recorded moments, or a moment and the live directory
    (volatile attributes left out). Exit 0: the same; 1: differences (listed)."""
    from dirguard.services.compare import CompareRequest, compare

    if live == (until is not None):
        raise typer.BadParameter("give --to TIME or --live", param_hint="--to/--live")
    request = CompareRequest(
        since=time_option(since),
        until=time_option(until),
        live=live,
        domain=domain,
        tenant=tenant,
        under=under,
        object=object_,
    )
    with cli_runtime(ctx) as runtime:
        report = compare(runtime, request)
    if as_json:
        print_json(report.as_dict())
    else:
        _render(report)
    if report.differences:
        raise typer.Exit(ExitCode.FAILURE)


def _render(report: CompareReport) -> None:
    for difference in report.differences:
        label = escape(difference.dn or difference.name or difference.guid)
        console.print(f"[bold]{difference.presence.value}[/] {label}", highlight=False)
        for changed in difference.fields:
            if changed.added or changed.removed:
                parts = [f"+{_short(v)}" for v in changed.added]
                parts += [f"-{_short(v)}" for v in changed.removed]
                shown = ", ".join(parts)
            else:
                shown = f"{_short(changed.before)} -> {_short(changed.after)}"
            console.print(f"    {escape(changed.field)}: {escape(shown)}", highlight=False)
    counts = ", ".join(f"{n} {k}" for k, n in report.counts.items())
    console.print(
        f"{report.compared} objects compared, {report.since} -> {report.until}: {counts}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("diff")(diff_cmd)
