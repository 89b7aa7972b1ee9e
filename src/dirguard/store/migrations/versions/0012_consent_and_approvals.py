"""The console's own state: each consent check of a connection, and four-eyes plan approvals.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

Types spelled out as in 0001: ``UtcDateTime`` is ``DateTime(timezone=True)``, ``StoredJson`` is
JSON (JSONB on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consent_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_by", sa.String(length=255), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=True),
        sa.Column("missing", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_checks")),
    )
    op.create_index(
        op.f("ix_consent_checks_source_checked_at"), "consent_checks", ["source", "checked_at"]
    )
    op.create_table(
        "plan_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=255), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["restore_plans.id"],
            name=op.f("fk_plan_approvals_plan_id_restore_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_approvals")),
        sa.UniqueConstraint(
            "plan_id", "approved_by", name=op.f("uq_plan_approvals_plan_id_approved_by")
        ),
    )


def downgrade() -> None:
    op.drop_table("plan_approvals")
    op.drop_index(op.f("ix_consent_checks_source_checked_at"), table_name="consent_checks")
    op.drop_table("consent_checks")
