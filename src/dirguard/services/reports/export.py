"""A report's rows as CSV (stdlib ``csv``) or XLSX (``openpyxl``, imported when asked for)."""

from __future__ import annotations

import csv
import io

from dirguard.services.reports.run import ReportResult

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(value: object) -> object:
    """Text a spreadsheet would run as a formula, quoted with a leading apostrophe (CSV
    injection, OWASP); numbers and booleans as they are."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def to_csv(result: ReportResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(result.header)
    for row in result.table():
        writer.writerow(["" if cell is None else _safe(cell) for cell in row])
    return out.getvalue()


def to_xlsx(result: ReportResult) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=result.report.title[:31])
    sheet.append(result.header)
    for row in result.table():
        sheet.append([_safe(cell) for cell in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def file_name(result: ReportResult, extension: str) -> str:
    stamp = result.generated.strftime("%Y%m%d-%H%M")
    return f"{result.report.key}-{result.tenant}-{stamp}.{extension}"
