"""Which Graph collections a tenant's reader follows, and how (from the resource-type rows).

Every Entra row whose source is a Graph collection and whose collection mode is delta or poll +
hash is read; rows sharing one collection are one scope (an object is classified to its row by
the rows' selectors). A scope's cursor stream names the mode and collection
(``delta:users``, ``poll:identity/conditionalAccess/policies``).

``$select`` is exactly the rows' declared fields (with ``id``), their linked fields left out:
those are navigation properties, read by ``$expand`` where a list read can expand them (a user's
``manager``), from ``members@delta`` in delta rounds, and else per object in ``$batch`` calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dirguard.catalog.resource_type import Collection, GraphSource, ResourceType, select_type
from dirguard.providers.base import ReadScope
from dirguard.providers.entra.graph_content import Json

EXPANDABLE = {"users": frozenset({"manager"})}
"""Single-valued navigation properties a list read of the collection may ``$expand`` (Graph
expands one property per request; "user: list", https://learn.microsoft.com/graph/api/user-list)."""
DELTA_LINKS = frozenset({"members"})
"""Linked fields a delta round reports itself (``members@delta``)."""


@dataclass(frozen=True, kw_only=True)
class GraphScope:
    """One collection read as one scope."""

    path: str
    api_version: str
    mode: Collection
    rows: tuple[ResourceType, ...]

    @property
    def stream(self) -> str:
        kind = "delta" if self.mode is Collection.GRAPH_DELTA else "poll"
        return f"{kind}:{self.path}"

    def read_scope(self) -> ReadScope:
        return ReadScope(
            name=self.path, stream=self.stream, type_keys=frozenset(r.key for r in self.rows)
        )

    @property
    def linked(self) -> tuple[str, ...]:
        return tuple(sorted({name for row in self.rows for name in row.linked_fields}))

    @property
    def expand(self) -> str | None:
        found = sorted(EXPANDABLE.get(self.path, frozenset()) & set(self.linked))
        return found[0] if found else None

    @property
    def select(self) -> tuple[str, ...]:
        linked = {name.lower() for name in self.linked}
        names: dict[str, None] = {}
        for row in self.rows:
            assert isinstance(row.source, GraphSource)
            for name in row.source.select:
                if name.lower() not in linked:
                    names[name] = None
        if not names:
            return ()
        return ("id", *(n for n in names if n != "id"))

    def batched_links(self, *, in_delta: bool) -> tuple[str, ...]:
        """Linked fields read per object (``$batch``): those neither expanded nor, in a delta
        round, reported by the round itself."""
        skip = {self.expand} | (set(DELTA_LINKS) if in_delta and self.delta else set())
        return tuple(name for name in self.linked if name not in skip)

    @property
    def delta(self) -> bool:
        return self.mode is Collection.GRAPH_DELTA

    def classify(self, item: Json) -> ResourceType | None:
        if len(self.rows) == 1:
            return self.rows[0]
        return select_type(self.rows, item)


def graph_scopes(rows: Iterable[ResourceType]) -> list[GraphScope]:
    """The scopes of the Graph rows, in declaration order."""
    grouped: dict[tuple[str, str, Collection], list[ResourceType]] = {}
    for row in rows:
        source = row.source
        if not isinstance(source, GraphSource):
            continue
        if row.collection not in (Collection.GRAPH_DELTA, Collection.POLL_HASH):
            continue
        key = (source.collection, source.api_version, row.collection)
        grouped.setdefault(key, []).append(row)
    return [
        GraphScope(path=path, api_version=version, mode=mode, rows=tuple(found))
        for (path, version, mode), found in grouped.items()
    ]


def find_scope(scopes: Sequence[GraphScope], scope: ReadScope) -> GraphScope:
    for found in scopes:
        if found.stream == scope.stream:
            return found
    raise KeyError(f"no Graph collection is read as {scope.stream!r}")
