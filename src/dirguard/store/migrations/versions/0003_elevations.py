"""Just-in-time elevations: each group membership granted for a rollback, until it is removed.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Types spelled out as in 0001: ``UtcDateTime`` is ``DateTime(timezone=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "elevations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("account", sa.String(length=255), nullable=False),
        sa.Column("account_dn", sa.Text(), nullable=False),
        sa.Column("group_name", sa.String(length=255), nullable=False),
        sa.Column("group_dn", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["restore_plans.id"],
            name=op.f("fk_elevations_plan_id_restore_plans"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_elevations")),
    )
    op.create_index(op.f("ix_elevations_source_status"), "elevations", ["source", "status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_elevations_source_status"), table_name="elevations")
    op.drop_table("elevations")
