"""The history use cases as the CLI and the HTTP API call them: recorded changes by filter, one
object's timeline, its state at a moment (:mod:`dirguard.services.history` does the reading).
A :class:`Runtime` and a typed request in, a typed result out; a query that cannot be answered
is a :class:`ServiceError`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dirguard.providers.ad import KIND as AD
from dirguard.providers.base import store_source
from dirguard.providers.entra import KIND as ENTRA
from dirguard.services import history
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
    was observed where the source does not say)."""

    domain: str | None = None
    tenant: str | None = None
    """An Entra tenant's name (instead of a domain)."""
    object_text: str | None = None
    """A GUID, distinguished name or natural key (sAMAccountName)."""
    actor: str | None = None
    """``DOMAIN\\account``, or a bare account name matching it in any domain."""
    since: datetime | None = None
    until: datetime | None = None
    attribute: str | None = None
    limit: int | None = None


@dataclass(frozen=True, kw_only=True)
class ChangesResult:
    changes: tuple[ChangeView, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"changes": [c.as_dict() for c in self.changes]}


def _source(domain: str | None, tenant: str | None = None) -> str | None:
    """The store key of the domain or Entra tenant named (``None``: every source)."""
    if tenant:
        return store_source(ENTRA, tenant)
    return store_source(AD, domain.lower()) if domain else None


def list_changes(runtime: Runtime, request: ChangesRequest) -> ChangesResult:
    """Recorded changes, oldest first."""
    with _answering(runtime) as session:
        found = history.find_changes(
            session,
            source=_source(request.domain, request.tenant),
            object_text=request.object_text,
            actor=request.actor,
            since=request.since,
            until=request.until,
            attribute=request.attribute,
            limit=request.limit,
        )
    return ChangesResult(changes=tuple(found))


@dataclass(frozen=True, kw_only=True)
class ObjectRequest:
    object_text: str
    """A GUID, distinguished name or natural key (sAMAccountName)."""
    domain: str | None = None
    tenant: str | None = None


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
            session, request.object_text, _source(request.domain, request.tenant)
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
            session, request.object_text, _source(request.domain, request.tenant)
        )
        return StateResult(state=history.object_state_at(session, ref, request.at))
