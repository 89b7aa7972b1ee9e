"""Readable names for the links a directory object holds: a group's ``member`` DNs, a user's
``manager``, an Entra group's ``members`` ids — resolved through the store's objects in bulk
(one query per few hundred values, whatever the number of links), so a group of 10,000 members
costs a few queries rather than one per member.

A DN is matched as stored first, then without regard to case for the few that did not match; an
Entra link is an object id (``external_id``). What no stored object answers stays its raw value,
shown as such (``object_id`` ``None``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dirguard.providers.base import source_name
from dirguard.store.models import DirectoryObject

CHUNK = 400


@dataclass(frozen=True, kw_only=True)
class LinkName:
    value: str
    """The value as stored (a DN or an object id)."""
    object_id: int | None
    """The store id of the object it names; ``None``: no stored object."""
    name: str | None
    """Its natural key (sAMAccountName, userPrincipalName…) or, lacking one, its DN."""
    type: str | None
    source: str | None
    deleted: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "object_id": self.object_id,
            "name": self.name,
            "type": self.type,
            "source": source_name(self.source) if self.source else None,
            "deleted": self.deleted,
        }


def _named(value: str, obj: DirectoryObject) -> LinkName:
    return LinkName(
        value=value,
        object_id=obj.id,
        name=obj.natural_key or obj.path,
        type=obj.resource_type,
        source=obj.source,
        deleted=obj.deleted,
    )


def _chunks(values: Sequence[str]) -> Iterable[list[str]]:
    for first in range(0, len(values), CHUNK):
        yield list(values[first : first + CHUNK])


def _is_id(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def resolve(session: Session, values: Iterable[Any]) -> dict[str, LinkName]:
    """Each text value (a DN or an object id) → the stored object it names (or itself)."""
    texts = sorted({v for v in values if isinstance(v, str) and v})
    found: dict[str, LinkName] = {}
    ids = [v for v in texts if _is_id(v)]
    dns = [v for v in texts if "=" in v and not _is_id(v)]
    for chunk in _chunks(ids):
        query = select(DirectoryObject).where(DirectoryObject.external_id.in_(chunk))
        for obj in session.scalars(query):
            found[obj.external_id] = _named(obj.external_id, obj)
    for chunk in _chunks(dns):
        query = select(DirectoryObject).where(DirectoryObject.path.in_(chunk))
        for obj in session.scalars(query):
            if obj.path is not None:
                found[obj.path] = _named(obj.path, obj)
    missing = {v.lower(): v for v in dns if v not in found}
    for chunk in _chunks(list(missing)):
        query = select(DirectoryObject).where(func.lower(DirectoryObject.path).in_(chunk))
        for obj in session.scalars(query):
            original = missing[(obj.path or "").lower()]
            found[original] = _named(original, obj)
    for value in texts:
        if value not in found:
            found[value] = LinkName(value=value, object_id=None, name=None, type=None, source=None)
    return found
