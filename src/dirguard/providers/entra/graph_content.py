"""Graph objects as dirguard stores them, and the change events between two states.

A Graph object's stored content is its JSON in the store's field -> values form (as for AD, so
history, ``show --at`` and the hash chain read it alike): each property a list of values (a
scalar as one value, an array as its values), ``null`` and empty arrays left out, OData
annotations left out (but the ``@odata.type`` of a derived type its row writes: creating a
named location anew needs it), the row's volatile fields left out (a repoll where only they
moved stores nothing) and the values of its unordered fields in one fixed order. A linked field
(a navigation property: ``members``, ``owners``, ``manager``) holds the ids it points to. A
removed object keeps its last state with the store's deletion marker ``isDeleted: ["TRUE"]``
(what :mod:`dirguard.services.history` replays a delete event into).

Events (:func:`diff`): one per changed property (``modify``, old and new as one value or a list),
and one per value added to or removed from a linked or unordered field (``add-value`` /
``remove-value``: a member added is one event).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _json_text
from typing import Any

from dirguard.catalog.graph_rules import LinkWrite
from dirguard.catalog.resource_type import GraphSource, ResourceType
from dirguard.core.change_op import ChangeOp

Content = dict[str, list[Any]]
Json = dict[str, Any]

DELETED = "isDeleted"
"""The store's deletion marker field (value ``["TRUE"]``), shared with AD's history replay."""
ODATA_TYPE = "@odata.type"
PATH_FIELD = "id"
"""What delete events of Graph objects name as their attribute."""


@dataclass(frozen=True, kw_only=True)
class FieldChange:
    """One change event (a :class:`dirguard.providers.base.FieldChange`)."""

    op: str
    attribute: str | None
    old: Any = None
    new: Any = None


@dataclass(frozen=True, kw_only=True)
class Applied:
    """An observed change applied to the stored state (a ``providers.base.AppliedChange``)."""

    content: Content
    changes: tuple[FieldChange, ...]


def canonical(value: Any) -> str:
    """A value's comparison key: its JSON with sorted keys."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _lowered(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.lower() for name in names)


def link_ids(value: Any) -> list[str]:
    """The ids a navigation property's value names (an object, a list of objects, ids)."""
    items = value if isinstance(value, list) else [value]
    found: list[str] = []
    for item in items:
        if isinstance(item, dict) and item.get("id"):
            found.append(str(item["id"]))
        elif isinstance(item, str) and item:
            found.append(item)
    return found


def multi_valued(row: ResourceType) -> frozenset[str]:
    """Fields compared value by value (linked and unordered), lowercased."""
    return _lowered(row.linked_fields | row.unordered_fields)


def ordered(row: ResourceType, name: str, values: list[Any]) -> list[Any]:
    return _in_order(values) if name.lower() in multi_valued(row) else values


def _in_order(values: list[Any]) -> list[Any]:
    """The distinct values sorted by :func:`canonical` (a text's canonical form is its JSON
    string, which the C encoder gives without building a JSON encoder per value)."""
    if all(isinstance(v, str) for v in values):
        unique = {_json_text(v): v for v in values}
    else:
        unique = {canonical(v): v for v in values}
    return [unique[k] for k in sorted(unique)]


def object_links(row: ResourceType) -> frozenset[str]:
    """Linked fields whose values are objects of their own (``LinkWrite.OBJECTS``:
    authentication methods, federated credentials), lowercased; the others hold ids."""
    links = getattr(row.source, "links", ())
    return frozenset(link.field.lower() for link in links if link.write is LinkWrite.OBJECTS)


