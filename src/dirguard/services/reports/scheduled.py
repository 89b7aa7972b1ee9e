"""Scheduled reports as jobs of the scheduler (kind ``report``, key: the schedule's name): due
when a firing of its cron expression has passed since it last started (before its first run:
within the day before), run by reading the report now and e-mailing it as XLSX through the
notification service. Approval requests' expiry and escalation ride along as kind
``approvals`` (every pass)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from dirguard.core.rules_schedule import due
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard.services.scheduler.jobs import last_started, register_job_kind

KIND = "report"


def reports_due(runtime: Runtime, now: datetime) -> list[str]:
    return [
        s.name
        for s in runtime.config.reports.schedules
        if due(s.schedule, last_started(runtime, KIND, s.name), now, now - timedelta(days=1))
    ]


def send_report(runtime: Runtime, name: str) -> Mapping[str, Any]:
    """Read the schedule's report now and e-mail it as XLSX; what was sent."""
    from dirguard.services.notifications.mail import Attachment
    from dirguard.services.notifications.outbox import notify
    from dirguard.services.reports.export import XLSX_TYPE, file_name, to_xlsx
    from dirguard.services.reports.run import run_report

    schedule = next((s for s in runtime.config.reports.schedules if s.name == name), None)
    if schedule is None:
        raise ServiceError(f"no report schedule {name!r}", Problem.NOT_FOUND)
    result = run_report(runtime, schedule.report, tenant=schedule.tenant, days=schedule.days)
    attached = file_name(result, "xlsx")
    done = notify(
        runtime,
        "report",
        {
            "title": result.report.title,
            "description": result.report.description,
            "tenant": result.tenant,
            "generated": result.generated.isoformat(timespec="seconds"),
            "rows": len(result.rows),
            "file_name": attached,
        },
        schedule.to,
        [Attachment(name=attached, content_type=XLSX_TYPE, content=to_xlsx(result))],
    )
    return {
        "report": schedule.report,
        "rows": len(result.rows),
        "notification": done.id,
        "status": done.status,
    }


def approvals_due(runtime: Runtime, now: datetime) -> list[str]:
    """``sweep`` when some pending request is overdue or waits for escalation."""
    from sqlalchemy import or_, select

    from dirguard.store.models_approvals import ApprovalRequest

    with runtime.sessions() as session:
        found = session.scalars(
            select(ApprovalRequest.id)
            .where(
                ApprovalRequest.status == "pending",
                or_(
                    ApprovalRequest.expires_at <= now,
                    (ApprovalRequest.escalate_at <= now) & ApprovalRequest.escalated_at.is_(None),
                ),
            )
            .limit(1)
        ).first()
    return [] if found is None else ["sweep"]


def sweep_approvals(runtime: Runtime, key: str) -> Mapping[str, Any]:
    from dirguard.services.approvals.requests import sweep

    swept = sweep(runtime)
    return {"expired": swept.expired, "escalated": swept.escalated}


def notifications_due(runtime: Runtime, now: datetime) -> list[str]:
    """``deliver`` when some queued message's next attempt is due."""
    from sqlalchemy import select

    from dirguard.store.models_notifications import Notification

    with runtime.sessions() as session:
        found = session.scalars(
            select(Notification.id)
            .where(Notification.status == "pending", Notification.next_attempt_at <= now)
            .limit(1)
        ).first()
    return [] if found is None else ["deliver"]


def deliver_notifications(runtime: Runtime, key: str) -> Mapping[str, Any]:
    from dirguard.services.notifications.outbox import deliver_due

    done = deliver_due(runtime)
    return {
        "delivered": [d.id for d in done if d.status == "sent"],
        "failed": [d.id for d in done if d.status == "failed"],
    }


register_job_kind(KIND, due=reports_due, run=send_report)
register_job_kind("approvals", due=approvals_due, run=sweep_approvals)
register_job_kind("notifications", due=notifications_due, run=deliver_notifications)
