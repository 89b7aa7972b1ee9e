"""Each report over the sandbox tenant (HTTPS) equals the hand computation over its state, and
its CSV and XLSX exports parse back to the same rows."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from dirguard.services.errors import ServiceError
from dirguard.services.reports.catalog import REPORTS, ReportInputError
from dirguard.services.reports.export import to_csv, to_xlsx
from dirguard.services.reports.run import run_report
from dirguard.services.runtime import Runtime
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.reports import expectations as expect


def upns(rows: list[dict[str, object]]) -> set[object]:
    return {row["user_principal_name"] for row in rows}


def test_last_sign_in_lists_every_user_with_the_logs_newest_success(
    report_runtime: Runtime, report_tenant: RunningSandbox
) -> None:
    result = run_report(report_runtime, "last-sign-in")
    last = expect.last_successful(report_tenant)
    by_upn = {u["userPrincipalName"]: u for u in report_tenant.state.users.values()}
    assert upns(result.rows) == set(by_upn)
    for row in result.rows:
        user = by_upn[str(row["user_principal_name"])]
        assert row["last_successful_sign_in"] == last.get(user["id"])


@pytest.mark.parametrize("days", [0, 3, 6, 30])
def test_inactive_users_match_the_sign_in_log(
    report_runtime: Runtime, report_tenant: RunningSandbox, days: int
) -> None:
    result = run_report(report_runtime, "inactive-users", days=days)
    assert result.days == days
    assert upns(result.rows) == expect.inactive_upns(report_tenant, report_runtime.clock(), days)


def test_inactive_users_include_a_guest_who_never_signed_in(
    report_runtime: Runtime, report_tenant: RunningSandbox
) -> None:
    rows = run_report(report_runtime, "inactive-users").rows
    guest = next(row for row in rows if row["user_type"] == "Guest")
    assert guest["display_name"] == "Pat Partner"
    assert guest["last_successful_sign_in"] is None and guest["days_since_sign_in"] is None


def test_users_without_mfa_match_their_registered_methods(
    report_runtime: Runtime, report_tenant: RunningSandbox
) -> None:
    rows = run_report(report_runtime, "users-without-mfa").rows
    assert rows, "the seeded tenant has a member with no method besides a password"
    assert upns(rows) == expect.without_mfa_upns(report_tenant)


def test_guests(report_runtime: Runtime, report_tenant: RunningSandbox) -> None:
    rows = run_report(report_runtime, "guests").rows
    assert upns(rows) == expect.guest_upns(report_tenant) != set()
    assert {row["invitation_state"] for row in rows} == {"PendingAcceptance"}


def test_stale_devices(report_runtime: Runtime, report_tenant: RunningSandbox) -> None:
    now = report_runtime.clock()
    rows = run_report(report_runtime, "stale-devices").rows
    names = {row["display_name"] for row in rows}
    assert names == expect.stale_device_names(report_tenant, now, 90)
    assert len(names) == 2
    assert all(int(str(row["days_since_sign_in"])) >= 199 for row in rows)


def test_privileged_role_holders(report_runtime: Runtime, report_tenant: RunningSandbox) -> None:
    rows = run_report(report_runtime, "privileged-roles").rows
    assert {(row["role"], row["display_name"]) for row in rows} == expect.role_holders(
        report_tenant
    )
    assert rows


def test_expiring_credentials(report_runtime: Runtime, report_tenant: RunningSandbox) -> None:
    now = report_runtime.clock()
    rows = run_report(report_runtime, "expiring-credentials", days=30).rows
    assert {(row["application"], row["expires"]) for row in rows} == expect.expiring(
        report_tenant, now, 30
    )
    assert [(r["application"], r["credential"], r["kind"]) for r in rows] == [
        ("payroll export", "nightly job", "secret")
    ]
    assert rows[0]["days_left"] in (9, 10)
    assert run_report(report_runtime, "expiring-credentials", days=5).rows == []


@pytest.mark.parametrize("key", [report.key for report in REPORTS])
def test_csv_and_xlsx_parse_back_to_the_rows(report_runtime: Runtime, key: str) -> None:
    result = run_report(report_runtime, key)
    expected = [["" if c is None else str(c) for c in row] for row in result.table()]
    parsed = list(csv.reader(io.StringIO(to_csv(result))))
    assert parsed[0] == result.header
    assert parsed[1:] == expected
    sheet = load_workbook(io.BytesIO(to_xlsx(result)), read_only=True).active
    assert sheet is not None
    width = len(result.header)
    # a spreadsheet keeps no trailing empty cells: pad each row back to the header's width
    cells = [(list(row) + [None] * width)[:width] for row in sheet.iter_rows(values_only=True)]
    assert cells[0] == result.header
    assert cells[1:] == [list(row) for row in result.table()]


def test_bad_parameters_are_named(report_runtime: Runtime) -> None:
    with pytest.raises(ServiceError, match=r"no report 'nope'.*inactive-users"):
        run_report(report_runtime, "nope")
    with pytest.raises(ReportInputError, match="takes no days"):
        run_report(report_runtime, "guests", days=3)
    with pytest.raises(ReportInputError, match="between 0 and 3650"):
        run_report(report_runtime, "inactive-users", days=-1)
    with pytest.raises(ServiceError, match="no Entra tenant 'other'"):
        run_report(report_runtime, "guests", tenant="other")


def test_each_report_names_its_feature_and_permissions_the_catalog_knows() -> None:
    from dirguard.catalog.features import FEATURES

    keys = {feature.key for feature in FEATURES}
    known = {p.rpartition(":")[2] for feature in FEATURES for p in feature.permissions}
    for report in REPORTS:
        assert report.feature in keys
        assert set(report.permissions) <= known, report.key
