"""Objects are found by Graph id / objectGUID alone and by distinguished name (the console's
link names, resolved in bulk): index ``external_id`` and ``path``.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_objects_external_id", "objects", ["external_id"])
    op.create_index("ix_objects_path", "objects", ["path"])


def downgrade() -> None:
    op.drop_index("ix_objects_path", table_name="objects")
    op.drop_index("ix_objects_external_id", table_name="objects")
