"""``dirguard report``: one report read from the Entra tenant now, as a table, JSON, CSV or
XLSX (the same rows as the console's Reports pages); without a key, the list of reports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from dirguard.cli.common import JsonOption, cli_runtime, fail
from dirguard.cli.context import console, err_console, print_json
from dirguard.cli.exit_codes import ExitCode

KeyArgument = Annotated[
    str | None, typer.Argument(help="The report (omit it to list them), e.g. inactive-users.")
]
TenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant", "-t", help="Entra tenant name from the configuration (default: the only one)."
    ),
]
DaysOption = Annotated[
    int | None,
    typer.Option(
        "--days", min=0, max=3650, help="The report's threshold in days (its default when omitted)."
    ),
]
FormatOption = Annotated[
    Literal["table", "csv", "xlsx"],
    typer.Option("--format", "-f", help="table (default), csv or xlsx (xlsx needs --output)."),
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the CSV or XLSX to this file.")
]


def _list(as_json: bool) -> None:
    from dirguard.services.reports.catalog import REPORTS

    if as_json:
        print_json(
            [
                {
                    "key": r.key,
                    "title": r.title,
                    "description": r.description,
                    "feature": r.feature,
                    "permissions": list(r.permissions),
                    "days": r.days,
                    "columns": [c.key for c in r.columns],
                }
                for r in REPORTS
            ]
        )
        return
    for report in REPORTS:
        console.print(f"[bold]{report.key}[/]  {report.description}", highlight=False)


def report_cmd(
    ctx: typer.Context,
    key: KeyArgument = None,
    tenant: TenantOption = None,
    days: DaysOption = None,
    format: FormatOption = "table",
    output: OutputOption = None,
    as_json: JsonOption = False,
) -> None:
    """One report read from the Entra tenant now (last sign-in, inactive users and guests,
    users without MFA methods, guests, stale devices, privileged role holders, expiring
    application credentials), as a table, JSON, CSV or XLSX. Without a key: the reports."""
    if key is None:
        _list(as_json)
        return
    from dirguard.services.reports.catalog import ReportInputError
    from dirguard.services.reports.export import to_csv, to_xlsx
    from dirguard.services.reports.run import run_report

    if format == "xlsx" and output is None:
        raise typer.BadParameter("xlsx needs --output FILE", param_hint="--format")
    with cli_runtime(ctx) as runtime, err_console.status(f"Reading report {key}..."):
        try:
            result = run_report(runtime, key, tenant=tenant, days=days)
        except ReportInputError as error:
            raise fail(str(error), ExitCode.FAILURE) from None
    if as_json:
        print_json(
            {
                "report": result.report.key,
                "tenant": result.tenant,
                "generated": result.generated.isoformat(),
                "days": result.days,
                "rows": result.rows,
            }
        )
    elif format == "csv":
        text = to_csv(result)
        if output is None:
            sys.stdout.write(text)
        else:
            output.write_text(text, encoding="utf-8", newline="")
    elif format == "xlsx" and output is not None:
        output.write_bytes(to_xlsx(result))
    else:
        _table(result)
    if output is not None and not as_json:
        err_console.print(f"{len(result.rows)} rows written to {output}", highlight=False)


def _table(result: object) -> None:
    from rich.table import Table

    from dirguard.services.reports.run import ReportResult

    assert isinstance(result, ReportResult)
    table = Table(title=f"{result.report.title} ({result.tenant})")
    for title in result.header:
        table.add_column(title)
    for row in result.table():
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
