"""Reading the recorded history: change events by filter, one object's timeline, its state at a
moment. Values come back JSON-ready (bytes as ``{"$bytes": base64}``).

A security descriptor change shows its old and new SDDL as ``old``/``new`` and the ACE-level
difference as ``details``; an event nobody could be correlated with has ``actor`` ``None``
(shown as unknown, never guessed); a delete a snapshot noticed after the fact (nothing was
capturing when it happened) has ``detected_by`` ``"snapshot"``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.values import DN_ATTRIBUTE, Content
from dirguard.providers.base import source_name
from dirguard.store import json_codec
from dirguard.store.models import ChangeEvent, DirectoryObject, ObjectVersion

SNAPSHOT_CORRELATION_PREFIX = "snapshot:"
"""Correlation id prefix (``snapshot:<run id>``) of the delete events a snapshot detected
(:mod:`dirguard.services.capture.snapshot_deletes`); shown as ``detected_by: snapshot``."""


class HistoryQueryError(ValueError):
    """A query that cannot be answered as asked; the message says why."""


def parse_time(text: str) -> datetime:
    """ISO 8601 (``2024-05-01T12:00:00+02:00``, ``2024-05-01``); without a zone it is UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HistoryQueryError(
            f"{text!r} is not an ISO 8601 time; use e.g. 2024-05-01T12:00:00Z or "
            "2024-05-01T14:00:00+02:00 (no zone means UTC)"
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True, kw_only=True)
class ObjectRef:
    id: int
    source: str
    resource_type: str
    external_id: str
    natural_key: str | None
    path: str | None
    deleted: bool

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with the source as people name it (the configured domain or tenant)."""
        return {**vars(self), "source": source_name(self.source)}


def object_ref(obj: DirectoryObject) -> ObjectRef:
    return ObjectRef(
        id=obj.id,
        source=obj.source,
        resource_type=obj.resource_type,
        external_id=obj.external_id,
        natural_key=obj.natural_key,
        path=obj.path,
        deleted=obj.deleted,
    )


def find_objects(session: Session, text: str, source: str | None = None) -> list[ObjectRef]:
    """Objects named by GUID, distinguished name or natural key (sAMAccountName…)."""
    query = select(DirectoryObject)
    if source is not None:
        query = query.where(DirectoryObject.source == source)
    try:
        guid = str(uuid.UUID(text.strip("{}")))
    except ValueError:
        guid = None
    if guid is not None:
        query = query.where(DirectoryObject.external_id == guid)
    elif "=" in text:
        query = query.where(func.lower(DirectoryObject.path) == text.lower())
    elif "/" in text:  # an Entra path (users/{id}), or a name holding a slash
        query = query.where(
            or_(
                func.lower(DirectoryObject.path) == text.lower(),
                func.lower(DirectoryObject.natural_key) == text.lower(),
            )
        )
    else:
        query = query.where(func.lower(DirectoryObject.natural_key) == text.lower())
    return [object_ref(o) for o in session.scalars(query.order_by(DirectoryObject.id))]


def find_object(session: Session, text: str, source: str | None = None) -> ObjectRef:
    found = find_objects(session, text, source)
    if not found:
        where = f" in {source_name(source)}" if source else ""
        raise HistoryQueryError(
            f"no object {text!r}{where}; give a GUID, a path (DN, collection/id) or a natural"
            " key (sAMAccountName, UPN)"
        )
    if len(found) > 1:
        names = ", ".join(f"{source_name(o.source)}:{o.external_id}" for o in found)
        raise HistoryQueryError(
            f"{text!r} names several objects ({names}); add --domain or use a GUID"
        )
    return found[0]


def _values(event: ChangeEvent) -> tuple[Any, Any, Any]:
    """``(old, new, details)`` as shown: a security descriptor's stored ``{"sddl", "difference"}``
    new value is split into its SDDL and the difference."""
    new = event.new_value
    if isinstance(new, dict) and set(new) == {"sddl", "difference"}:
        return event.old_value, new["sddl"], new["difference"]
    return event.old_value, new, None


@dataclass(frozen=True, kw_only=True)
class ChangeView:
    """One recorded change as shown: values JSON-ready, times in ISO 8601."""

    sequence: int
    source: str
    object: dict[str, str | None]
    """The object's ``guid``, ``type``, ``name`` (natural key) and ``dn``."""
    op: str
    attribute: str | None
    old: Any
    new: Any
    details: Any
    actor: str | None
    actor_source: str | None
    actor_address: str | None
    occurred_at: str | None
    observed_at: str
    detected_by: str | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def change_view(event: ChangeEvent, obj: DirectoryObject) -> ChangeView:
    old, new, details = _values(event)
    snapshot = (event.correlation_id or "").startswith(SNAPSHOT_CORRELATION_PREFIX)
    return ChangeView(
        sequence=event.sequence,
        source=source_name(event.source),
        object={
            "guid": obj.external_id,
            "type": obj.resource_type,
            "name": obj.natural_key,
            "dn": obj.path,
        },
        op=event.op,
        attribute=event.attribute,
        old=json_codec.encode(old),
        new=json_codec.encode(new),
        details=json_codec.encode(details),
        actor=event.actor,
        actor_source=event.actor_source,
        actor_address=event.actor_address,
        occurred_at=event.occurred_at.isoformat() if event.occurred_at else None,
        observed_at=event.observed_at.isoformat(),
        detected_by="snapshot" if snapshot else None,
    )


