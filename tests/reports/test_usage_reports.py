"""License Optimization and Service Adoption against the sandbox tenant over HTTPS: the figures
equal a computation by hand over the same tenant (its users' licenses and service plans, the
usage the services recorded, the sign-in log); the console draws them as SVG; and a scheduled
report arrives by e-mail, through the scheduler and the notification service, as an XLSX that
openpyxl opens with the same rows."""

from __future__ import annotations

import base64
import io
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from openpyxl import load_workbook

from dirguard.config.notifications_schema import NotificationsConfig
from dirguard.config.reports_schema import ReportSchedule, ReportsConfig
from dirguard.services.reports.catalog import ReportInputError, find_report
from dirguard.services.reports.charts import chart_data
from dirguard.services.reports.run import run_report
from dirguard.services.runtime import Runtime
from dirguard.services.scheduler.jobs import run_due
from tests.fixtures.graph_sandbox import RunningSandbox

PRODUCTS = ("Exchange", "OneDrive", "SharePoint", "Skype For Business", "Yammer", "Teams")
PLAN_PRODUCTS = {  # Microsoft's service plans in the tenant's SKUs, by hand
    "EXCHANGE_S_ENTERPRISE": ("Exchange",),
    "SHAREPOINTENTERPRISE": ("SharePoint", "OneDrive"),
    "MCOSTANDARD": ("Skype For Business",),
    "TEAMS1": ("Teams",),
}


def _licensed(state: Any, user: dict[str, Any]) -> set[str]:
    products: set[str] = set()
    for assigned in user.get("assignedLicenses") or []:
        sku = next(s for s in state.subscribed_skus.values() if s["skuId"] == assigned["skuId"])
        for plan in sku["servicePlans"]:
            if plan["servicePlanId"] not in (assigned.get("disabledPlans") or []):
                products.update(PLAN_PRODUCTS.get(plan["servicePlanName"], ()))
    return products


@pytest.fixture(scope="module")
def usage(report_tenant: RunningSandbox) -> RunningSandbox:
    """Usage recorded by the services for three licensed users: active yesterday in Exchange
    and five days ago in Teams; in SharePoint 40 days ago; in OneDrive 10 days ago. The second
    and the fourth have no sign-in left in the log."""
    state = report_tenant.state
    licensed = sorted(
        (u for u in state.users.values() if _licensed(state, u)),
        key=lambda u: u["userPrincipalName"],
    )
    assert len(licensed) >= 4
    today = state.now().date()
    day = lambda n: (today - timedelta(days=n)).isoformat()  # noqa: E731
    state.usage_activity.update(
        {
            licensed[0]["id"]: {"Exchange": day(1), "Teams": day(5)},
            licensed[1]["id"]: {"SharePoint": day(40)},
            licensed[2]["id"]: {"OneDrive": day(10)},
        }
    )
    # Two of them stopped signing in (their sign-ins aged out of the log).
    gone = {licensed[1]["id"], licensed[3]["id"]}
    state.sign_in_log[:] = [e for e in state.sign_in_log if e.get("userId") not in gone]
    return report_tenant


def _active(activity: dict[str, str], product: str, refreshed: date, days: int) -> bool:
    last = activity.get(product)
    return bool(last) and refreshed - timedelta(days=days) < date.fromisoformat(last) <= refreshed


def test_service_adoption_equals_a_count_by_hand(
    usage: RunningSandbox, report_runtime: Runtime
) -> None:
    state = usage.state
    refreshed = state.now().date() - timedelta(days=1)
    for days in (30, 90):
        expected = []
        for product in PRODUCTS:
            licensed = [u for u in state.users.values() if product in _licensed(state, u)]
            active = [
                u
                for u in licensed
                if _active(state.usage_activity.get(u["id"], {}), product, refreshed, days)
            ]
            expected.append(
                {
                    "service": product,
                    "licensed_users": len(licensed),
                    "active_users": len(active),
                    "inactive_users": len(licensed) - len(active),
                    "adoption_percent": round(100 * len(active) / len(licensed)) if licensed else 0,
                }
            )
        result = run_report(report_runtime, "service-adoption", days=days)
        assert result.rows == expected
    by_service = {r["service"]: r for r in run_report(report_runtime, "service-adoption").rows}
    assert by_service["Exchange"]["active_users"] == 1
    assert by_service["SharePoint"]["active_users"] == 0  # 40 days ago: outside D30
    assert by_service["Exchange"]["licensed_users"] > 1
    with pytest.raises(ReportInputError, match="one of 7, 30, 90, 180"):
        run_report(report_runtime, "service-adoption", days=14)


