"""Deleted objects: what was deleted, when and by whom, and bringing one back with its links.

The list comes from the store (objects marked deleted, each with the change event that recorded
its deletion: when, the actor and the address when known, and how many groups held it, from the
link index). Undelete is the guarded use case the CLI's ``dirguard undelete`` calls
(:func:`dirguard.services.rollback.apply_cases.undelete`: reanimation, then attributes and group
memberships from history, with the rights check and elevation).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from dirguard.core.change_op import ChangeOp
from dirguard.providers.base import source_name
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rollback import apply_cases
from dirguard.services.runtime import Runtime
from dirguard.store.models import ChangeEvent, DirectoryObject


@dataclass(frozen=True, kw_only=True)
class DeletedObject:
    object_id: int
    source: str
    resource_type: str
    external_id: str
    name: str | None
    path: str | None
    deleted_at: datetime | None
    observed_at: datetime | None
    deleted_by: str | None
    address: str | None
    event: int | None
    """The deletion's change number (``dirguard changes``)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "object_id": self.object_id,
            "source": self.source,
            "resource_type": self.resource_type,
            "external_id": self.external_id,
            "name": self.name,
            "path": self.path,
            "deleted_at": self.deleted_at.isoformat() if self.deleted_at else None,
            "observed_at": self.observed_at.isoformat() if self.observed_at else None,
            "deleted_by": self.deleted_by,
            "address": self.address,
            "event": self.event,
        }


def list_deleted(
    runtime: Runtime, *, source: str | None = None, limit: int = 100, before: int | None = None
) -> list[DeletedObject]:
    """Deleted objects, most recently deleted first (``before``: object ids below, for paging;
    ``source``: a store key such as ``ad:corp.example.com``)."""
    if not 1 <= limit <= 1000:
        raise ServiceError(f"limit {limit}: give 1 to 1000")
    newest = (
        select(ChangeEvent.object_id, func.max(ChangeEvent.id).label("event_id"))
        .where(ChangeEvent.op == ChangeOp.DELETE.value)
        .group_by(ChangeEvent.object_id)
        .subquery()
    )
    query = (
        select(DirectoryObject, ChangeEvent)
        .outerjoin(newest, newest.c.object_id == DirectoryObject.id)
        .outerjoin(ChangeEvent, ChangeEvent.id == newest.c.event_id)
        .where(DirectoryObject.deleted.is_(True))
        .order_by(DirectoryObject.id.desc())
        .limit(limit)
    )
    if source is not None:
        query = query.where(DirectoryObject.source == source)
    if before is not None:
        query = query.where(DirectoryObject.id < before)
    with runtime.sessions() as session:
        rows = session.execute(query).all()
        found = [
            DeletedObject(
                object_id=obj.id,
                source=source_name(obj.source),
                resource_type=obj.resource_type,
                external_id=obj.external_id,
                name=obj.natural_key,
                path=obj.path,
                deleted_at=event.occurred_at if event else None,
                observed_at=event.observed_at if event else None,
                deleted_by=event.actor if event else None,
                address=event.actor_address if event else None,
                event=event.sequence if event else None,
            )
            for obj, event in rows
        ]
    return sorted(found, key=lambda d: d.observed_at or d.deleted_at or datetime.min, reverse=True)


def undelete_object(
    runtime: Runtime, object_id: int, to_ou: str | None = None
) -> apply_cases.Applied:
    """Undelete the stored object ``object_id`` (a deleted AD object) with its links."""
    with runtime.sessions() as session:
        obj = session.get(DirectoryObject, object_id)
        if obj is None or not obj.deleted:
            raise ServiceError(
                f"no deleted object {object_id} in the store; the Deleted objects list names them",
                Problem.NOT_FOUND,
            )
        kind, _, name = obj.source.partition(":")
        guid = obj.external_id
    if kind != "ad":
        raise ServiceError(f"undelete of {kind} objects is not supported yet", Problem.CONFLICT)
    request = apply_cases.UndeleteRequest(object_text=guid, to_ou=to_ou or None, domain=name)
    return apply_cases.undelete(runtime, request)
