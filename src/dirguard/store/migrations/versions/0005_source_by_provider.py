"""Store keys namespaced by provider: ``corp.example.com`` becomes ``ad:corp.example.com``.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Until now the ``source`` column held the configured name, unique only within AD or within Entra,
so an AD domain and a tenant both called ``contoso.com`` shared one object namespace and one
hash chain. Which provider a row belongs to:

- ``objects``: its resource type (``ad.*`` is AD; ``entra.*``, ``intune.*``, ``exchange.*``,
  ``azure.*`` belong to the tenant);
- ``change_events``: its object's;
- ``cursors``: its stream (Graph ``delta:*`` and ``directoryAudits`` are the tenant's, DirSync
  cookies and AD audit positions are AD's);
- ``restore_plans`` and ``elevations``: AD (their steps are LDAP operations, elevations are AD
  group memberships);
- ``runs``: each name of its source list is AD's unless the store holds that name's objects
  only as the tenant's.

The digest of an event covers its source, so every chain is written again under its new key,
link by link: an event that fitted the old chain gets the digest that fits the new one; one that
did not (changed, or after a gap) keeps its old digest, so :func:`verify_chain` reports exactly
the same sequence numbers as before. Sequence numbers stay as they were, unless one old chain
held events of both providers: each part is then numbered 1, 2, 3… on its own.

Downgrade strips the prefixes again (the same re-chaining), and refuses when a name is used by
both providers: their rows cannot share one key again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from dirguard.store.column_types import StoredJson, UtcDateTime
from dirguard.store.events import event_digest
from dirguard.store.models import ChangeEvent

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AD, ENTRA = "ad", "entra"
BATCH = 1000

_objects = sa.table(
    "objects",
    sa.column("id", sa.Integer()),
    sa.column("source", sa.String()),
    sa.column("resource_type", sa.String()),
)
_events = sa.table(
    "change_events",
    sa.column("id", sa.BigInteger()),
    sa.column("source", sa.String()),
    sa.column("sequence", sa.BigInteger()),
    sa.column("object_id", sa.Integer()),
    sa.column("op", sa.String()),
    sa.column("attribute", sa.String()),
    sa.column("old_value", StoredJson()),
    sa.column("new_value", StoredJson()),
    sa.column("occurred_at", UtcDateTime()),
    sa.column("observed_at", UtcDateTime()),
    sa.column("correlation_id", sa.String()),
    sa.column("prev_digest", sa.String()),
    sa.column("digest", sa.String()),
)
_cursors = sa.table("cursors", sa.column("source", sa.String()), sa.column("stream", sa.String()))
_runs = sa.table("runs", sa.column("id", sa.Integer()), sa.column("source", sa.String()))
_AD_ONLY = tuple(
    sa.table(name, sa.column("source", sa.String())) for name in ("restore_plans", "elevations")
)
_SEPARATOR = ", "
"""Between the names of a monitor run's source list."""


def _name(key: str) -> str:
    return key.partition(":")[2]


def _digest(row: Any, source: str, sequence: int, prev: str | None) -> str:
    """The digest ``row`` carries as event ``sequence`` of ``source`` after ``prev``."""
    event = ChangeEvent(
        source=source,
        sequence=sequence,
        object_id=row.object_id,
        op=row.op,
        attribute=row.attribute,
        old_value=row.old_value,
        new_value=row.new_value,
        occurred_at=row.occurred_at,
        observed_at=row.observed_at,
        correlation_id=row.correlation_id,
    )
    return event_digest(event, prev)


