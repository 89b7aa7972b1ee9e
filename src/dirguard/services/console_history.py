"""The console's history use cases, as the REST API and the pages call them: a :class:`Runtime`
and typed values in, typed results out. The change search (:mod:`.change_search`), saved
searches, the object view and comparing moments, each in its own transaction.

A bad filter value stays a :class:`~dirguard.services.change_filter.FilterError` (it names the
parameter, which the API puts in its problem+json); an unknown object or saved search is a
:class:`ServiceError` of kind ``not-found``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.orm import Session

from dirguard.services import change_export, change_search, object_view, saved_searches
from dirguard.services.change_filter import ChangeFilter
from dirguard.services.change_search import ChangePage, ChangeRow, Order
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.object_view import ObjectView, SideBySide
from dirguard.services.runtime import Runtime
from dirguard.services.saved_searches import SavedSearchView


@contextmanager
def _reading(runtime: Runtime, *, write: bool = False) -> Iterator[Session]:
    with runtime.sessions.begin() if write else runtime.sessions() as session:
        try:
            yield session
        except object_view.ObjectNotFound as error:
            raise ServiceError(str(error), Problem.NOT_FOUND) from None
        except saved_searches.SavedSearchError as error:
            kind = Problem.NOT_FOUND if error.missing else Problem.PERMISSION
            raise ServiceError(str(error), kind) from None


def find_changes(
    runtime: Runtime,
    change_filter: ChangeFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
    order: Order = "newest",
) -> ChangePage:
    """One keyset page of the changes the filter matches."""
    with _reading(runtime) as session:
        return change_search.search(session, change_filter, cursor=cursor, limit=limit, order=order)


def changes_after(
    runtime: Runtime, change_filter: ChangeFilter, event_id: int, limit: int = 100
) -> list[ChangeRow]:
    """The matching changes stored after event ``event_id`` (the live view's poll)."""
    with _reading(runtime) as session:
        return change_search.newer_than(session, change_filter, event_id, limit=limit)


def latest_event(runtime: Runtime) -> int:
    with _reading(runtime) as session:
        return change_search.latest_event_id(session)


def export_changes(runtime: Runtime, change_filter: ChangeFilter, kind: str) -> Iterator[str]:
    """The whole filter as CSV lines or JSON pieces, read as it is sent (the filter is checked
    against the store before the first piece, so a bad value fails before anything is sent)."""
    with _reading(runtime) as session:
        change_search.filtered(session, change_filter)

    def pieces() -> Iterator[str]:
        with runtime.sessions() as session:
            if kind == "csv":
                yield from change_export.csv_lines(session, change_filter)
            else:
                yield from change_export.json_chunks(session, change_filter)

    return pieces()


def list_searches(runtime: Runtime, user: str) -> list[SavedSearchView]:
    with _reading(runtime) as session:
        return saved_searches.visible(session, user)


def save_search(
    runtime: Runtime, user: str, name: str, change_filter: ChangeFilter, *, shared: bool
) -> SavedSearchView:
    with runtime.sessions.begin() as session:
        try:
            return saved_searches.save(
                session, owner=user, name=name, change_filter=change_filter, shared=shared
            )
        except saved_searches.SavedSearchError as error:
            raise ServiceError(str(error), Problem.FAILURE) from None


def get_search(runtime: Runtime, user: str, search_id: int) -> SavedSearchView:
    with _reading(runtime) as session:
        return saved_searches.get(session, search_id, user)


def delete_search(runtime: Runtime, user: str, search_id: int) -> None:
    with _reading(runtime, write=True) as session:
        saved_searches.delete(session, search_id, user)


def object_page(
    runtime: Runtime,
    object_id: int,
    at: datetime | None = None,
    *,
    history_cursor: str | None = None,
    history_limit: int = 50,
) -> ObjectView:
    """The object at ``at`` (now when not given) with a page of its timeline."""
    with _reading(runtime) as session:
        return object_view.object_view(
            session,
            object_id,
            at or runtime.clock(),
            history_cursor=history_cursor,
            history_limit=history_limit,
        )


def object_moments(
    runtime: Runtime, object_id: int, before: datetime, after: datetime
) -> SideBySide:
    """The object at two moments, side by side."""
    if after < before:
        before, after = after, before
    with _reading(runtime) as session:
        return object_view.side_by_side(session, object_id, before, after)
