"""Reading the recorded history: change events by filter, one object's timeline, its state at a
moment. Values come back JSON-ready (bytes as ``{"$bytes": base64}``).

A security descriptor change shows its old and new SDDL as ``old``/``new`` and the ACE-level
difference as ``details``; an event nobody could be correlated with has ``actor`` ``None``
(shown as unknown, never guessed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dirguard.store import json_codec
from dirguard.store.models import ChangeEvent, DirectoryObject, ObjectVersion


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


def _ref(obj: DirectoryObject) -> ObjectRef:
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
    else:
        query = query.where(func.lower(DirectoryObject.natural_key) == text.lower())
    return [_ref(o) for o in session.scalars(query.order_by(DirectoryObject.id))]


def find_object(session: Session, text: str, source: str | None = None) -> ObjectRef:
    found = find_objects(session, text, source)
    if not found:
        where = f" in {source}" if source else ""
        raise HistoryQueryError(
            f"no object {text!r}{where}; give a GUID, a distinguished name or a sAMAccountName"
        )
    if len(found) > 1:
        names = ", ".join(f"{o.source}:{o.external_id}" for o in found)
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


def event_dict(event: ChangeEvent, obj: DirectoryObject) -> dict[str, Any]:
    old, new, details = _values(event)
    return {
        "sequence": event.sequence,
        "source": event.source,
        "object": {
            "guid": obj.external_id,
            "type": obj.resource_type,
            "name": obj.natural_key,
            "dn": obj.path,
        },
        "op": event.op,
        "attribute": event.attribute,
        "old": json_codec.encode(old),
        "new": json_codec.encode(new),
        "details": json_codec.encode(details),
        "actor": event.actor,
        "actor_source": event.actor_source,
        "actor_address": event.actor_address,
        "occurred_at": event.occurred_at.isoformat() if event.occurred_at else None,
        "observed_at": event.observed_at.isoformat(),
    }


def changes(
    session: Session,
    *,
    source: str | None = None,
    object_text: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    attribute: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
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
                f"no object {object_text!r}; give a GUID, a distinguished name or a sAMAccountName"
            )
        query = query.where(ChangeEvent.object_id.in_(ids))
    if actor is not None:
        wanted = func.lower(ChangeEvent.actor)
        if "\\" in actor or "@" in actor:
            query = query.where(wanted == actor.lower())
        else:  # a bare account name matches DOMAIN\\account of any domain
            query = query.where(
                (wanted == actor.lower()) | wanted.endswith("\\" + actor.lower(), autoescape=True)
            )
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
    return [event_dict(e, o) for e, o in session.execute(query)]


def history(session: Session, ref: ObjectRef) -> list[dict[str, Any]]:
    """Every event of one object, oldest first (its attribute timeline)."""
    obj = session.get_one(DirectoryObject, ref.id)
    events = session.scalars(
        select(ChangeEvent).where(ChangeEvent.object_id == ref.id).order_by(ChangeEvent.sequence)
    )
    return [event_dict(e, obj) for e in events]


def state_at(session: Session, ref: ObjectRef, at: datetime) -> dict[str, Any] | None:
    """The object's recorded content at ``at`` (the newest version captured by then), or
    ``None`` when dirguard had not seen it yet."""
    version = session.scalars(
        select(ObjectVersion)
        .where(ObjectVersion.object_id == ref.id, ObjectVersion.captured_at <= at)
        .order_by(ObjectVersion.version.desc())
        .limit(1)
    ).first()
    if version is None:
        return None
    content = version.content
    return {
        "guid": ref.external_id,
        "type": ref.resource_type,
        "at": at.isoformat(),
        "version": version.version,
        "captured_at": version.captured_at.isoformat(),
        "deleted": content.get("isDeleted") == ["TRUE"],
        "attributes": json_codec.encode(content),
    }


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
    "state_at",
]
