"""Change search: each event's place on the timeline as a column, the indexes that keep keyset
pages fast at millions of events, and the saved searches of the console.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

``change_events.timeline_at`` is when the change occurred, or when dirguard observed it where the
source does not say — the moment every history query already compares against, now stored so
that an index can order by it (``(timeline_at, id)`` is the keyset of the changes timeline). Both
times it is made of are covered by the event's digest and never change, so it is filled once,
here for the events already stored and by :func:`dirguard.store.events.append_events` from now on.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from dirguard.store.column_types import StoredJson, UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("timeline_at_id", ["timeline_at", "id"]),
    ("source_timeline_at_id", ["source", "timeline_at", "id"]),
    ("object_id_timeline_at_id", ["object_id", "timeline_at", "id"]),
    ("actor_timeline_at_id", ["actor", "timeline_at", "id"]),
    ("attribute_timeline_at_id", ["attribute", "timeline_at", "id"]),
)
"""The keyset of the timeline alone and behind each filter that narrows it most."""


def upgrade() -> None:
    with op.batch_alter_table("change_events") as batch:
        batch.add_column(sa.Column("timeline_at", UtcDateTime(), nullable=True))
    op.execute(
        "UPDATE change_events SET timeline_at = COALESCE(occurred_at, observed_at)"
        " WHERE timeline_at IS NULL"
    )
    with op.batch_alter_table("change_events") as batch:
        batch.alter_column("timeline_at", existing_type=UtcDateTime(), nullable=False)
    for name, columns in INDEXES:
        op.create_index(op.f(f"ix_change_events_{name}"), "change_events", columns)

    op.create_table(
        "saved_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("filter", StoredJson(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_searches")),
        sa.UniqueConstraint("owner", "name", name=op.f("uq_saved_searches_owner_name")),
    )
    op.create_index(op.f("ix_saved_searches_shared"), "saved_searches", ["shared"])


def downgrade() -> None:
    op.drop_table("saved_searches")
    for name, _ in INDEXES:
        op.drop_index(op.f(f"ix_change_events_{name}"), "change_events")
    with op.batch_alter_table("change_events") as batch:
        batch.drop_column("timeline_at")
