"""What a Graph read returns, as the source-neutral capture applies it to the stored state.

Three kinds of :class:`GraphChange` (a :class:`~dirguard.providers.base.ObservedChange`):

- ``full``: the object's whole state (a list or poll read, or the first entry of an object in a
  full delta round): the new state is it, except the linked fields the read does not deliver
  (they keep their stored values);
- ``partial``: an entry of a later delta round: "at least the changed properties", so the
  properties it names replace the stored ones (``null`` clears), the others stay; link changes
  (``members@delta``) add and remove single values;
- ``removed``: ``@removed`` (or missing from a complete listing): one delete event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dirguard.catalog.resource_type import ResourceType
from dirguard.providers.entra.graph_content import (
    DELETED,
    Applied,
    Content,
    changed,
    link_ids,
    normalize,
    object_path,
    ordered,
    removed,
    store_id,
)

FULL = "full"
PARTIAL = "partial"
REMOVED = "removed"


@dataclass(frozen=True, kw_only=True)
class GraphChange:
    """One object's change as a Graph read returned it."""

    external_id: str
    """The store's id (:func:`~dirguard.providers.entra.graph_content.store_id`)."""
    graph_id: str
    row: ResourceType
    kind: str
    content: Content = field(default_factory=dict)
    """``full``: the state read; ``partial``: the properties the entry names."""
    cleared: frozenset[str] = frozenset()
    """``partial``: properties the entry names as ``null``."""
    links_added: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    links_removed: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    links_given: frozenset[str] = frozenset()
    """Linked fields whose whole value ``content`` holds (read, or a full round's first entry)."""

    @property
    def path(self) -> str:
        return object_path(self.row, self.graph_id, self.content)

    def resource_type(self) -> ResourceType:
        return self.row

    def apply(self, previous: Content | None, volatile: frozenset[str]) -> Applied | None:
        del volatile  # normalization left the row's volatile fields out already
        if self.kind == REMOVED:
            return removed(self.path, previous)
        base = {k: v for k, v in (previous or {}).items() if k != DELETED}
        if self.kind == FULL:
            kept = {
                name: base[name]
                for name in self.row.linked_fields
                if name in base and name not in self.links_given
            }
            new: Content = {**self.content, **kept}
        else:
            new = {**base, **self.content}
            for name in self.cleared:
                new.pop(name, None)
        for name, ids in self.links_added.items():
            new[name] = ordered(self.row, name, [*new.get(name, []), *ids])
        for name, ids in self.links_removed.items():
            left = [v for v in new.get(name, []) if v not in ids]
            if left:
                new[name] = left
            else:
                new.pop(name, None)
        return changed(self.row, self.path, previous, new)


def link_delta(entries: Any) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A ``members@delta`` list as (ids added, ids removed)."""
    added: list[str] = []
    gone: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("id"):
            continue
        (gone if "@removed" in entry else added).append(str(entry["id"]))
    return tuple(added), tuple(gone)


def from_delta_entry(
    row: ResourceType, object_id: str, item: Mapping[str, Any], *, first: bool
) -> GraphChange:
    """A delta entry as a change: ``first`` for an object's first entry in a full round (its
    whole state: ``members@delta`` then lists every member)."""
    if "@removed" in item:
        return GraphChange(
            external_id=store_id(row, object_id, item), graph_id=object_id, row=row, kind=REMOVED
        )
    linked = {name.lower(): name for name in row.linked_fields}
    for link in getattr(row.source, "links", ()):
        linked[link.path.lower()] = link.field
    plain = {k: v for k, v in item.items() if not k.endswith("@delta")}
    content = normalize(row, plain)
    added: dict[str, tuple[str, ...]] = {}
    gone: dict[str, tuple[str, ...]] = {}
    given: set[str] = set()
    for key, value in item.items():
        if not key.endswith("@delta"):
            continue
        name = linked.get(key.removesuffix("@delta").lower())
        if name is None:
            continue
        plus, minus = link_delta(value)
        if first:
            given.add(name)
            if plus:
                content[name] = ordered(row, name, list(plus))
        else:
            added[name], gone[name] = plus, minus
    for name in row.linked_fields:
        if name in item and "@" not in name:
            given.add(name)
            ids = link_ids(item[name])
            if ids:
                content[name] = ordered(row, name, ids)
    if first:
        return GraphChange(
            external_id=store_id(row, object_id, item),
            graph_id=object_id,
            row=row,
            kind=FULL,
            content=content,
            links_given=frozenset(given),
        )
    # a property given as null or as an empty collection (the last client secret removed:
    # ``"passwordCredentials": []``) holds nothing now; normalization leaves both out
    cleared = frozenset(
        k for k, v in item.items() if v in (None, []) and "@" not in k and k not in content
    )
    return GraphChange(
        external_id=store_id(row, object_id, item),
        graph_id=object_id,
        row=row,
        kind=PARTIAL,
        content=content,
        cleared=cleared,
        links_added=added,
        links_removed=gone,
    )
