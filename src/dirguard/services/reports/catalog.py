"""The reports, declared once: key, title, description, the feature whose permissions they need
(``catalog/features_administrator.py`` "reports"), their columns and their one parameter."""

from __future__ import annotations

from dataclasses import dataclass

from dirguard.services.errors import Problem, ServiceError


class ReportInputError(ValueError):
    """A report's parameter is wrong (the API answers 422, the CLI exits 1)."""


FEATURE = "administrator.reports"
"""The administrator feature (``catalog.features_administrator``) every report belongs to."""

Cell = str | int | bool | None


@dataclass(frozen=True, kw_only=True)
class Column:
    key: str
    title: str


@dataclass(frozen=True, kw_only=True)
class Report:
    key: str
    title: str
    description: str
    permissions: tuple[str, ...]
    """The Graph application permissions its reads need (all part of :data:`FEATURE`'s set or
    of the base read permissions)."""
    columns: tuple[Column, ...]
    days: int | None = None
    """The default of its ``days`` parameter; ``None``: it takes none."""
    days_help: str = ""
    feature: str = FEATURE
    chart: Chart | None = None
    """How the console draws it, when people would rather look than read."""


@dataclass(frozen=True, kw_only=True)
class Chart:
    """A horizontal bar chart: one group of bars per value of ``label`` — per row (``values``:
    the numeric columns drawn), or, with ``count_by``, the rows counted per label and split by
    that boolean column (true and false bars)."""

    label: str
    values: tuple[Column, ...] = ()
    count_by: Column | None = None
    count_titles: tuple[str, str] = ("yes", "no")


def _cols(*pairs: tuple[str, str]) -> tuple[Column, ...]:
    return tuple(Column(key=key, title=title) for key, title in pairs)


_USER = (("display_name", "Name"), ("user_principal_name", "User principal name"))
_SIGN_IN = (
    ("user_type", "Type"),
    ("account_enabled", "Enabled"),
    ("last_sign_in", "Last sign-in"),
    ("last_successful_sign_in", "Last successful sign-in"),
    ("days_since_sign_in", "Days since"),
)

REPORTS: tuple[Report, ...] = (
    Report(
        key="last-sign-in",
        title="Last sign-in",
        description="Every user and guest with their last interactive and last successful"
        " sign-in (signInActivity).",
        permissions=("Directory.Read.All", "AuditLog.Read.All"),
        columns=_cols(*_USER, *_SIGN_IN),
    ),
    Report(
        key="inactive-users",
        title="Inactive users and guests",
        description="Users and guests whose last successful sign-in is older than the threshold,"
        " or who never signed in.",
        permissions=("Directory.Read.All", "AuditLog.Read.All"),
        columns=_cols(*_USER, *_SIGN_IN),
        days=90,
        days_help="Inactive for at least this many days",
    ),
    Report(
        key="users-without-mfa",
        title="Users without MFA methods",
        description="Enabled member users with no authentication method besides a password.",
        permissions=("Directory.Read.All", "UserAuthenticationMethod.Read.All"),
        columns=_cols(*_USER, ("account_enabled", "Enabled"), ("methods", "Methods")),
    ),
    Report(
        key="guests",
        title="Guests",
        description="Guest users: who invited them when, whether they accepted, their last"
        " sign-in.",
        permissions=("Directory.Read.All", "AuditLog.Read.All"),
        columns=_cols(
            *_USER,
            ("mail", "Mail"),
            ("created", "Created"),
            ("invitation_state", "Invitation"),
            ("last_successful_sign_in", "Last successful sign-in"),
        ),
    ),
    Report(
        key="stale-devices",
        title="Stale devices",
        description="Devices whose approximate last sign-in is older than the threshold.",
        permissions=("Device.Read.All",),
        columns=_cols(
            ("display_name", "Device"),
            ("operating_system", "Operating system"),
            ("account_enabled", "Enabled"),
            ("last_sign_in", "Approximate last sign-in"),
            ("days_since_sign_in", "Days since"),
        ),
        days=90,
        days_help="No sign-in for at least this many days",
    ),
    Report(
        key="privileged-roles",
        title="Privileged role holders",
        description="Members of every activated directory role.",
        permissions=("RoleManagement.Read.Directory", "Directory.Read.All"),
        columns=_cols(
            ("role", "Role"),
            ("display_name", "Member"),
            ("user_principal_name", "User principal name"),
            ("member_type", "Member type"),
        ),
    ),
    Report(
        key="expiring-credentials",
        title="Application credentials expiring",
        description="Application secrets and certificates that expire within the window (or"
        " have expired).",
        permissions=("Application.Read.All",),
        columns=_cols(
            ("application", "Application"),
            ("app_id", "Application (client) id"),
            ("kind", "Kind"),
            ("credential", "Credential"),
            ("expires", "Expires"),
            ("days_left", "Days left"),
        ),
        days=30,
        days_help="Expiring within this many days",
    ),
)


_USAGE = "Directory.Read.All", "AuditLog.Read.All", "Reports.Read.All"
REPORTS += (
    Report(
        key="license-optimization",
        title="License Optimization",
        description="Every assigned license with its user's last Microsoft 365 activity (usage"
        " reports) and last sign-in: in use, or unused within the period and worth reclaiming.",
        permissions=_USAGE,
        columns=_cols(
            ("sku", "License (SKU)"),
            *_USER,
            ("account_enabled", "Enabled"),
            ("last_successful_sign_in", "Last successful sign-in"),
            ("last_activity", "Last activity"),
            ("days_inactive", "Days inactive"),
            ("in_use", "In use"),
        ),
        days=30,
        days_help="Period in days (7, 30, 90 or 180)",
        chart=Chart(
            label="sku",
            count_by=Column(key="in_use", title="In use"),
            count_titles=("in use", "unused"),
        ),
    ),
    Report(
        key="service-adoption",
        title="Service Adoption",
        description="Per Microsoft 365 service: the users licensed for it and those active in it"
        " within the period (usage reports).",
        permissions=("Reports.Read.All",),
        columns=_cols(
            ("service", "Service"),
            ("licensed_users", "Licensed users"),
            ("active_users", "Active users"),
            ("inactive_users", "Inactive licensed users"),
            ("adoption_percent", "Adoption %"),
        ),
        days=30,
        days_help="Period in days (7, 30, 90 or 180)",
        chart=Chart(
            label="service",
            values=_cols(("licensed_users", "Licensed"), ("active_users", "Active")),
        ),
    ),
)


def find_report(key: str) -> Report:
    """The report ``key``, or a not-found error naming the known ones."""
    for report in REPORTS:
        if report.key == key:
            return report
    known = ", ".join(r.key for r in REPORTS)
    raise ServiceError(f"no report {key!r} (known: {known})", Problem.NOT_FOUND)


def check_days(report: Report, days: int | None) -> int | None:
    """The ``days`` to run ``report`` with: the default when not given; an error when the report
    takes none or the value is out of range."""
    if days is None:
        return report.days
    if report.days is None:
        raise ReportInputError(f"report {report.key!r} takes no days parameter")
    if not 0 <= days <= 3650:
        raise ReportInputError(f"days must be between 0 and 3650, not {days}")
    return days
