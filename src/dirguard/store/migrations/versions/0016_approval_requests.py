"""Approval requests for web actions (``store/models_approvals.py``); ``plan_approvals`` holds
their decisions too: ``request_id``, ``decision`` (approve / reject), ``plan_id`` now optional.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dirguard.store.column_types import StoredJson, UtcDateTime

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=128), nullable=False),
        sa.Column("directory", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("params", StoredJson(), nullable=False),
        sa.Column("preview", StoredJson(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requester", sa.String(length=255), nullable=False),
        sa.Column("requester_groups", StoredJson(), nullable=False),
        sa.Column("approvers", StoredJson(), nullable=False),
        sa.Column("approver_groups", StoredJson(), nullable=False),
        sa.Column("required", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
        sa.Column("escalate_at", UtcDateTime(), nullable=True),
        sa.Column("escalated_at", UtcDateTime(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("result", StoredJson(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'rejected', 'expired', 'executed', 'failed')",
            name=op.f("ck_approval_requests_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_requests")),
    )
    op.create_index(
        op.f("ix_approval_requests_status_expires_at"),
        "approval_requests",
        ["status", "expires_at"],
    )
    with op.batch_alter_table("plan_approvals") as table:
        table.alter_column("plan_id", existing_type=sa.Integer(), nullable=True)
        table.add_column(sa.Column("request_id", sa.Integer(), nullable=True))
        table.add_column(
            sa.Column("decision", sa.String(length=16), nullable=False, server_default="approve")
        )
        table.create_foreign_key(
            op.f("fk_plan_approvals_request_id_approval_requests"),
            "approval_requests",
            ["request_id"],
            ["id"],
            ondelete="CASCADE",
        )
        table.create_unique_constraint(
            op.f("uq_plan_approvals_request_id_approved_by"), ["request_id", "approved_by"]
        )
        table.create_check_constraint(
            op.f("ck_plan_approvals_decision"), "decision IN ('approve', 'reject')"
        )


def downgrade() -> None:
    with op.batch_alter_table("plan_approvals") as table:
        table.drop_constraint(op.f("ck_plan_approvals_decision"), type_="check")
        table.drop_constraint(op.f("uq_plan_approvals_request_id_approved_by"), type_="unique")
        table.drop_constraint(
            op.f("fk_plan_approvals_request_id_approval_requests"), type_="foreignkey"
        )
        table.drop_column("decision")
        table.drop_column("request_id")
        table.alter_column("plan_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index(op.f("ix_approval_requests_status_expires_at"), table_name="approval_requests")
    op.drop_table("approval_requests")
