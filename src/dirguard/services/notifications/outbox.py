"""The notification use cases: queue an e-mail (rendered from a template, stored as it will be
sent), deliver what is due, list the outbox, and retry a failed message.

A message is delivered at once when it is queued (:func:`notify`) and, if Graph did not take it,
again by :func:`deliver_due` — called by ``dirguard notifications deliver``, ``dirguard serve``'s
scheduler and the monitor — after ``retry_seconds``, doubling each time up to
``retry_max_seconds`` (or later, when a 429 asks for longer), until ``max_attempts``. Then it is
``failed``, with its last error, in the outbox that the console and ``dirguard notifications``
show, and in the audit log. Errors that waiting cannot fix (a refused recipient, no mailbox, no
Send As right) fail at the first attempt.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from dirguard.config.notifications_schema import NotificationsConfig
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.notifications.mail import Attachment, DeliveryFailed, OutgoingMail, send
from dirguard.services.notifications.templates import TemplateProblem, find_template, render
from dirguard.services.runtime import Runtime, choose_entra_tenant
from dirguard.store.audit import SELF, AuditOutcome, record_audit
from dirguard.store.models_notifications import NOTIFICATION_STATES, Notification


@dataclass(frozen=True, kw_only=True)
class Delivery:
    id: int
    status: str
    attempts: int
    error: str | None


def _settings(runtime: Runtime) -> tuple[NotificationsConfig, str, str]:
    settings = runtime.config.notifications
    tenant = choose_entra_tenant(runtime.config, settings.tenant).name
    if not settings.sender:
        raise ServiceError(
            "[notifications] sender is not set: name the mailbox mail is sent through "
            "(the service account's or a shared mailbox)",
            Problem.CONFIG,
        )
    return settings, tenant, settings.sender


def _check_addresses(to: Sequence[str]) -> list[str]:
    addresses = [a.strip() for a in to if a and a.strip()]
    if not addresses:
        raise ServiceError("a notification needs at least one recipient", Problem.CONFIG)
    for address in addresses:
        if "@" not in address or " " in address:
            raise ServiceError(f"not an e-mail address: {address!r}", Problem.CONFIG)
    return addresses


def queue(
    runtime: Runtime,
    template: str,
    context: Mapping[str, Any],
    to: Sequence[str],
    attachments: Sequence[Attachment] = (),
) -> int:
    """Store one message rendered from ``template``; its id. Nothing is sent yet."""
    settings, tenant, sender = _settings(runtime)
    recipients = _check_addresses(to)
    try:
        rendered = render(find_template(template, settings.templates_dir), dict(context))
    except TemplateProblem as error:
        raise ServiceError(str(error), Problem.CONFIG) from None
    now = runtime.clock()
    with runtime.sessions.begin() as session:
        row = Notification(
            template=template,
            tenant=tenant,
            sender=sender,
            send_as=settings.send_as,
            recipients=recipients,
            subject=rendered.subject,
            body_html=rendered.html,
            attachments=[
                {"name": a.name, "content_type": a.content_type, "content": a.content}
                for a in attachments
            ],
            requested_by=runtime.principal,
            created_at=now,
            status="pending",
            attempts=0,
            next_attempt_at=now,
        )
        session.add(row)
        session.flush()
        return row.id


def _outgoing(row: Notification) -> OutgoingMail:
    return OutgoingMail(
        tenant=row.tenant,
        sender=row.sender,
        send_as=row.send_as,
        to=list(row.recipients),
        subject=row.subject,
        html=row.body_html,
        attachments=[
            Attachment(name=a["name"], content_type=a["content_type"], content=a["content"])
            for a in row.attachments
        ],
    )


def _delay(settings: NotificationsConfig, attempts: int, asked: float | None) -> float:
    backoff: float = settings.retry_seconds * 2.0 ** max(attempts - 1, 0)
    return min(max(backoff, asked or 0.0), settings.retry_max_seconds)


def _attempt(runtime: Runtime, notification_id: int) -> Delivery:
    settings = runtime.config.notifications
    with runtime.sessions() as session:
        row = session.get(Notification, notification_id)
        if row is None or row.status != "pending":
            raise ServiceError(f"no pending notification {notification_id}", Problem.NOT_FOUND)
        mail = _outgoing(row)
    error: DeliveryFailed | None = None
    try:
        send(runtime, mail)
    except DeliveryFailed as failed:
        error = failed
    now = runtime.clock()
    with runtime.sessions.begin() as session:
        row = session.get(Notification, notification_id)
        assert row is not None
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.next_attempt_at, row.last_error = "sent", now, None, None
        else:
            row.last_error = str(error)[:2000]
            if error.retryable and row.attempts < settings.max_attempts:
                wait = _delay(settings, row.attempts, error.retry_after)
                row.next_attempt_at = now + timedelta(seconds=wait)
            else:
                row.status, row.next_attempt_at = "failed", None
                record_audit(
                    session,
                    SELF,
                    "notification.failed",
                    ", ".join(row.recipients),
                    {
                        "notification": row.id,
                        "template": row.template,
                        "subject": row.subject,
                        "attempts": row.attempts,
                        "error": row.last_error,
                    },
                    AuditOutcome.FAILED,
                )
        return Delivery(id=row.id, status=row.status, attempts=row.attempts, error=row.last_error)


def notify(
    runtime: Runtime,
    template: str,
    context: Mapping[str, Any],
    to: Sequence[str],
    attachments: Sequence[Attachment] = (),
) -> Delivery:
    """Queue one message and try to deliver it now (a failure leaves it queued for a retry)."""
    return _attempt(runtime, queue(runtime, template, context, to, attachments))


def deliver_due(runtime: Runtime, now: datetime | None = None) -> list[Delivery]:
    """Try every pending message whose next attempt is due; what happened to each."""
    moment = now or runtime.clock()
    with runtime.sessions() as session:
        due = session.scalars(
            select(Notification.id)
            .where(Notification.status == "pending", Notification.next_attempt_at <= moment)
            .order_by(Notification.id)
        ).all()
    return [_attempt(runtime, notification_id) for notification_id in due]


def retry(runtime: Runtime, notification_id: int) -> Delivery:
    """Queue a failed message again (a person fixed its cause) and try it now."""
    with runtime.sessions.begin() as session:
        row = session.get(Notification, notification_id)
        if row is None:
            raise ServiceError(f"no notification {notification_id}", Problem.NOT_FOUND)
        if row.status != "failed":
            raise ServiceError(
                f"notification {notification_id} is {row.status}; only a failed one is retried",
                Problem.CONFLICT,
            )
        row.status, row.attempts, row.next_attempt_at = "pending", 0, runtime.clock()
        record_audit(
            session,
            runtime.principal,
            "notification.retry",
            ", ".join(row.recipients),
            {"notification": row.id},
            AuditOutcome.SUCCEEDED,
        )
    return _attempt(runtime, notification_id)


@dataclass(frozen=True, kw_only=True)
class OutboxEntry:
    id: int
    template: str
    subject: str
    recipients: list[str]
    sender: str
    send_as: str | None
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None
    attachments: list[str]
    requested_by: str

    def as_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        for key in ("created_at", "next_attempt_at", "sent_at"):
            out[key] = out[key].isoformat() if out[key] else None
        return out


def outbox(runtime: Runtime, *, status: str | None = None, limit: int = 200) -> list[OutboxEntry]:
    """The newest messages first (only those in ``status`` when given)."""
    if status is not None and status not in NOTIFICATION_STATES:
        raise ServiceError(
            f"status {status!r}: one of {', '.join(NOTIFICATION_STATES)}", Problem.CONFIG
        )
    query = select(Notification).order_by(Notification.id.desc()).limit(limit)
    if status is not None:
        query = query.where(Notification.status == status)
    with runtime.sessions() as session:
        return [
            OutboxEntry(
                id=r.id,
                template=r.template,
                subject=r.subject,
                recipients=list(r.recipients),
                sender=r.sender,
                send_as=r.send_as,
                status=r.status,
                attempts=r.attempts,
                created_at=r.created_at,
                next_attempt_at=r.next_attempt_at,
                sent_at=r.sent_at,
                last_error=r.last_error,
                attachments=[a["name"] for a in r.attachments],
                requested_by=r.requested_by,
            )
            for r in session.scalars(query)
        ]
