"""``/api/v1/reports``: the reports the console offers, and ``/api/v1/reports/{key}``: one report
read from the tenant now, as JSON rows or as a CSV or XLSX download."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from dirguard.services.reports.catalog import REPORTS, Cell, Report, ReportInputError
from dirguard.services.reports.export import CSV_TYPE, XLSX_TYPE, file_name, to_csv, to_xlsx
from dirguard.services.reports.run import ReportResult, run_report
from dirguard.web.access import Viewer
from dirguard.web.context import acting_runtime
from dirguard.web.problems import problem

router = APIRouter()

Days = Annotated[int | None, Query(ge=0, le=3650, description="the report's threshold in days")]
Tenant = Annotated[str | None, Query(description="Entra tenant name (default: the only one)")]
Format = Annotated[Literal["json", "csv", "xlsx"], Query(description="json, csv or xlsx")]


class ColumnOut(BaseModel):
    key: str
    title: str


class ReportOut(BaseModel):
    key: str
    title: str
    description: str
    feature: str
    permissions: list[str]
    columns: list[ColumnOut]
    days: int | None
    days_help: str

    @classmethod
    def of(cls, report: Report) -> ReportOut:
        return cls(
            key=report.key,
            title=report.title,
            description=report.description,
            feature=report.feature,
            permissions=list(report.permissions),
            columns=[ColumnOut(key=c.key, title=c.title) for c in report.columns],
            days=report.days,
            days_help=report.days_help,
        )


class ReportRowsOut(BaseModel):
    report: ReportOut
    tenant: str
    generated: str
    days: int | None
    rows: list[dict[str, Cell]]


@router.get("/reports", summary="The reports and what each needs")
def list_reports(who: Viewer) -> list[ReportOut]:
    return [ReportOut.of(report) for report in REPORTS]


def download(result: ReportResult, format: str) -> Response:
    if format == "csv":
        body, media = to_csv(result).encode("utf-8"), CSV_TYPE
    else:
        body, media = to_xlsx(result), XLSX_TYPE
    name = file_name(result, format)
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get(
    "/reports/{key}",
    summary="One report read from the tenant now: JSON rows, or a CSV or XLSX download",
    response_model=None,
)
async def get_report(
    request: Request,
    who: Viewer,
    key: str,
    format: Format = "json",
    days: Days = None,
    tenant: Tenant = None,
) -> ReportRowsOut | Response:
    runtime = acting_runtime(request, who)
    try:
        result = await run_in_threadpool(run_report, runtime, key, tenant=tenant, days=days)
    except ReportInputError as error:
        return problem(422, str(error), kind="invalid-parameter")
    if format != "json":
        return download(result, format)
    return ReportRowsOut(
        report=ReportOut.of(result.report),
        tenant=result.tenant,
        generated=result.generated.isoformat(),
        days=result.days,
        rows=result.rows,
    )
