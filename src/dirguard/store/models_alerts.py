"""The Guardian's alert tables: every match of a threat rule (``threat_hits``) and the alerts
they make (``alerts``), grouped per incident.

Registered on the same metadata as :mod:`dirguard.store.models` (which imports this module at its
end). A hit names the rule and the change event (or, for an exposure check, the object) it
matched, once: ``(rule_id, event_id)`` is unique, so the monitor and ``dirguard threats scan``
never count one change twice. An alert is Open until someone resolves or dismisses it (who, why
and when are kept); its ``undo`` records what auto-undo did.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dirguard.store.column_types import BigIntegerId, StoredJson, utcnow
from dirguard.store.models import Base

ALERT_STATES = ("open", "resolved", "dismissed")


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved', 'dismissed')", name="status"),
        Index(None, "rule_id", "group_key", "status"),
        Index(None, "status", "last_seen"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    directory: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(255))
    group_key: Mapped[str] = mapped_column(String(1024))
    """What repeats are grouped by (the rule's ``grouping.by``: actor, object…)."""
    status: Mapped[str] = mapped_column(String(16), default="open")
    actor: Mapped[str | None] = mapped_column(String(512))
    actor_address: Mapped[str | None] = mapped_column(String(255))
    target: Mapped[str | None] = mapped_column(Text)
    """The object the first match was about (DN or path)."""
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(StoredJson(), default=dict)
    """The rule's metadata (MITRE, rationale, remediation) as it was when the alert was raised."""
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)
    hit_count: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_notified: Mapped[datetime | None]
    notifications: Mapped[dict[str, Any]] = mapped_column(StoredJson(), default=dict)
    """Per channel: how many were sent, throttled or failed, and the last error."""
    undo: Mapped[dict[str, Any] | None] = mapped_column(StoredJson(), nullable=True)
    """What auto-undo did: plan id, status, or why it did not (allowed actor, loop)."""
    state_by: Mapped[str | None] = mapped_column(String(255))
    state_reason: Mapped[str | None] = mapped_column(Text)
    state_at: Mapped[datetime | None]


class ThreatHit(Base):
    __tablename__ = "threat_hits"
    __table_args__ = (
        UniqueConstraint("rule_id", "event_id"),
        Index(None, "rule_id", "group_key", "at"),
        Index(None, "alert_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(255))
    group_key: Mapped[str] = mapped_column(String(1024))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("change_events.id", ondelete="CASCADE"))
    object_id: Mapped[int | None] = mapped_column(ForeignKey("objects.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    """``None`` while the rule's threshold is not reached."""