def _plain(value: Any) -> Any:
    """An object without its OData annotations."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if "@odata." not in k}
    return value


def normalize(row: ResourceType, item: Mapping[str, Any]) -> Content:
    """A Graph JSON object as stored content (see the module docstring)."""
    volatile = _lowered(row.volatile_fields)
    linked = _lowered(row.linked_fields)
    multi = multi_valued(row)
    objects = object_links(row)
    content: Content = {}
    derived = row.writes is not None and row.writes.odata_type
    for name, value in item.items():
        if name == ODATA_TYPE and derived and isinstance(value, str):
            content[name] = [value]  # a derived type (a named location's): creating anew needs it
            continue
        if "@" in name or name.lower() in volatile or value is None:
            continue
        if name.lower() in objects:
            items = value if isinstance(value, list) else [value]
            values: list[Any] = [_plain(v) for v in items if isinstance(v, dict)]
        elif name.lower() in linked:
            values = link_ids(value)
        elif isinstance(value, list):
            values = list(value)
        else:
            values = [value]
        if values:
            content[name] = _in_order(values) if name.lower() in multi else values
    return content


def object_path(
    row: ResourceType, external_id: str, content: Mapping[str, Any] | None = None
) -> str:
    """Where the object lives, as its store row says: its item path (``{collection}/{id}``; a
    singleton's collection; under its parent's id for a collection below each parent)."""
    source = row.source
    if not isinstance(source, GraphSource):
        return f"{row.key}/{external_id}"
    collection = source.collection
    if "{parent}" in collection and source.parent_field and content is not None:
        held = content.get(source.parent_field)
        parent = held[0] if isinstance(held, list) and held else held
        if parent:
            collection = collection.replace("{parent}", str(parent))
    return source.item.format(collection=collection, id=external_id)


def store_id(row: ResourceType, graph_id: str, item: Mapping[str, Any] | None = None) -> str:
    """The object's id in the store: its Graph id when that is a GUID (directory objects,
    policies: unique in the tenant), else its item path (``{collection}/{id}``): a role
    assignment's id is also its schedule's, and a singleton's id is its name."""
    try:
        uuid.UUID(graph_id)
    except ValueError:
        return object_path(row, graph_id, item)
    return graph_id


class _FirstValues(Mapping[str, Any]):
    """A stored state read as Graph's JSON: each field's first value (built on demand, not
    copied: a row's identity reads one or two fields of a user's thirty)."""

    def __init__(self, content: Mapping[str, Any]) -> None:
        self._content = content

    def __getitem__(self, name: str) -> Any:
        value = self._content[name]
        return value[0] if isinstance(value, list) and value else value

    def __iter__(self) -> Iterator[str]:
        return iter(self._content)

    def __len__(self) -> int:
        return len(self._content)


def graph_id_of(row: ResourceType, content: Mapping[str, Any]) -> str | None:
    """The Graph id a stored state holds (as the row identifies it)."""
    return row.identify(_FirstValues(content))


def _presented(values: list[Any] | None) -> Any:
    if not values:
        return None
    return values[0] if len(values) == 1 else list(values)


def diff(row: ResourceType, old: Content, new: Content) -> list[FieldChange]:
    """The events between two states (volatile fields and the deletion marker left out)."""
    skip = _lowered(row.volatile_fields) | {DELETED.lower()}
    multi = multi_valued(row)
    changes: list[FieldChange] = []
    for name in sorted(set(old) | set(new)):
        lowered = name.lower()
        if lowered in skip:
            continue
        before, after = old.get(name) or [], new.get(name) or []
        if lowered in multi:
            had = {canonical(v): v for v in before}
            has = {canonical(v): v for v in after}
            changes.extend(
                FieldChange(op=ChangeOp.ADD_VALUE, attribute=name, new=has[k])
                for k in sorted(has.keys() - had.keys())
            )
            changes.extend(
                FieldChange(op=ChangeOp.REMOVE_VALUE, attribute=name, old=had[k])
                for k in sorted(had.keys() - has.keys())
            )
        elif canonical(before) != canonical(after):
            changes.append(
                FieldChange(
                    op=ChangeOp.MODIFY,
                    attribute=name,
                    old=_presented(before),
                    new=_presented(after),
                )
            )
    return changes


def is_deleted(content: Mapping[str, Any] | None) -> bool:
    return content is not None and content.get(DELETED) == ["TRUE"]


def created(row: ResourceType, content: Content) -> Applied:
    shown = {k: v for k, v in content.items() if k.lower() not in _lowered(row.volatile_fields)}
    return Applied(
        content=content, changes=(FieldChange(op=ChangeOp.CREATE, attribute=None, new=shown),)
    )


def removed(path: str, previous: Content | None) -> Applied | None:
    """The object left the collection (deleted, or soft-deleted into ``deletedItems``)."""
    if previous is None or is_deleted(previous):
        return None
    content = {**previous, DELETED: ["TRUE"]}
    return Applied(
        content=content,
        changes=(FieldChange(op=ChangeOp.DELETE, attribute=PATH_FIELD, old=path),),
    )


def changed(row: ResourceType, path: str, previous: Content | None, new: Content) -> Applied | None:
    """``previous`` -> ``new`` as events; an object stored as removed that is back (restored from
    ``deletedItems``) starts with an ``undelete`` event. ``None`` when nothing changed."""
    if previous is None:
        return created(row, new)
    changes = diff(row, previous, new)
    if is_deleted(previous):
        changes.insert(
            0, FieldChange(op=ChangeOp.UNDELETE, attribute=PATH_FIELD, old=path, new=path)
        )
    if not changes:
        return None
    return Applied(content=new, changes=tuple(changes))
