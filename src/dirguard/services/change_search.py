"""Searching the recorded changes: a :class:`ChangeFilter` turned into one SQL query, read a page
at a time by keyset.

The timeline is ordered by ``(timeline_at, id)`` — when the change occurred (or was observed
where the source does not say), then the order dirguard stored it — and a page continues from
the last row of the one before (:class:`PageCursor`), never by OFFSET: every page costs the same
at the first event as at the millionth, on SQLite and PostgreSQL alike (the indexes of store
revision 0008 lead with the column each filter narrows by, then the keyset). The cursor is
opaque to callers; a cursor that does not decode is a :class:`FilterError` naming ``cursor``.

Fields compared without regard to case (actor, attribute) are first matched against the values
the store holds — read by a loose index scan, one index probe per distinct value — so the query
itself compares exact values and keeps to the index. :func:`newer_than` is the live query: what
was stored after a given event, in the order it was stored.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    and_,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy import tuple_ as row
from sqlalchemy.orm import QueryableAttribute, Session

from dirguard.services.change_filter import UNKNOWN_ACTOR, ChangeFilter, FilterError
from dirguard.services.history import ChangeView, change_view, find_objects
from dirguard.store.column_types import UtcDateTime
from dirguard.store.models import ChangeEvent, DirectoryObject

Order = Literal["newest", "oldest"]
MAX_PAGE = 1000
"""The most rows one page holds."""


@dataclass(frozen=True)
class PageCursor:
    """Where a page starts: after (in its order) the row at ``timeline_at``, ``event_id``."""

    timeline_at: datetime
    event_id: int
    order: Order

    def encode(self) -> str:
        raw = json.dumps([self.timeline_at.isoformat(), self.event_id, self.order])
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> PageCursor:
        try:
            padded = token + "=" * (-len(token) % 4)
            at, event_id, order = json.loads(base64.urlsafe_b64decode(padded.encode()))
            moment = datetime.fromisoformat(at)
            if not isinstance(event_id, int) or order not in ("newest", "oldest"):
                raise ValueError(order)
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise FilterError(
                "cursor", "not a cursor this server gave; start again without it"
            ) from None
        return cls(moment, event_id, order)


@dataclass(frozen=True, kw_only=True)
class ChangeRow:
    """One change as a search returns it: the store ids besides what is shown."""

    event_id: int
    object_id: int
    timeline_at: datetime
    view: ChangeView

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.event_id, "object_id": self.object_id, **self.view.as_dict()}


@dataclass(frozen=True, kw_only=True)
class ChangePage:
    rows: tuple[ChangeRow, ...]
    next_cursor: str | None
    """Where the next page (further in the page's order) starts; ``None``: this was the last."""
    prev_cursor: str | None
    """Where the page before this one starts (back towards the start); ``None`` on the first."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "changes": [r.as_dict() for r in self.rows],
            "next_cursor": self.next_cursor,
            "prev_cursor": self.prev_cursor,
        }


def distinct_values(session: Session, column: str) -> list[str]:
    """Every distinct non-null value of a ``change_events`` column by a loose index scan: one
    index probe per value, whatever the number of events."""
    if column not in ("actor", "attribute", "source", "actor_address"):
        raise ValueError(column)
    query = text(
        f"WITH RECURSIVE v(x) AS (SELECT MIN({column}) FROM change_events"  # noqa: S608
        f" UNION ALL SELECT (SELECT MIN({column}) FROM change_events WHERE {column} > v.x)"
        " FROM v WHERE v.x IS NOT NULL) SELECT x FROM v WHERE x IS NOT NULL"
    )
    return [str(x) for x in session.scalars(query)]


def actor_matches(stored: str, wanted: str) -> bool:
    """``wanted`` names ``stored`` (see :func:`dirguard.services.history.by_actor`)."""
    actual, asked = stored.lower(), wanted.lower()
    if "\\" in asked:
        return actual == asked
    account = asked.split("@", 1)[0] if "@" in asked else asked
    return actual == asked or actual.endswith("\\" + account)


def _member(
    column: QueryableAttribute[Any], values: Sequence[Any], *, exclude: bool, nullable: bool = False
) -> ColumnElement[bool]:
    """``column`` is one of ``values`` (or, excluding, none of them; NULL is none of them)."""
    if exclude:
        if not values:
            return true()
        kept = column.not_in(values)
        return or_(column.is_(None), kept) if nullable else kept
    return column.in_(values) if values else false()


class _Conditions:
    """The WHERE conditions of a filter, resolved against the store's values."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._distinct: dict[str, list[str]] = {}

    def _stored(self, column: str) -> list[str]:
        if column not in self._distinct:
            self._distinct[column] = distinct_values(self.session, column)
        return self._distinct[column]

    def sources(self, names: Sequence[str]) -> list[str]:
        wanted = {n.lower() for n in names}
        return [
            s
            for s in self._stored("source")
            if s.lower() in wanted or s.partition(":")[2].lower() in wanted
        ]

    def object_ids(self, texts: Sequence[str]) -> list[int]:
        ids: list[int] = []
        for given in texts:
            if given.isdigit():
                ids.append(int(given))
                continue
            found = find_objects(self.session, given)
            if not found:
                raise FilterError(
                    "object", f"no object {given!r}; give a store id, GUID, DN or natural key"
                )
            ids += [o.id for o in found]
        return ids

    def condition(
        self, field_name: str, values: Sequence[str], *, exclude: bool
    ) -> ColumnElement[bool]:
        e = ChangeEvent
        if field_name == "directory":
            return _member(e.source, self.sources(values), exclude=exclude)
        if field_name == "object":
            return _member(e.object_id, self.object_ids(values), exclude=exclude)
        if field_name == "type":
            typed = select(DirectoryObject.id).where(DirectoryObject.resource_type.in_(values))
            return e.object_id.not_in(typed) if exclude else e.object_id.in_(typed)
        if field_name == "attribute":
            wanted = {v.lower() for v in values}
            exact = [a for a in self._stored("attribute") if a.lower() in wanted]
            return _member(e.attribute, exact, exclude=exclude, nullable=True)
        if field_name == "actor":
            named = [v for v in values if v != UNKNOWN_ACTOR]
            exact = [a for a in self._stored("actor") if any(actor_matches(a, w) for w in named)]
            unknown = len(named) < len(values)
            if exclude:
                kept = _member(e.actor, exact, exclude=True, nullable=not unknown)
                return and_(kept, e.actor.is_not(None)) if unknown else kept
            found = _member(e.actor, exact, exclude=False)
            return or_(found, e.actor.is_(None)) if unknown else found
        if field_name == "address":
            return _member(e.actor_address, values, exclude=exclude, nullable=True)
        if field_name == "op":
            return _member(e.op, values, exclude=exclude)
        raise FilterError(field_name, "not a filter field")


def _text_match(words: str) -> ColumnElement[bool]:
    """Every word appears in one of the change's texts (case does not matter)."""
    texts = (
        ChangeEvent.attribute,
        ChangeEvent.actor,
        ChangeEvent.actor_address,
        cast(ChangeEvent.old_value, Text),
        cast(ChangeEvent.new_value, Text),
        DirectoryObject.path,
        DirectoryObject.natural_key,
    )
    conditions = []
    for word in words.split():
        lowered = word.lower()
        conditions.append(
            or_(*(func.lower(cast(t, String)).contains(lowered, autoescape=True) for t in texts))
        )
    return and_(*conditions)


def filtered(session: Session, change_filter: ChangeFilter) -> Select[ChangeEvent, DirectoryObject]:
    """The events ``change_filter`` matches, with their objects (unordered)."""
    query = select(ChangeEvent, DirectoryObject).join(
        DirectoryObject, ChangeEvent.object_id == DirectoryObject.id
    )
    conditions = _Conditions(session)
    for field_name, values in change_filter.include.items():
        query = query.where(conditions.condition(field_name, values, exclude=False))
    for field_name, values in change_filter.exclude.items():
        query = query.where(conditions.condition(field_name, values, exclude=True))
    if change_filter.since is not None:
        query = query.where(ChangeEvent.timeline_at >= change_filter.since)
    if change_filter.until is not None:
        query = query.where(ChangeEvent.timeline_at <= change_filter.until)
    if change_filter.text:
        query = query.where(_text_match(change_filter.text))
    return query


def _row(event: ChangeEvent, obj: DirectoryObject) -> ChangeRow:
    return ChangeRow(
        event_id=event.id,
        object_id=obj.id,
        timeline_at=event.timeline_at,
        view=change_view(event, obj),
    )


def _ordered(
    query: Select[ChangeEvent, DirectoryObject], order: Order, after: PageCursor | None
) -> Select[ChangeEvent, DirectoryObject]:
    key = row(ChangeEvent.timeline_at, ChangeEvent.id)
    if after is not None:
        mark = row(literal(after.timeline_at, UtcDateTime()), literal(after.event_id))
        query = query.where(key < mark if order == "newest" else key > mark)
    if order == "newest":
        return query.order_by(ChangeEvent.timeline_at.desc(), ChangeEvent.id.desc())
    return query.order_by(ChangeEvent.timeline_at, ChangeEvent.id)


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise FilterError("limit", f"must be between 1 and {MAX_PAGE}, not {limit}")


def search(
    session: Session,
    change_filter: ChangeFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
    order: Order = "newest",
) -> ChangePage:
    """One page of the changes ``change_filter`` matches: ``limit`` rows from ``cursor`` on (the
    first page without one), newest first unless ``order`` is ``oldest``. A cursor carries its
    own direction: the ``prev_cursor`` of a page reads back towards the start."""
    _check_limit(limit)
    start = PageCursor.decode(cursor) if cursor else None
    reading: Order = start.order if start else order
    base = filtered(session, change_filter)
    found = [
        _row(e, o) for e, o in session.execute(_ordered(base, reading, start).limit(limit + 1))
    ]
    more = len(found) > limit
    found = found[:limit]
    backwards = reading != order
    if backwards:
        found.reverse()
    opposite: Order = "oldest" if order == "newest" else "newest"

    def at(r: ChangeRow, direction: Order) -> str:
        return PageCursor(r.timeline_at, r.event_id, direction).encode()

    if not found:
        return ChangePage(rows=(), next_cursor=None, prev_cursor=None)
    has_next = more if not backwards else True
    has_prev = (start is not None) if not backwards else more
    return ChangePage(
        rows=tuple(found),
        next_cursor=at(found[-1], order) if has_next else None,
        prev_cursor=at(found[0], opposite) if has_prev else None,
    )


def newer_than(
    session: Session, change_filter: ChangeFilter, event_id: int, *, limit: int = 100
) -> list[ChangeRow]:
    """The matching changes stored after event ``event_id``, in the order they were stored:
    what a live view adds since it last looked."""
    _check_limit(limit)
    query = filtered(session, change_filter).where(ChangeEvent.id > event_id)
    return [_row(e, o) for e, o in session.execute(query.order_by(ChangeEvent.id).limit(limit))]


def latest_event_id(session: Session) -> int:
    """The id of the newest stored event (0 when there is none): where a live view starts."""
    return int(session.scalar(select(func.max(ChangeEvent.id))) or 0)


def every_row(
    session: Session, change_filter: ChangeFilter, *, order: Order = "oldest", batch: int = 500
) -> Iterator[ChangeRow]:
    """Every change the filter matches, a keyset page at a time: memory stays at one page
    whatever the number of changes."""
    cursor: str | None = None
    while True:
        page = search(session, change_filter, cursor=cursor, limit=batch, order=order)
        yield from page.rows
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
        session.expunge_all()
