"""``dirguard report`` over the sandbox tenant: JSON rows equal the hand computation, CSV and
XLSX files parse back to them, bad input is named with exit code 1."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook

from tests.entra.helpers import SECRET_ENV, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.reports import expectations as expect
from tests.rollback.accounts import cli_runner


def test_report_cli(report_tenant: RunningSandbox, tmp_path: Path) -> None:
    run = cli_runner(
        write_config(report_tenant, tmp_path), {SECRET_ENV: report_tenant.info.full_client_secret}
    )
    listed = run("report")
    assert {r["key"] for r in listed} >= {"inactive-users", "stale-devices", "guests"}

    answer = run("report", "stale-devices", "--days", "100")
    now = datetime.fromisoformat(answer["generated"])
    names = {row["display_name"] for row in answer["rows"]}
    assert names == expect.stale_device_names(report_tenant, now, 100) and len(names) == 2

    shown = run("report", "guests", as_json=False).stdout
    assert "Pat Partner" in shown

    text = run("report", "inactive-users", "--days", "3", "--format", "csv", as_json=False)
    lines = list(csv.DictReader(io.StringIO(text.stdout)))
    wanted = expect.inactive_upns(report_tenant, datetime.now(UTC), 3)
    assert {line["User principal name"] for line in lines} == wanted

    book = tmp_path / "roles.xlsx"
    run("report", "privileged-roles", "--format", "xlsx", "-o", str(book), as_json=False)
    sheet = load_workbook(book, read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert {(r[0], r[1]) for r in rows[1:]} == expect.role_holders(report_tenant)

    assert "no report 'nope'" in run("report", "nope", code=1, as_json=False).output
    assert "takes no days" in run("report", "guests", "--days", "2", code=1, as_json=False).output
    assert "--output" in run("report", "guests", "-f", "xlsx", code=2, as_json=False).output