def by_actor(actor: str) -> ColumnElement[bool]:
    """Events whose actor is ``actor``: ``DOMAIN\\account`` as recorded; a bare account name
    matches ``DOMAIN\\account`` of any domain; a user principal name (``account@example.com``)
    matches itself (an Entra actor) and the account named by its part before ``@`` (an AD
    account's default UPN is its sAMAccountName at a domain suffix)."""
    wanted = func.lower(ChangeEvent.actor)
    if "\\" in actor:
        return wanted == actor.lower()
    account = actor.split("@", 1)[0].lower() if "@" in actor else actor.lower()
    return (wanted == actor.lower()) | wanted.endswith("\\" + account, autoescape=True)


def event_dict(event: ChangeEvent, obj: DirectoryObject) -> dict[str, Any]:
    return change_view(event, obj).as_dict()


def changes(session: Session, **filters: Any) -> list[dict[str, Any]]:
    """:func:`find_changes` as JSON-ready dictionaries."""
    return [v.as_dict() for v in find_changes(session, **filters)]


def find_changes(
    session: Session,
    *,
    source: str | None = None,
    object_text: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    attribute: str | None = None,
    limit: int | None = None,
) -> list[ChangeView]:
    """Change events matching every given filter, oldest first. Times compare against when the
    change occurred, or when dirguard observed it where the source does not say."""
    query = select(ChangeEvent, DirectoryObject).join(
        DirectoryObject, ChangeEvent.object_id == DirectoryObject.id
    )
    if source is not None:
        query = query.where(ChangeEvent.source == source)
    if object_text is not None:
        ids = [o.id for o in find_objects(session, object_text, source)]
        if not ids:
            raise HistoryQueryError(
                f"no object {object_text!r}; give a GUID, a path (DN, collection/id) or a"
                " natural key (sAMAccountName, UPN)"
            )
        query = query.where(ChangeEvent.object_id.in_(ids))
    if actor is not None:
        query = query.where(by_actor(actor))
    when = func.coalesce(ChangeEvent.occurred_at, ChangeEvent.observed_at)
    if since is not None:
        query = query.where(when >= since)
    if until is not None:
        query = query.where(when <= until)
    if attribute is not None:
        query = query.where(func.lower(ChangeEvent.attribute) == attribute.lower())
    query = query.order_by(ChangeEvent.source, ChangeEvent.sequence)
    if limit is not None:
        query = query.limit(limit)
    return [change_view(e, o) for e, o in session.execute(query)]


def history(session: Session, ref: ObjectRef) -> list[dict[str, Any]]:
    """Every event of one object, oldest first (its attribute timeline)."""
    return [v.as_dict() for v in timeline(session, ref)]


def timeline(session: Session, ref: ObjectRef) -> list[ChangeView]:
    """Every event of one object, oldest first."""
    obj = session.get_one(DirectoryObject, ref.id)
    events = session.scalars(
        select(ChangeEvent).where(ChangeEvent.object_id == ref.id).order_by(ChangeEvent.sequence)
    )
    return [change_view(e, obj) for e in events]


@dataclass(frozen=True, kw_only=True)
class ObjectState:
    """An object's recorded state at a moment: the base version and the events replayed onto
    it; ``attributes`` JSON-ready."""

    guid: str
    type: str
    at: str
    version: int | None
    captured_at: str | None
    events_replayed: int
    last_event: int | None
    deleted: bool
    attributes: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def state_at(session: Session, ref: ObjectRef, at: datetime) -> dict[str, Any] | None:
    """:func:`object_state_at` as a JSON-ready dictionary."""
    state = object_state_at(session, ref, at)
    return None if state is None else state.as_dict()


