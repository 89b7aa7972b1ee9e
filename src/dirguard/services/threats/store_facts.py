"""What the rules see, read from the store: events with their objects
(:class:`~dirguard.core.threats.model.EventFacts`), objects' current state, and the groups an
object belongs to now (the link index narrows the candidates, their latest version decides)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from dirguard.core.threats.identity import content_names, content_sid
from dirguard.core.threats.model import EventFacts, ObjectFacts
from dirguard.services.capture.snapshot import latest_versions
from dirguard.store.links import holders_of
from dirguard.store.models import ChangeEvent, DirectoryObject, ObjectVersion

MEMBER = "member"


def events_query() -> Select[ChangeEvent, DirectoryObject]:
    return select(ChangeEvent, DirectoryObject).join(
        DirectoryObject, ChangeEvent.object_id == DirectoryObject.id
    )


def facts_of(event: ChangeEvent, obj: DirectoryObject) -> EventFacts:
    return EventFacts(
        event_id=event.id,
        source=event.source,
        sequence=event.sequence,
        resource_type=obj.resource_type,
        object_id=obj.id,
        object_path=obj.path,
        object_name=obj.natural_key,
        op=event.op,
        attribute=event.attribute,
        old_value=event.old_value,
        new_value=event.new_value,
        actor=event.actor,
        actor_source=event.actor_source,
        actor_address=event.actor_address,
        occurred_at=event.occurred_at,
        observed_at=event.observed_at,
    )


def events_after(session: Session, source: str, sequence: int) -> list[EventFacts]:
    rows = session.execute(
        events_query()
        .where(ChangeEvent.source == source, ChangeEvent.sequence > sequence)
        .order_by(ChangeEvent.sequence)
    ).all()
    return [facts_of(e, o) for e, o in rows]


def events_between(
    session: Session, source: str | None, since: datetime | None, until: datetime | None
) -> Iterator[EventFacts]:
    query = events_query().order_by(ChangeEvent.source, ChangeEvent.sequence)
    if source is not None:
        query = query.where(ChangeEvent.source == source)
    if since is not None:
        query = query.where(ChangeEvent.observed_at >= since)
    if until is not None:
        query = query.where(ChangeEvent.observed_at <= until)
    for event, obj in session.execute(query.execution_options(yield_per=1000)):
        yield facts_of(event, obj)


def current_objects(session: Session, source: str | None) -> Iterator[ObjectFacts]:
    query = select(DirectoryObject).where(DirectoryObject.deleted.is_(False))
    if source is not None:
        query = query.where(DirectoryObject.source == source)
    objects = list(session.scalars(query.order_by(DirectoryObject.id)))
    for start in range(0, len(objects), 500):
        chunk = objects[start : start + 500]
        versions = latest_versions(session, [o.id for o in chunk])
        for obj in chunk:
            version = versions.get(obj.id)
            yield ObjectFacts(
                object_id=obj.id,
                source=obj.source,
                resource_type=obj.resource_type,
                path=obj.path,
                name=obj.natural_key,
                content=dict(version.content) if version is not None else {},
            )


class StoreContext:
    """The :class:`~dirguard.core.threats.evaluate.Context` over one session (cached)."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._content: dict[int, dict[str, Any]] = {}
        self._groups: dict[tuple[str, str], list[str]] = {}
        self._first: dict[int, list[str]] = {}

    def content(self, object_id: int) -> dict[str, Any]:
        if object_id not in self._content:
            version = latest_versions(self.session, [object_id]).get(object_id)
            self._content[object_id] = dict(version.content) if version is not None else {}
        return self._content[object_id]

    def sid(self, object_id: int) -> str | None:
        return content_sid(self.content(object_id))

    def first_names(self, object_id: int) -> Sequence[str]:
        """The names of the object's first stored version (what it was first known as)."""
        if object_id not in self._first:
            first = self.session.scalars(
                select(ObjectVersion.content)
                .where(ObjectVersion.object_id == object_id)
                .order_by(ObjectVersion.version)
                .limit(1)
            ).first()
            self._first[object_id] = content_names(dict(first)) if first else []
        return self._first[object_id]

    def is_deleted(self, source: str, external_id: str) -> bool:
        deleted = self.session.scalar(
            select(DirectoryObject.deleted).where(
                DirectoryObject.source == source, DirectoryObject.external_id == external_id
            )
        )
        return bool(deleted)

    def groups_of(self, source: str, member: str) -> Sequence[str]:
        key = (source, member.casefold())
        if key not in self._groups:
            self._groups[key] = self._find_groups(source, member)
        return self._groups[key]

    def _find_groups(self, source: str, member: str) -> list[str]:
        candidates = list(
            self.session.scalars(
                select(DirectoryObject).where(
                    DirectoryObject.id.in_(holders_of(member)),
                    DirectoryObject.source == source,
                    DirectoryObject.deleted.is_(False),
                )
            )
        )
        versions = latest_versions(self.session, [c.id for c in candidates])
        found: list[str] = []
        wanted = member.casefold()
        for group in candidates:
            version = versions.get(group.id)
            if version is None:
                continue
            members = version.content.get(MEMBER)
            if members and any(isinstance(m, str) and m.casefold() == wanted for m in members):
                found.extend(n for n in (group.path, group.natural_key) if n)
                if (sid := content_sid(version.content)) is not None:
                    found.append(sid)
        return found