def _last_success(state: Any, user_id: str) -> datetime | None:
    found = None
    for entry in state.sign_in_log:
        if entry.get("userId") == user_id and (entry.get("status") or {}).get("errorCode", 0) == 0:
            found = datetime.fromisoformat(entry["createdDateTime"].replace("Z", "+00:00"))
    return found


def test_license_optimization_equals_a_computation_by_hand(
    usage: RunningSandbox, report_runtime: Runtime
) -> None:
    state = usage.state
    now = report_runtime.clock()
    refreshed = state.now().date() - timedelta(days=1)
    part = {s["skuId"]: s["skuPartNumber"] for s in state.subscribed_skus.values()}
    expected = []
    for user in state.users.values():
        activity = state.usage_activity.get(user["id"], {})
        signed_in = _last_success(state, user["id"])
        in_use = any(_active(activity, p, refreshed, 30) for p in PRODUCTS) or (
            signed_in is not None and now - signed_in < timedelta(days=30)
        )
        for assigned in user.get("assignedLicenses") or []:
            expected.append((part[assigned["skuId"]], user["userPrincipalName"], in_use))
    result = run_report(report_runtime, "license-optimization")
    got = [(r["sku"], r["user_principal_name"], r["in_use"]) for r in result.rows]
    assert sorted(got) == sorted(expected) and len(got) == len(expected)
    unused = [r for r in result.rows if not r["in_use"]]
    assert unused, "the tenant has licenses nobody uses"
    licensed_by_hand = sorted(
        (u for u in state.users.values() if _licensed(state, u)),
        key=lambda u: u["userPrincipalName"],
    )
    first = next(
        r
        for r in result.rows
        if r["user_principal_name"] == licensed_by_hand[0]["userPrincipalName"]
    )
    assert first["in_use"] is True and first["last_activity"] == refreshed.isoformat()
    # 40 days since SharePoint and no sign-in: every license of the second is unused.
    second = [
        r
        for r in result.rows
        if r["user_principal_name"] == licensed_by_hand[1]["userPrincipalName"]
    ]
    assert second and not any(r["in_use"] for r in second)
    assert {r["last_activity"] for r in second} == {(refreshed - timedelta(days=39)).isoformat()}

    chart = chart_data(find_report("license-optimization"), result.rows)
    assert chart is not None and chart.series == ("in use", "unused")
    per_sku = {g.label: (g.bars[0].value, g.bars[1].value) for g in chart.groups}
    for sku in {e[0] for e in expected}:
        assert per_sku[sku] == (
            sum(1 for e in expected if e[0] == sku and e[2]),
            sum(1 for e in expected if e[0] == sku and not e[2]),
        )


def test_a_scheduled_report_arrives_as_a_valid_xlsx(
    usage: RunningSandbox, report_runtime: Runtime
) -> None:
    state = usage.state
    sender = next(u for u in state.users.values() if u.get("mail"))
    runtime = replace(
        report_runtime,
        config=report_runtime.config.model_copy(
            update={
                "notifications": NotificationsConfig(sender=sender["userPrincipalName"]),
                "reports": ReportsConfig(
                    schedules=[
                        ReportSchedule(
                            name="hourly-adoption",
                            report="service-adoption",
                            schedule="0 * * * *",
                            to=["it-finance@contoso.example"],
                        )
                    ]
                ),
            }
        ),
    )
    state.outbox.clear()
    assert run_due(runtime), "the schedule fired within the last hour: due"
    (mail,) = [m for m in state.outbox if "Service Adoption" in m["message"]["subject"]]
    message = mail["message"]
    assert {r["emailAddress"]["address"] for r in message["toRecipients"]} == {
        "it-finance@contoso.example"
    }
    (attachment,) = message["attachments"]
    assert attachment["name"].endswith(".xlsx")
    assert attachment["contentType"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(base64.b64decode(attachment["contentBytes"])))
    sheet = book.active
    assert sheet is not None
    cells = [list(row) for row in sheet.iter_rows(values_only=True)]
    expected = run_report(runtime, "service-adoption")
    assert cells[0] == expected.header
    assert cells[1:] == expected.table()
    assert run_due(runtime) == []  # ran this hour: not due again
    assert len([m for m in state.outbox if "Service Adoption" in m["message"]["subject"]]) == 1
