"""The reports pages: the list of reports, and one report read from the tenant now (its table,
its threshold as a form, CSV and XLSX download links to the REST routes)."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse

from dirguard.services.errors import ServiceError
from dirguard.services.reports.catalog import REPORTS, ReportInputError, find_report
from dirguard.services.reports.charts import chart_data
from dirguard.services.reports.run import ReportResult, run_report
from dirguard.web.access import Viewer
from dirguard.web.context import acting_runtime
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, who: Viewer) -> HTMLResponse:
    return render(request, "reports/list.html", reports=REPORTS)


def _days(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise ReportInputError(f"days must be a whole number, not {text!r}") from None


@router.get("/reports/{key}", response_class=HTMLResponse)
async def report_page(
    request: Request, who: Viewer, key: str, days: str | None = None, tenant: str | None = None
) -> HTMLResponse:
    report = find_report(key)
    runtime = acting_runtime(request, who)
    result: ReportResult | None = None
    error = None
    try:
        result = await run_in_threadpool(
            run_report, runtime, key, tenant=tenant or None, days=_days(days)
        )
    except (ServiceError, ReportInputError) as problem:
        error = str(problem)
    query = {k: v for k, v in (("days", result.days if result else None), ("tenant", tenant)) if v}
    links = {
        fmt: f"/api/v1/reports/{report.key}?" + urlencode({**query, "format": fmt})
        for fmt in ("csv", "xlsx")
    }
    return render(
        request,
        "reports/report.html",
        report=report,
        result=result,
        error=error,
        days=days if days is not None else report.days,
        tenant=tenant or "",
        links=links,
        chart=chart_data(report, result.rows) if result else None,
    )
