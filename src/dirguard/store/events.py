"""Appending change events to a tamper-evident chain, and checking the chain.

Events of one source are numbered 1, 2, 3… (``sequence``) and each carries
``digest = sha256(canonical JSON of {"prev": <previous digest>, "event": <content>})``, so
changing, removing or reordering a stored event breaks the chain from that point on.
:func:`verify_chain` lists the sequence numbers where it breaks.

What the digest covers: what the source reported — source, sequence, object, op, attribute, old
and new value, when it occurred, when it was observed, correlation id. It does not cover the
attribution (actor, actor source, actor address), which correlation fills in after the event is
stored (Entra's directoryAudits arrive minutes later), nor the run id (bookkeeping that is set to
NULL when an old run is purged). Truncating the tail of the chain is not detectable from the
chain alone; the run counters record how many events each run appended.

Concurrent writers to one source queue: on SQLite every write transaction holds the database's
write lock from its start (``BEGIN IMMEDIATE``, see :class:`dirguard.store.database.StoreSession`),
on PostgreSQL appenders take a transaction advisory lock on the source. Nothing is interleaved;
the unique ``(source, sequence)`` constraint stays as the last line of defence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, select, text
from sqlalchemy.orm import Session

from dirguard.core.change_op import ChangeOp
from dirguard.store import json_codec
from dirguard.store.bulk_insert import insert_many
from dirguard.store.column_types import utcnow
from dirguard.store.models import ChangeEvent, DirectoryObject, Run


@dataclass(frozen=True, kw_only=True)
class NewChangeEvent:
    """One change to append; the source is the object's, sequence and digest are computed."""

    object_id: int
    op: ChangeOp
    attribute: str | None = None
    old_value: Any = None
    new_value: Any = None
    actor: str | None = None
    actor_source: str | None = None
    actor_address: str | None = None
    occurred_at: datetime | None = None
    observed_at: datetime = field(default_factory=utcnow)
    correlation_id: str | None = None


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} in a change event; use UTC")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def event_digest(event: ChangeEvent, prev_digest: str | None) -> str:
    """The digest ``event`` must carry when it follows ``prev_digest`` in its chain."""
    return _digest(
        {
            "source": event.source,
            "sequence": event.sequence,
            "object_id": event.object_id,
            "op": event.op,
            "attribute": event.attribute,
            "old_value": json_codec.encode(event.old_value),
            "new_value": json_codec.encode(event.new_value),
            "occurred_at": _timestamp(event.occurred_at),
            "observed_at": _timestamp(event.observed_at),
            "correlation_id": event.correlation_id,
        },
        prev_digest,
    )


def _digest(content: dict[str, Any], prev_digest: str | None) -> str:
    payload = json_codec.canonical_bytes({"prev": prev_digest, "event": content})
    return hashlib.sha256(payload).hexdigest()


