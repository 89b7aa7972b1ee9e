"""Restore steps of any provider: provider, expected value, dependencies and produced ids.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

A step now says which provider performs it (``kind`` is that provider's operation name), the
value its object should hold (``expected``, until now inside the ``step`` JSON), the positions of
the earlier steps it depends on, the name of the id it produces for later steps and, once
applied, that id. Existing steps are AD's: provider ``ad``, ``expected`` copied out of ``step``,
no dependencies (they were applied in order, each on its own), nothing produced.

Types spelled out as in 0001: ``StoredJson`` is JSON (JSONB on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json_type() -> sa.types.TypeEngine[Any]:
    return sa.JSON(none_as_null=True).with_variant(
        postgresql.JSONB(none_as_null=True), "postgresql"
    )


def _steps_table() -> sa.TableClause:
    return sa.table(
        "restore_steps",
        sa.column("id", sa.BigInteger()),
        sa.column("step", _json_type()),
        sa.column("expected", _json_type()),
        sa.column("depends_on", _json_type()),
    )


def upgrade() -> None:
    with op.batch_alter_table("restore_steps") as batch:
        batch.add_column(
            sa.Column("provider", sa.String(length=32), nullable=False, server_default="ad")
        )
        batch.add_column(sa.Column("expected", _json_type(), nullable=True))
        batch.add_column(sa.Column("depends_on", _json_type(), nullable=True))
        batch.add_column(sa.Column("produces", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("produced_id", sa.String(length=255), nullable=True))
    steps = _steps_table()
    connection = op.get_bind()
    for row_id, step in connection.execute(sa.select(steps.c.id, steps.c.step)).all():
        expected = step.get("expected") if isinstance(step, dict) else None
        connection.execute(
            steps.update().where(steps.c.id == row_id).values(expected=expected, depends_on=[])
        )
    with op.batch_alter_table("restore_steps") as batch:
        batch.alter_column("provider", server_default=None)
        batch.alter_column("depends_on", existing_type=_json_type(), nullable=False)


def downgrade() -> None:
    # the expected value goes back into the step, where the older code reads it
    steps = _steps_table()
    connection = op.get_bind()
    query = sa.select(steps.c.id, steps.c.step, steps.c.expected)
    for row_id, step, expected in connection.execute(query).all():
        if isinstance(step, dict) and "expected" not in step:
            connection.execute(
                steps.update()
                .where(steps.c.id == row_id)
                .values(step={**step, "expected": expected})
            )
    with op.batch_alter_table("restore_steps") as batch:
        batch.drop_column("produced_id")
        batch.drop_column("produces")
        batch.drop_column("depends_on")
        batch.drop_column("expected")
        batch.drop_column("provider")
