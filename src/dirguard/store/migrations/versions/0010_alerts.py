"""Alerts and threat hits (``store/models_alerts.py``).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dirguard.store.column_types import BigIntegerId, StoredJson, UtcDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("directory", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("group_key", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=512), nullable=True),
        sa.Column("actor_address", sa.String(length=255), nullable=True),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("details", StoredJson(), nullable=False),
        sa.Column("first_seen", UtcDateTime(), nullable=False),
        sa.Column("last_seen", UtcDateTime(), nullable=False),
        sa.Column("hit_count", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_notified", UtcDateTime(), nullable=True),
        sa.Column("notifications", StoredJson(), nullable=False),
        sa.Column("undo", StoredJson(), nullable=True),
        sa.Column("state_by", sa.String(length=255), nullable=True),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("state_at", UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'resolved', 'dismissed')", name=op.f("ck_alerts_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    op.create_index(
        op.f("ix_alerts_rule_id_group_key_status"), "alerts", ["rule_id", "group_key", "status"]
    )
    op.create_index(op.f("ix_alerts_status_last_seen"), "alerts", ["status", "last_seen"])
    op.create_table(
        "threat_hits",
        sa.Column("id", BigIntegerId, nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("group_key", sa.String(length=1024), nullable=False),
        sa.Column("event_id", BigIntegerId, nullable=True),
        sa.Column("object_id", sa.Integer(), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["change_events.id"],
            name=op.f("fk_threat_hits_event_id_change_events"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["object_id"],
            ["objects.id"],
            name=op.f("fk_threat_hits_object_id_objects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_threat_hits_alert_id_alerts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threat_hits")),
        sa.UniqueConstraint("rule_id", "event_id", name=op.f("uq_threat_hits_rule_id_event_id")),
    )
    op.create_index(
        op.f("ix_threat_hits_rule_id_group_key_at"), "threat_hits", ["rule_id", "group_key", "at"]
    )
    op.create_index(op.f("ix_threat_hits_alert_id"), "threat_hits", ["alert_id"])


def downgrade() -> None:
    op.drop_table("threat_hits")
    op.drop_table("alerts")
