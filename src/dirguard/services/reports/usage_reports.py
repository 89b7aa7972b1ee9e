"""License Optimization and Service Adoption, from Microsoft 365's usage report
``reports/getOffice365ActiveUserDetail(period='D…')`` (CSV, ``Reports.Read.All``) and the users'
licenses and ``signInActivity`` (``Directory.Read.All``, ``AuditLog.Read.All``).

- **License Optimization**: one row per assigned license (user × SKU). A license is *in use*
  when its user was active in some Microsoft 365 service within the period (the report's ``Last
  Activity Date`` columns, the period ending at its ``Report Refresh Date``) or signed in
  successfully within as many days of now; else it is a candidate to reclaim.
- **Service Adoption**: one row per service: users licensed for it, and of those the ones
  active in it within the period.

The period is the report's ``days``: 7, 30, 90 or 180 (the periods Graph offers).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from typing import Any

from dirguard.providers.entra.graph_client import GraphClient
from dirguard.services.reports.catalog import ReportInputError
from dirguard.services.reports.entra_reports import Row, days_between, parse_time

PERIODS = (7, 30, 90, 180)
PRODUCTS = ("Exchange", "OneDrive", "SharePoint", "Skype For Business", "Yammer", "Teams")


def _period(days: int | None) -> int:
    if days not in PERIODS:
        raise ReportInputError(
            f"days must be one of {', '.join(map(str, PERIODS))} (Graph's usage report periods),"
            f" not {days}"
        )
    return days


def usage_rows(graph: GraphClient, days: int) -> list[dict[str, str]]:
    """The usage report's rows (column title -> text)."""
    text = graph.report_csv(f"reports/getOffice365ActiveUserDetail(period='D{days}')")
    return list(csv.DictReader(io.StringIO(text)))


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _active(row: dict[str, str], product: str, days: int) -> bool:
    refreshed = _date(row.get("Report Refresh Date"))
    last = _date(row.get(f"{product} Last Activity Date"))
    return bool(refreshed and last and refreshed - timedelta(days=days) < last <= refreshed)


def _last_activity(row: dict[str, str] | None) -> date | None:
    if row is None:
        return None
    dates = [d for p in PRODUCTS if (d := _date(row.get(f"{p} Last Activity Date")))]
    return max(dates) if dates else None


def _skus(graph: GraphClient) -> dict[str, str]:
    return {
        str(s["skuId"]): str(s.get("skuPartNumber") or s["skuId"])
        for s in graph.pages("subscribedSkus")
    }


def license_optimization(graph: GraphClient, now: datetime, days: int | None) -> list[Row]:
    period = _period(days)
    usage = {r["User Principal Name"].casefold(): r for r in usage_rows(graph, period)}
    skus = _skus(graph)
    select = "id,displayName,userPrincipalName,accountEnabled,assignedLicenses,signInActivity"
    rows: list[Row] = []
    for user in graph.pages("/users", **{"$select": select}):
        upn = str(user.get("userPrincipalName") or "")
        activity = usage.get(upn.casefold())
        last_activity = _last_activity(activity)
        signed_in = parse_time(
            (user.get("signInActivity") or {}).get("lastSuccessfulSignInDateTime")
        )
        active = activity is not None and any(_active(activity, p, period) for p in PRODUCTS)
        recent_sign_in = signed_in is not None and now - signed_in < timedelta(days=period)
        latest: Any = max(
            [t for t in (signed_in, _midnight(last_activity)) if t is not None], default=None
        )
        for assigned in user.get("assignedLicenses") or []:
            rows.append(
                {
                    "sku": skus.get(str(assigned["skuId"]), str(assigned["skuId"])),
                    "display_name": user.get("displayName"),
                    "user_principal_name": upn,
                    "account_enabled": user.get("accountEnabled"),
                    "last_successful_sign_in": signed_in.isoformat() if signed_in else None,
                    "last_activity": last_activity.isoformat() if last_activity else None,
                    "days_inactive": days_between(latest, now),
                    "in_use": active or recent_sign_in,
                }
            )
    return sorted(rows, key=lambda r: (str(r["sku"]), str(r["user_principal_name"]).lower()))


def _midnight(day: date | None) -> datetime | None:
    from datetime import UTC

    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)


def service_adoption(graph: GraphClient, now: datetime, days: int | None) -> list[Row]:
    period = _period(days)
    usage = usage_rows(graph, period)
    rows: list[Row] = []
    for product in PRODUCTS:
        licensed = [r for r in usage if r.get(f"Has {product} License") == "True"]
        active = [r for r in licensed if _active(r, product, period)]
        rows.append(
            {
                "service": product,
                "licensed_users": len(licensed),
                "active_users": len(active),
                "inactive_users": len(licensed) - len(active),
                "adoption_percent": round(100 * len(active) / len(licensed)) if licensed else 0,
            }
        )
    return rows
