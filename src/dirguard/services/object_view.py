"""One object as the console shows it: its recorded state now, its attribute timeline (a keyset
page of the change search), its links as readable names, and any two moments side by side with
each attribute's old and new values and a security descriptor's ACE differences.

Values are made readable here, once for the API and the pages: a security descriptor as SDDL,
``objectGUID`` as a GUID, ``objectSid`` as a SID, other bytes as hex; linked values (the type's
``linked_fields``) resolved to the objects they name in bulk (:mod:`.object_names`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dirguard.providers.ad.sd.security_descriptor import (
    SecurityDescriptorError,
    sid_from_bytes,
    to_sddl,
)
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.change_filter import ChangeFilter
from dirguard.services.change_search import ChangePage, search
from dirguard.services.history import ObjectRef, object_ref
from dirguard.services.moment_states import Content, is_deleted, states_at
from dirguard.services.object_names import LinkName, resolve
from dirguard.store.models import DirectoryObject

SD_ATTRIBUTE = "nTSecurityDescriptor"
_ACE = re.compile(r"\([^()]*\)")


class ObjectNotFound(LookupError):
    """No stored object has the id asked for."""


def find_by_id(session: Session, object_id: int) -> ObjectRef:
    obj = session.get(DirectoryObject, object_id)
    if obj is None:
        raise ObjectNotFound(f"no object {object_id} in the store")
    return object_ref(obj)


def shown(attribute: str, value: Any) -> str:
    """One value as text people read."""
    if isinstance(value, bytes):
        if attribute.lower() == SD_ATTRIBUTE.lower():
            try:
                return to_sddl(value)
            except SecurityDescriptorError:
                return "0x" + value.hex()
        if attribute.lower() == "objectguid" and len(value) == 16:
            return str(uuid.UUID(bytes_le=value))
        if attribute.lower() == "objectsid":
            try:
                return sid_from_bytes(value)[0]
            except (SecurityDescriptorError, IndexError, ValueError):
                return "0x" + value.hex()
        return "0x" + value.hex()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return "" if value is None else str(value)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


@dataclass(frozen=True, kw_only=True)
class AttributeView:
    name: str
    values: tuple[str, ...]
    links: tuple[LinkName, ...] = ()
    """For a linked attribute: each value resolved to the object it names."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "values": list(self.values),
            "links": [link.as_dict() for link in self.links],
        }


def _linked(type_key: str) -> frozenset[str]:
    row = RESOURCE_TYPES.get(type_key)
    return frozenset(f.lower() for f in row.linked_fields) if row is not None else frozenset()


def attribute_views(
    session: Session, type_key: str, content: Content | None
) -> list[AttributeView]:
    """The content's attributes by name, linked values resolved in one bulk lookup."""
    if not content:
        return []
    linked = _linked(type_key)
    link_values = [v for k, vs in content.items() if k.lower() in linked for v in _as_list(vs)]
    names = resolve(session, link_values)
    out = []
    for name in sorted(content, key=str.lower):
        values = _as_list(content[name])
        links = tuple(names[v] for v in values if isinstance(v, str) and v in names)
        out.append(
            AttributeView(
                name=name,
                values=tuple(shown(name, v) for v in values),
                links=links if name.lower() in linked else (),
            )
        )
    return out


@dataclass(frozen=True, kw_only=True)
class ObjectView:
    object: ObjectRef
    at: str
    exists: bool
    """Whether dirguard had recorded the object (not deleted) at ``at``."""
    attributes: tuple[AttributeView, ...]
    history: ChangePage

    def as_dict(self) -> dict[str, Any]:
        return {
            "object": self.object.as_dict(),
            "at": self.at,
            "exists": self.exists,
            "attributes": [a.as_dict() for a in self.attributes],
            "history": self.history.as_dict(),
        }


def object_view(
    session: Session,
    object_id: int,
    at: datetime,
    *,
    history_cursor: str | None = None,
    history_limit: int = 50,
) -> ObjectView:
    """The object's state at ``at`` (now, for its current state) and a page of its timeline."""
    ref = find_by_id(session, object_id)
    content = states_at(session, [ref.id], at)[ref.id]
    history = search(
        session,
        ChangeFilter.of(object=str(ref.id)),
        cursor=history_cursor,
        limit=history_limit,
    )
    return ObjectView(
        object=ref,
        at=at.isoformat(),
        exists=content is not None and not is_deleted(content),
        attributes=tuple(attribute_views(session, ref.resource_type, content)),
        history=history,
    )


