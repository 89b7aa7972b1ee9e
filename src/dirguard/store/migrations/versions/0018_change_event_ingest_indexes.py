"""Three indexes of ``change_events`` that no query uses are dropped: every event a capture
stores updated them (a 10,000-member burst is 10,000 rows in every index of the table).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

- ``(actor, occurred_at)`` and ``(occurred_at)``: every query that compares times compares the
  timeline (``timeline_at``, or ``COALESCE(occurred_at, observed_at)`` where it also needs the
  events without a source time), which no index on ``occurred_at`` serves; queries for an actor
  go through ``(actor, timeline_at, id)`` (the Changes page, the actor filter), or compare
  ``lower(actor)``, which no plain index serves; ``actor IS NULL`` (the events still to be
  attributed) is served by ``(actor, timeline_at, id)`` as well.
- ``(correlation_id)``: correlation ids are only matched in Python against audit records, and
  the one query naming the column (the events to attribute) tests it inside an ``OR`` with a
  time range, where SQLite and PostgreSQL scan the source's unattributed events anyway.

Checked with ``EXPLAIN QUERY PLAN`` of every statement on ``change_events`` that the store,
capture, rollback, history, threats, web and who tests run (see ``bench/README.md``).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DROPPED = (
    ("actor_occurred_at", ["actor", "occurred_at"]),
    ("occurred_at", ["occurred_at"]),
    ("correlation_id", ["correlation_id"]),
)


def upgrade() -> None:
    for name, _ in DROPPED:
        op.drop_index(op.f(f"ix_change_events_{name}"), table_name="change_events")


def downgrade() -> None:
    for name, columns in DROPPED:
        op.create_index(op.f(f"ix_change_events_{name}"), "change_events", columns)
