"""Running a report on a configured tenant: the use case the CLI and the console share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dirguard.providers.entra.graph_client import GraphAuthError, GraphError
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.reports.catalog import Cell, Report, check_days, find_report
from dirguard.services.reports.entra_reports import BUILDERS
from dirguard.services.runtime import Runtime


@dataclass(frozen=True, kw_only=True)
class ReportResult:
    report: Report
    tenant: str
    generated: datetime
    days: int | None
    rows: list[dict[str, Cell]]

    @property
    def header(self) -> list[str]:
        return [column.title for column in self.report.columns]

    def table(self) -> list[list[Cell]]:
        """The rows as lists in column order (what the exports write under :attr:`header`)."""
        keys = [column.key for column in self.report.columns]
        return [[row.get(key) for key in keys] for row in self.rows]


def run_report(
    runtime: Runtime, key: str, *, tenant: str | None = None, days: int | None = None
) -> ReportResult:
    """Report ``key`` over the tenant named (or the only one), read now through Graph."""
    report = find_report(key)
    chosen_days = check_days(report, days)
    tenants = runtime.entra_tenants(tenant)
    if not tenants:
        raise ServiceError("no [[entra.tenants]] in the configuration", Problem.CONFIG)
    if len(tenants) > 1:
        known = ", ".join(t.name for t in tenants)
        raise ServiceError(f"several Entra tenants are configured ({known}): name one")
    config = tenants[0]
    now = runtime.clock()
    try:
        with runtime.open_entra(config) as graph:
            rows = BUILDERS[report.key](graph, now, chosen_days)
    except GraphAuthError as error:
        raise ServiceError(f"{config.name}: {error}", Problem.PERMISSION) from error
    except GraphError as error:
        problem = Problem.PERMISSION if error.status == 403 else Problem.UNAVAILABLE
        needs = ", ".join(report.permissions)
        raise ServiceError(
            f"{config.name}: report {report.key!r} could not be read ({error}); it needs {needs}",
            problem,
        ) from error
    return ReportResult(
        report=report, tenant=config.name, generated=now, days=chosen_days, rows=rows
    )