def _sddl_parts(value: str) -> dict[str, Any]:
    """Owner, group and the DACL's and SACL's ACEs of an SDDL text."""
    parts: dict[str, Any] = {"O": None, "G": None, "D": [], "S": []}
    for match in re.finditer(r"(O|G|D|S):(.*?)(?=(?:O|G|D|S):|$)", value):
        key, body = match.group(1), match.group(2)
        parts[key] = _ACE.findall(body) if key in "DS" else body
    return parts


def ace_differences(before: Any, after: Any) -> list[str]:
    """A security descriptor's difference from ``before`` to ``after`` (bytes or SDDL), one
    readable line each: owner and group changes, ACEs added (+) and removed (-) per ACL."""
    old = _sddl_parts(shown(SD_ATTRIBUTE, before)) if before is not None else _sddl_parts("")
    new = _sddl_parts(shown(SD_ATTRIBUTE, after)) if after is not None else _sddl_parts("")
    lines = []
    for key, label in (("O", "owner"), ("G", "group")):
        if old[key] != new[key]:
            lines.append(f"{label}: {old[key] or '-'} -> {new[key] or '-'}")
    for key, label in (("D", "DACL"), ("S", "SACL")):
        removed = Counter(old[key]) - Counter(new[key])
        added = Counter(new[key]) - Counter(old[key])
        lines += [f"{label} - {ace}" for ace in removed.elements()]
        lines += [f"{label} + {ace}" for ace in added.elements()]
    return lines


@dataclass(frozen=True, kw_only=True)
class SideBySideRow:
    name: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    changed: bool
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    ace_changes: tuple[str, ...] = ()
    before_links: tuple[LinkName, ...] = ()
    after_links: tuple[LinkName, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "before": list(self.before),
            "after": list(self.after),
            "changed": self.changed,
            "added": list(self.added),
            "removed": list(self.removed),
            "ace_changes": list(self.ace_changes),
            "before_links": [x.as_dict() for x in self.before_links],
            "after_links": [x.as_dict() for x in self.after_links],
        }


@dataclass(frozen=True, kw_only=True)
class SideBySide:
    object: ObjectRef
    before_at: str
    after_at: str
    before_exists: bool
    after_exists: bool
    rows: tuple[SideBySideRow, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "object": self.object.as_dict(),
            "before_at": self.before_at,
            "after_at": self.after_at,
            "before_exists": self.before_exists,
            "after_exists": self.after_exists,
            "rows": [r.as_dict() for r in self.rows],
        }


def side_by_side(
    session: Session, object_id: int, before_at: datetime, after_at: datetime
) -> SideBySide:
    """The object at two moments, every attribute of either with both values."""
    ref = find_by_id(session, object_id)
    before = states_at(session, [ref.id], before_at)[ref.id]
    after = states_at(session, [ref.id], after_at)[ref.id]
    old = {a.name: a for a in attribute_views(session, ref.resource_type, before)}
    new = {a.name: a for a in attribute_views(session, ref.resource_type, after)}
    rows = []
    for name in sorted(set(old) | set(new), key=str.lower):
        a, b = old.get(name), new.get(name)
        was, now = (a.values if a else ()), (b.values if b else ())
        rows.append(
            SideBySideRow(
                name=name,
                before=was,
                after=now,
                changed=Counter(was) != Counter(now),
                added=tuple((Counter(now) - Counter(was)).elements()),
                removed=tuple((Counter(was) - Counter(now)).elements()),
                ace_changes=tuple(
                    ace_differences(_first(before, name), _first(after, name))
                    if name.lower() == SD_ATTRIBUTE.lower()
                    else ()
                ),
                before_links=a.links if a else (),
                after_links=b.links if b else (),
            )
        )
    return SideBySide(
        object=ref,
        before_at=before_at.isoformat(),
        after_at=after_at.isoformat(),
        before_exists=before is not None and not is_deleted(before),
        after_exists=after is not None and not is_deleted(after),
        rows=tuple(rows),
    )


def _first(content: Content | None, name: str) -> Any:
    values = _as_list((content or {}).get(name))
    return values[0] if values else None
