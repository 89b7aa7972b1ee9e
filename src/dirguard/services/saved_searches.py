"""Saved change searches: a filter kept under a name by the console user who saved it, offered
to everyone when shared. Only its owner changes or deletes one; a private one is seen by its
owner alone (anyone else asking for it is told it does not exist, as for any other id)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from dirguard.services.change_filter import ChangeFilter
from dirguard.store.column_types import utcnow
from dirguard.store.models import SavedSearch

MAX_NAME = 255


class SavedSearchError(ValueError):
    """A saved search that cannot be read or changed as asked; ``field`` names the input."""

    def __init__(self, message: str, *, field: str = "id", missing: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.missing = missing


@dataclass(frozen=True, kw_only=True)
class SavedSearchView:
    id: int
    name: str
    owner: str
    shared: bool
    change_filter: ChangeFilter

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "owner": self.owner,
            "shared": self.shared,
            "filter": self.change_filter.as_dict(),
        }


def _view(row: SavedSearch) -> SavedSearchView:
    return SavedSearchView(
        id=row.id,
        name=row.name,
        owner=row.owner,
        shared=row.shared,
        change_filter=ChangeFilter.from_dict(row.filter),
    )


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise SavedSearchError("a saved search needs a name", field="name")
    if len(cleaned) > MAX_NAME:
        raise SavedSearchError(f"the name is longer than {MAX_NAME} characters", field="name")
    return cleaned


def save(
    session: Session, *, owner: str, name: str, change_filter: ChangeFilter, shared: bool = False
) -> SavedSearchView:
    """Keep ``change_filter`` as ``owner``'s search ``name`` (replacing one of that name)."""
    cleaned = _clean_name(name)
    row = session.scalars(
        select(SavedSearch).where(SavedSearch.owner == owner, SavedSearch.name == cleaned)
    ).first()
    if row is None:
        row = SavedSearch(owner=owner, name=cleaned)
        session.add(row)
    row.filter = change_filter.as_dict()
    row.shared = shared
    row.updated_at = utcnow()
    session.flush()
    return _view(row)


def visible(session: Session, user: str) -> list[SavedSearchView]:
    """The user's own searches and everyone's shared ones, by name."""
    rows = session.scalars(
        select(SavedSearch)
        .where(or_(SavedSearch.owner == user, SavedSearch.shared.is_(True)))
        .order_by(SavedSearch.name, SavedSearch.id)
    )
    return [_view(r) for r in rows]


def get(session: Session, search_id: int, user: str) -> SavedSearchView:
    row = session.get(SavedSearch, search_id)
    if row is None or (row.owner != user and not row.shared):
        raise SavedSearchError(f"no saved search {search_id}", missing=True)
    return _view(row)


def delete(session: Session, search_id: int, user: str) -> None:
    """Delete one of ``user``'s own searches."""
    row = session.get(SavedSearch, search_id)
    if row is None or (row.owner != user and not row.shared):
        raise SavedSearchError(f"no saved search {search_id}", missing=True)
    if row.owner != user:
        raise SavedSearchError(f"saved search {search_id} is {row.owner}'s; only they delete it")
    session.delete(row)
    session.flush()
