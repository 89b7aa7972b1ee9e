"""Where incremental collection stands: one opaque cursor per (source, stream).

A cursor is a DirSync cookie (bytes, as received) or a Graph deltaLink (its UTF-8 bytes).

**Save a cursor in the same transaction as the events it covers.** Call :func:`save_cursor` in
the session that appended those events and commit once: then either both are stored or neither
is, so the cursor can never run ahead of the data (changes lost) and a crash simply repeats the
last increment (ingest is idempotent).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dirguard.store.column_types import utcnow
from dirguard.store.models import Cursor, Run


def get_cursor(session: Session, source: str, stream: str) -> bytes | None:
    """The stored cursor value, or ``None`` when the stream has never been collected."""
    return session.scalar(
        select(Cursor.value).where(Cursor.source == source, Cursor.stream == stream)
    )


def save_cursor(
    session: Session, source: str, stream: str, value: bytes, run: Run | None = None
) -> Cursor:
    """Insert or replace the cursor of ``(source, stream)``; flushes, does not commit.

    Must be called in the same transaction as the events the new cursor covers (see the module
    documentation): committing the events and the cursor separately can lose changes.
    """
    if not isinstance(value, bytes):
        raise TypeError(
            f"cursor value is a {type(value).__name__}; pass bytes (encode a deltaLink as UTF-8)"
        )
    cursor = session.scalar(select(Cursor).where(Cursor.source == source, Cursor.stream == stream))
    if cursor is None:
        cursor = Cursor(source=source, stream=stream, value=value)
        session.add(cursor)
    cursor.value = value
    cursor.updated_at = utcnow()
    cursor.run_id = run.id if run is not None else None
    session.flush()
    return cursor
