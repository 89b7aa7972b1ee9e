"""The report fixtures (``tests/reports/tenant.py``), for the tests of this folder."""

from tests.reports.tenant import report_runtime, report_tenant

__all__ = ["report_runtime", "report_tenant"]
