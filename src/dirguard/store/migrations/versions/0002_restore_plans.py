"""Restore plans and their steps (rollback, restore, undelete).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Types spelled out as in 0001: ``UtcDateTime`` is ``DateTime(timezone=True)``, ``StoredJson`` is
JSON (JSONB on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json(name: str) -> sa.Column[object]:
    return sa.Column(
        name,
        sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "restore_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        _json("selection"),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restore_plans")),
    )
    op.create_index(
        op.f("ix_restore_plans_source_created_at"), "restore_plans", ["source", "created_at"]
    )
    op.create_table(
        "restore_steps",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("object_external_id", sa.String(length=255), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("attribute", sa.String(length=512), nullable=True),
        _json("step"),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("conflict", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["restore_plans.id"],
            name=op.f("fk_restore_steps_plan_id_restore_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_restore_steps")),
        sa.UniqueConstraint("plan_id", "position", name=op.f("uq_restore_steps_plan_id_position")),
    )


def downgrade() -> None:
    op.drop_table("restore_steps")
    op.drop_table("restore_plans")