def _lock_chain(session: Session, source: str) -> None:
    """Serialize appenders of one chain until the transaction ends. PostgreSQL: a transaction
    advisory lock on the source (the head row's ``FOR UPDATE`` does not cover a chain that has
    no event yet). SQLite: the write transaction already holds the database's write lock."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:source, 0))"), {"source": source}
        )


def _chain_head(session: Session, source: str) -> tuple[int, str | None]:
    last = session.execute(
        select(ChangeEvent.sequence, ChangeEvent.digest)
        .where(ChangeEvent.source == source)
        .order_by(ChangeEvent.sequence.desc())
        .limit(1)
        .with_for_update()
    ).first()
    return (0, None) if last is None else (last.sequence, last.digest)


COLUMNS = (
    "source",
    "sequence",
    "object_id",
    "op",
    "attribute",
    "old_value",
    "new_value",
    "actor",
    "actor_source",
    "actor_address",
    "occurred_at",
    "observed_at",
    "timeline_at",
    "run_id",
    "correlation_id",
    "prev_digest",
    "digest",
)
"""The columns :func:`_chained_rows` fills, in the order of its tuples."""

_OPS = {op: op.value for op in ChangeOp}
"""An op (a :class:`ChangeOp` or its text: equal, same hash) to its stored text."""


def _chained_rows(
    session: Session, drafts: Sequence[NewChangeEvent], run: Run | None, *, serialized: bool
) -> list[tuple[Any, ...]]:
    """The rows of ``drafts`` in order (values in :data:`COLUMNS` order), each numbered and
    chained after its source's head (the chains locked until the transaction ends).
    ``serialized``: the values as the JSON text of the encoding the digest was computed over
    (encoded once, not again by the column).

    One pass per event: its values are encoded once (and known free of floats, so the digest's
    canonical bytes are one orjson call), each distinct timestamp is formatted once."""
    object_ids = {draft.object_id for draft in drafts}
    rows = session.execute(
        select(DirectoryObject.id, DirectoryObject.source).where(DirectoryObject.id.in_(object_ids))
    )
    sources = {object_id: source for object_id, source in rows}
    if missing := sorted(object_ids - sources.keys()):
        raise ValueError(f"change events refer to unknown object ids {missing}")
    heads: dict[str, tuple[int, str | None]] = {}
    run_id = run.id if run is not None else None
    stamps: dict[datetime | None, str | None] = {None: None}
    encode, plain_bytes = json_codec.encode_plain, json_codec.canonical_bytes_plain
    sha256 = hashlib.sha256
    chained: list[tuple[Any, ...]] = []
    for draft in drafts:
        object_id = draft.object_id
        source = sources[object_id]
        if source not in heads:
            _lock_chain(session, source)
            heads[source] = _chain_head(session, source)
        sequence, prev_digest = heads[source]
        sequence += 1
        op = _OPS.get(draft.op) or ChangeOp(draft.op).value  # ChangeOp names a bad op
        occurred, observed = draft.occurred_at, draft.observed_at
        try:
            occurred_text, observed_text = stamps[occurred], stamps[observed]
        except KeyError:
            occurred_text = stamps[occurred] = _timestamp(occurred)
            observed_text = stamps[observed] = _timestamp(observed)
        old, new = draft.old_value, draft.new_value
        # text and nothing (a linked value added or removed) encode as themselves
        old_plain = old is None or type(old) is str
        if not old_plain:
            old, old_plain = encode(old)
        new_plain = new is None or type(new) is str
        if not new_plain:
            new, new_plain = encode(new)
        payload = {
            "prev": prev_digest,
            "event": {
                "source": source,
                "sequence": sequence,
                "object_id": object_id,
                "op": op,
                "attribute": draft.attribute,
                "old_value": old,
                "new_value": new,
                "occurred_at": occurred_text,
                "observed_at": observed_text,
                "correlation_id": draft.correlation_id,
            },
        }
        canonical = (
            plain_bytes(payload) if old_plain and new_plain else json_codec.canonical_bytes(payload)
        )
        digest = sha256(canonical).hexdigest()
        heads[source] = (sequence, digest)
        chained.append(
            (
                source,
                sequence,
                object_id,
                op,
                draft.attribute,
                _stored(old) if serialized else draft.old_value,
                _stored(new) if serialized else draft.new_value,
                draft.actor,
                draft.actor_source,
                draft.actor_address,
                occurred,
                observed,
                occurred or observed,
                run_id,
                draft.correlation_id,
                prev_digest,
                digest,
            )
        )
    return chained


def _stored(encoded: Any) -> json_codec.JsonText | None:
    """An encoded value as the JSON text its column stores (``None``: SQL NULL)."""
    return None if encoded is None else json_codec.JsonText(json_codec.json_text(encoded))


def append_events(
    session: Session, events: Iterable[NewChangeEvent], run: Run | None = None
) -> list[ChangeEvent]:
    """Append ``events`` in order, chaining each per source; flushes, does not commit.

    Commit in the same transaction as the cursor that covers these events
    (:func:`dirguard.store.cursors.save_cursor`). Returns the stored rows as ORM objects; a
    capture that needs none appends with :func:`insert_events` instead.
    """
    drafts = list(events)
    if not drafts:
        return []
    stored = [
        ChangeEvent(**dict(zip(COLUMNS, row, strict=True)))
        for row in _chained_rows(session, drafts, run, serialized=False)
    ]
    session.add_all(stored)
    session.flush()
    return stored


def insert_events(
    session: Session, events: Iterable[NewChangeEvent], run: Run | None = None
) -> int:
    """:func:`append_events` as one driver ``executemany`` (no ORM objects and no SQLAlchemy
    per-row parameter handling: a capture page of ten thousand member adds is one statement,
    :func:`dirguard.store.bulk_insert.insert_many`); flushes the session first, so the events'
    objects are stored. Returns how many were appended."""
    drafts = list(events)
    if not drafts:
        return 0
    session.flush()
    rows = _chained_rows(session, drafts, run, serialized=True)
    insert_many(session, cast(Table, ChangeEvent.__table__), COLUMNS, rows)
    return len(rows)


def verify_chain(session: Session, source: str) -> list[int]:
    """Sequence numbers of ``source``'s events that do not fit the chain; empty when intact.

    An event is reported when its digest does not match its content (changed), when its
    ``prev_digest`` is not the digest of the event before it, or when sequence numbers are
    missing before it (removed).
    """
    broken: list[int] = []
    expected_sequence, prev_digest = 1, None
    rows = session.scalars(
        select(ChangeEvent)
        .where(ChangeEvent.source == source)
        .order_by(ChangeEvent.sequence)
        # What is stored counts, not what this session may still hold in memory.
        .execution_options(yield_per=1000, populate_existing=True)
    )
    for event in rows:
        if (
            event.sequence != expected_sequence
            or event.prev_digest != prev_digest
            or event.digest != event_digest(event, prev_digest)
        ):
            broken.append(event.sequence)
        expected_sequence, prev_digest = event.sequence + 1, event.digest
    return broken
