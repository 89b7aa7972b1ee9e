"""The notification outbox: every e-mail dirguard sends, from queued to sent or failed.

Registered on the same metadata as :mod:`dirguard.store.models` (imported at its end). A message
is rendered once, when it is queued, and stored as it will be sent (subject, HTML body,
recipients, attachments), so a retry sends exactly the same thing. ``status`` is ``pending``
until Graph accepted it (``sent``) or every attempt failed (``failed``); ``attempts``,
``next_attempt_at`` and ``last_error`` say how the deliveries went. No secret is ever stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dirguard.store.column_types import StoredJson, utcnow
from dirguard.store.models import Base

NOTIFICATION_STATES = ("pending", "sent", "failed")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    template: Mapped[str] = mapped_column(String(128))
    tenant: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(320))
    """The mailbox sent through (``users/{sender}/sendMail``)."""
    send_as: Mapped[str | None] = mapped_column(String(320))
    recipients: Mapped[list[str]] = mapped_column(StoredJson(), default=list)
    subject: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(StoredJson(), default=list)
    """``{"name", "content_type", "content": bytes}`` each."""
    requested_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