def _rechain(bind: sa.Connection, old: str) -> None:
    """Move the events of chain ``old`` to their objects' (already changed) sources."""
    joined = _events.join(_objects, _events.c.object_id == _objects.c.id)
    parts = bind.scalar(
        sa.select(sa.func.count(sa.distinct(_objects.c.source)))
        .select_from(joined)
        .where(_events.c.source == old)
    )
    renumber = (parts or 0) > 1
    update = (
        _events.update()
        .where(_events.c.id == sa.bindparam("event_id"))
        .values(
            source=sa.bindparam("to_source"),
            sequence=sa.bindparam("to_sequence"),
            prev_digest=sa.bindparam("to_prev"),
            digest=sa.bindparam("to_digest"),
        )
    )
    expected, old_prev = 1, None
    heads: dict[str, tuple[int, str | None]] = {}
    last = 0
    while True:
        rows = bind.execute(
            sa.select(*_events.c, _objects.c.source.label("to"))
            .select_from(joined)
            .where(_events.c.source == old, _events.c.sequence > last)
            .order_by(_events.c.sequence)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        changes = []
        for row in rows:
            fits = (
                row.sequence == expected
                and row.prev_digest == old_prev
                and row.digest == _digest(row, old, row.sequence, old_prev)
            )
            expected, old_prev, last = row.sequence + 1, row.digest, row.sequence
            count, prev = heads.get(row.to, (0, None))
            sequence = count + 1 if renumber else row.sequence
            digest = _digest(row, row.to, sequence, prev) if fits else row.digest
            heads[row.to] = (sequence, digest)
            changes.append(
                {
                    "event_id": row.id,
                    "to_source": row.to,
                    "to_sequence": sequence,
                    "to_prev": prev,
                    "to_digest": digest,
                }
            )
        bind.execute(update, changes)


def _rechain_all(bind: sa.Connection, old_sources: list[str]) -> None:
    for old in old_sources:
        _rechain(bind, old)


def _event_sources(bind: sa.Connection) -> list[str]:
    return list(bind.scalars(sa.select(_events.c.source).distinct()))


def _rename_runs(bind: sa.Connection, rename: Callable[[str], str]) -> None:
    rows = bind.execute(sa.select(_runs.c.id, _runs.c.source).where(_runs.c.source.is_not(None)))
    changes = [
        {"run_id": run_id, "to_source": _SEPARATOR.join(map(rename, source.split(_SEPARATOR)))}
        for run_id, source in rows
    ]
    if changes:
        bind.execute(
            _runs.update()
            .where(_runs.c.id == sa.bindparam("run_id"))
            .values(source=sa.bindparam("to_source")),
            changes,
        )


def upgrade() -> None:
    bind = op.get_bind()
    old_sources = _event_sources(bind)
    is_ad = _objects.c.resource_type.like("ad.%")
    bind.execute(
        _objects.update().values(
            source=sa.case((is_ad, f"{AD}:"), else_=f"{ENTRA}:") + _objects.c.source
        )
    )
    _rechain_all(bind, old_sources)
    graph_stream = _cursors.c.stream.like("delta:%") | (_cursors.c.stream == "directoryAudits")
    bind.execute(
        _cursors.update().values(
            source=sa.case((graph_stream, f"{ENTRA}:"), else_=f"{AD}:") + _cursors.c.source
        )
    )
    for table in _AD_ONLY:
        bind.execute(table.update().values(source=f"{AD}:" + table.c.source))
    keys = set(bind.scalars(sa.select(_objects.c.source).distinct()))
    tenant_only = {_name(k) for k in keys if k.startswith(f"{ENTRA}:")} - {
        _name(k) for k in keys if k.startswith(f"{AD}:")
    }
    _rename_runs(bind, lambda name: f"{ENTRA if name in tenant_only else AD}:{name}")


def downgrade() -> None:
    bind = op.get_bind()
    keys = list(bind.scalars(sa.select(_objects.c.source).distinct()))
    names = [_name(k) for k in keys]
    if shared := sorted({n for n in names if names.count(n) > 1}):
        raise RuntimeError(
            f"cannot downgrade below 0005: {', '.join(shared)} is the name of both an AD domain "
            "and a tenant in this store; before 0005 they would share one key"
        )
    old_sources = _event_sources(bind)
    for table in (_objects, _cursors, *_AD_ONLY):
        bind.execute(table.update().values(source=_after_colon(bind, table.c.source)))
    _rechain_all(bind, old_sources)
    _rename_runs(bind, _name)


def _after_colon(bind: sa.Connection, column: sa.ColumnClause[Any]) -> sa.ColumnElement[Any]:
    """SQL for the part of ``column`` after its first ``:`` (the configured name)."""
    position = (
        sa.func.strpos(column, ":")
        if bind.dialect.name == "postgresql"
        else sa.func.instr(column, ":")
    )
    return sa.func.substr(column, position + 1)
