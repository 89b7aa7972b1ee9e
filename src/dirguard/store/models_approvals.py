"""Approval requests: a web action that waits for approval (``[approvals]`` policies).

Registered on the same metadata as :mod:`dirguard.store.models` (imported at its end). The
request keeps what was asked (action, directory, object, parameters — never a password: a policy
cannot cover an action that takes one), who asked and the groups their sign-in carried (the
delegation is checked again for them when it runs), who may decide (named people, Entra group
ids, the target's manager as resolved when it was asked), and how it ended. Each decision is a
``plan_approvals`` row with ``request_id``; the request, every decision and the execution are
also in the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dirguard.store.column_types import StoredJson, utcnow
from dirguard.store.models import Base

REQUEST_STATES = ("pending", "rejected", "expired", "executed", "failed")
"""``pending`` until enough approvals (then it runs: ``executed`` or ``failed``), a rejection,
or its expiry."""


class ApprovalRequest(Base):
    __tablename__ = "approval_requests"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'rejected', 'expired', 'executed', 'failed')", name="status"
        ),
        Index(None, "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    policy: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(128))
    directory: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(255))
    """The domain's or tenant's configured name."""
    target: Mapped[str] = mapped_column(Text)
    params: Mapped[dict[str, Any]] = mapped_column(StoredJson(), default=dict)
    preview: Mapped[dict[str, Any]] = mapped_column(StoredJson(), default=dict)
    """What the action would change when it was asked (shown to approvers)."""
    reason: Mapped[str | None] = mapped_column(Text)
    requester: Mapped[str] = mapped_column(String(255))
    requester_groups: Mapped[list[str]] = mapped_column(StoredJson(), default=list)
    approvers: Mapped[list[str]] = mapped_column(StoredJson(), default=list)
    """Sign-in names that may decide (named, the manager, and escalation's additions)."""
    approver_groups: Mapped[list[str]] = mapped_column(StoredJson(), default=list)
    required: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    escalate_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(StoredJson(), nullable=True)
    """The execution's audit id and object, or why it failed, expired or was rejected."""
