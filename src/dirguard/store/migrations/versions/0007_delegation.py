"""Delegated administration: roles, scopes and assignments (``store/models_admin.py``).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dirguard.store.column_types import StoredJson, UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _definitions(name: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("definition", StoredJson(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("name", name=op.f(f"uq_{name}_name")),
    )


def upgrade() -> None:
    _definitions("delegation_roles")
    _definitions("delegation_scopes")
    op.create_table(
        "delegation_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("trustee_kind", sa.String(length=32), nullable=False),
        sa.Column("trustee_ident", sa.String(length=1024), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["delegation_roles.id"],
            name=op.f("fk_delegation_assignments_role_id_delegation_roles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"],
            ["delegation_scopes.id"],
            name=op.f("fk_delegation_assignments_scope_id_delegation_scopes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delegation_assignments")),
        sa.UniqueConstraint(
            "role_id",
            "scope_id",
            "trustee_kind",
            "trustee_ident",
            name=op.f("uq_delegation_assignments_role_id_scope_id_trustee_kind_trustee_ident"),
        ),
    )
    op.create_index(
        op.f("ix_delegation_assignments_trustee_kind_trustee_ident"),
        "delegation_assignments",
        ["trustee_kind", "trustee_ident"],
    )


def downgrade() -> None:
    op.drop_table("delegation_assignments")
    op.drop_table("delegation_scopes")
    op.drop_table("delegation_roles")