def object_state_at(session: Session, ref: ObjectRef, at: datetime) -> ObjectState | None:
    """The object's recorded state at ``at``, or ``None`` when dirguard knew nothing of it yet.

    The nearest full version captured at or before ``at`` is the base; the object's change
    events that happened by ``at`` (when they occurred, or were observed where the source does
    not say) and that the base does not hold yet (observed after it was captured) are replayed
    onto it, in order (:func:`replay_event`). So a change that occurred before ``at`` but was
    captured after it counts, and so does one recorded only as an event. Without a base, a
    ``create`` event is the starting state."""
    version = session.scalars(
        select(ObjectVersion)
        .where(ObjectVersion.object_id == ref.id, ObjectVersion.captured_at <= at)
        .order_by(ObjectVersion.version.desc())
        .limit(1)
    ).first()
    when = func.coalesce(ChangeEvent.occurred_at, ChangeEvent.observed_at)
    query = select(ChangeEvent).where(ChangeEvent.object_id == ref.id, when <= at)
    if version is not None:
        query = query.where(ChangeEvent.observed_at > version.captured_at)
    events = list(session.scalars(query.order_by(ChangeEvent.sequence)))
    if version is None:
        creates = [i for i, e in enumerate(events) if e.op == ChangeOp.CREATE.value]
        if not creates:
            return None
        events = events[creates[0] :]
    content: Content = {} if version is None else {k: list(v) for k, v in version.content.items()}
    for event in events:
        replay_event(content, event.op, event.attribute, event.old_value, event.new_value)
    return ObjectState(
        guid=ref.external_id,
        type=ref.resource_type,
        at=at.isoformat(),
        version=None if version is None else version.version,
        captured_at=None if version is None else version.captured_at.isoformat(),
        events_replayed=len(events),
        last_event=events[-1].sequence if events else None,
        deleted=content.get("isDeleted") == ["TRUE"],
        attributes=json_codec.encode(content),
    )


def _as_values(value: Any) -> list[Any]:
    """An event's value as attribute values: a single-valued attribute's scalar as one value, a
    security descriptor change's new value as its SDDL text."""
    if isinstance(value, dict) and set(value) == {"sddl", "difference"}:
        value = value["sddl"]
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def replay_event(content: Content, op: str, attribute: str | None, old: Any, new: Any) -> None:
    """Apply one stored change event to ``content`` in place (see :mod:`dirguard.core.change_op`).

    A security descriptor replayed from an event is its SDDL text (the event holds no bytes)."""
    if op == ChangeOp.CREATE.value:
        content.clear()
        content.update({k: _as_values(v) for k, v in (new or {}).items()})
    elif op in (ChangeOp.MOVE.value, ChangeOp.RENAME.value):
        content[DN_ATTRIBUTE] = [new]
    elif op == ChangeOp.DELETE.value:
        if new is not None and attribute == DN_ATTRIBUTE:  # an Entra path is no field
            content[DN_ATTRIBUTE] = [new]
        content["isDeleted"] = ["TRUE"]
    elif op == ChangeOp.UNDELETE.value:
        if attribute == DN_ATTRIBUTE:
            content[DN_ATTRIBUTE] = [new]
        content.pop("isDeleted", None)
        content.pop("isRecycled", None)
    elif attribute is None:
        return
    elif op == ChangeOp.MODIFY.value:
        values = _as_values(new)
        if values:
            content[attribute] = values
        else:
            content.pop(attribute, None)
    elif op == ChangeOp.ADD_VALUE.value:
        current = content.setdefault(attribute, [])
        if new not in current:
            current.append(new)
    elif op == ChangeOp.REMOVE_VALUE.value:
        current = content.get(attribute, [])
        if old in current:
            current.remove(old)
        if not current:
            content.pop(attribute, None)


def last_live_version(session: Session, object_id: int) -> ObjectVersion | None:
    """The newest version that is not a tombstone: a deleted object's last full state."""
    for version in session.scalars(
        select(ObjectVersion)
        .where(ObjectVersion.object_id == object_id)
        .order_by(ObjectVersion.version.desc())
    ):
        if version.content.get("isDeleted") != ["TRUE"]:
            return version
    return None


__all__ = [
    "HistoryQueryError",
    "ObjectRef",
    "changes",
    "find_object",
    "find_objects",
    "history",
    "last_live_version",
    "parse_time",
    "replay_event",
    "state_at",
]
