"""The history use cases as the CLI and the HTTP API call them: recorded changes by filter, one
object's timeline, its state at a moment (:mod:`dirguard.services.history` does the reading).
A :class:`Runtime` and a typed request in, a typed result out; a query that cannot be answered
is a :class:`ServiceError`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any

from sqlalchemy.orm import Session

from dirguard.providers.ad import KIND as AD
from dirguard.providers.base import store_source
from dirguard.services import change_search, history
from dirguard.services.change_filter import ChangeFilter, FilterError
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.history import ChangeView, ObjectRef, ObjectState
from dirguard.services.runtime import Runtime


@contextmanager
def _answering(runtime: Runtime) -> Iterator[Session]:
    with runtime.sessions() as session:
        try:
            yield session
        except history.HistoryQueryError as error:
            raise ServiceError(str(error), Problem.FAILURE) from None


def parse_time(text: str) -> datetime:
    """ISO 8601 (no zone: UTC); a :class:`ServiceError` for anything else."""
    try:
        return history.parse_time(text)
    except history.HistoryQueryError as error:
        raise ServiceError(str(error), Problem.FAILURE) from None


@dataclass(frozen=True, kw_only=True)
class ChangesRequest:
    """Every filter given must match; times compare against when a change occurred (when it
    was observed where the source does not say). The search is the console's
    (:mod:`dirguard.services.change_search`)."""

    domain: str | None = None
    """A configured source's name (of ``kind``); ``None``: every source."""
    kind: str = AD
    """The kind of source ``domain`` names (``ad``, ``entra``)."""
    object_text: str | None = None
    """A GUID, distinguished name or natural key (sAMAccountName)."""
    actor: str | None = None
    """``DOMAIN\\account``, or a bare account name matching it in any domain."""
    since: datetime | None = None
    until: datetime | None = None
    attribute: str | None = None
    types: tuple[str, ...] = ()
    """Resource type keys (``ad.user``…)."""
    addresses: tuple[str, ...] = ()
    """Addresses the changes came from."""
    ops: tuple[str, ...] = ()
    text: str | None = None
    """Free text found in the attribute, the values, the object's name or DN, the actor."""
    exclude: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Values to leave out, per filter field (:data:`dirguard.services.change_filter.FIELDS`)."""
    limit: int | None = None

    def change_filter(self) -> ChangeFilter:
        """The request as the search's filter (a bad value is a :class:`ServiceError`)."""
        try:
            return ChangeFilter.of(
                since=self.since,
                until=self.until,
                text=self.text,
                directory=_source(self.domain, self.kind),
                object=self.object_text,
                actor=self.actor,
                attribute=self.attribute,
                type=self.types,
                address=self.addresses,
                op=self.ops,
                **{f"not_{name}": values for name, values in self.exclude.items()},
            )
        except FilterError as error:
            raise ServiceError(str(error), Problem.FAILURE) from None


@dataclass(frozen=True, kw_only=True)
class ChangesResult:
    changes: tuple[ChangeView, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"changes": [c.as_dict() for c in self.changes]}


def _source(name: str | None, kind: str = AD) -> str | None:
    """The store key of the source named (``None``: every source); AD domain names are
    case-insensitive, tenant names as configured."""
    if not name:
        return None
    return store_source(kind, name.lower() if kind == AD else name)


def list_changes(runtime: Runtime, request: ChangesRequest) -> ChangesResult:
    """Recorded changes, oldest first."""
    change_filter = request.change_filter()
    with runtime.sessions() as session:
        try:
            rows = change_search.every_row(session, change_filter, order="oldest")
            found = tuple(r.view for r in islice(rows, request.limit))
        except FilterError as error:
            raise ServiceError(error.reason, Problem.FAILURE) from None
    return ChangesResult(changes=found)


@dataclass(frozen=True, kw_only=True)
class ObjectRequest:
    object_text: str
    """A GUID, distinguished name or natural key (sAMAccountName)."""
    domain: str | None = None
    """A configured source's name (of ``kind``); ``None``: every source."""
    kind: str = AD
    """The kind of source ``domain`` names (``ad``, ``entra``)."""


@dataclass(frozen=True, kw_only=True)
class HistoryResult:
    object: ObjectRef
    events: tuple[ChangeView, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"object": self.object.as_dict(), "events": [e.as_dict() for e in self.events]}


def object_history(runtime: Runtime, request: ObjectRequest) -> HistoryResult:
    """The attribute timeline of one object (moves and renames included)."""
    with _answering(runtime) as session:
        ref = history.find_object(
            session, request.object_text, _source(request.domain, request.kind)
        )
        return HistoryResult(object=ref, events=tuple(history.timeline(session, ref)))


@dataclass(frozen=True, kw_only=True)
class StateRequest(ObjectRequest):
    at: datetime


@dataclass(frozen=True, kw_only=True)
class StateResult:
    state: ObjectState | None
    """The recorded state; ``None`` when dirguard knew nothing of the object yet then."""


def object_state(runtime: Runtime, request: StateRequest) -> StateResult:
    """The object's recorded state at a moment."""
    with _answering(runtime) as session:
        ref = history.find_object(
            session, request.object_text, _source(request.domain, request.kind)
        )
        return StateResult(state=history.object_state_at(session, ref, request.at))
