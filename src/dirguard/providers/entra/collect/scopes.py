"""Which Graph collections a tenant's reader follows, and how (from the resource-type rows).

Every Entra row whose source is a Graph collection and whose collection mode is delta or poll +
hash is read; rows sharing one collection are one scope (an object is classified to its row by
the rows' selectors). A scope's cursor stream names the mode and collection
(``delta:users``, ``poll:identity/conditionalAccess/policies``).

What a row declares (``GraphSource``) decides the requests: ``$select`` is exactly its declared
fields; a singleton (``policies/authorizationPolicy``) is one object, read without ``$top``; a
collection under each object of a parent type (``servicePrincipals/{parent}/appRoleAssignedTo``)
is read once per parent, in ``$batch`` calls; the delta function is the declared one. Links
(``GraphLink``) are read as declared: ``members@delta`` with a delta round (``LinkRead.DELTA``;
a full read lists them per object), the others per object in ``$batch`` calls, 20 objects per
call — except a single-valued link a list read can ``$expand`` (a user's ``manager``: "user:
list", https://learn.microsoft.com/graph/api/user-list), which costs no call at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dirguard.catalog.graph_rules import GraphLink, LinkRead, LinkWrite
from dirguard.catalog.resource_type import Collection, GraphSource, ResourceType, select_type
from dirguard.providers.base import ReadScope
from dirguard.providers.entra.graph_content import Json

EXPANDABLE = {"users": frozenset({"manager"})}
"""Single-valued links a list read of the collection may ``$expand`` (one per request)."""


@dataclass(frozen=True, kw_only=True)
class GraphScope:
    """One collection read as one scope."""

    rows: tuple[ResourceType, ...]
    mode: Collection

    @property
    def source(self) -> GraphSource:
        found = self.rows[0].source
        assert isinstance(found, GraphSource)
        return found

    @property
    def path(self) -> str:
        return self.source.collection

    @property
    def api_version(self) -> str:
        return self.source.api_version

    @property
    def delta(self) -> bool:
        return self.mode is Collection.GRAPH_DELTA and self.source.parent is None

    @property
    def delta_path(self) -> str:
        return self.source.delta or f"{self.path}/delta"

    @property
    def stream(self) -> str:
        return f"{'delta' if self.delta else 'poll'}:{self.path}"

    def read_scope(self) -> ReadScope:
        return ReadScope(
            name=self.path, stream=self.stream, type_keys=frozenset(r.key for r in self.rows)
        )

    @property
    def links(self) -> tuple[GraphLink, ...]:
        found: dict[str, GraphLink] = {}
        for row in self.rows:
            assert isinstance(row.source, GraphSource)
            for link in row.source.links:
                found.setdefault(link.field, link)
        return tuple(found.values())

    @property
    def expand(self) -> GraphLink | None:
        allowed = EXPANDABLE.get(self.path, frozenset())
        for link in self.links:
            if link.single and link.read is LinkRead.RELATIONSHIP and link.path in allowed:
                return link
        return None

    @property
    def select(self) -> tuple[str, ...]:
        fields = {link.field.lower() for link in self.links}
        names: dict[str, None] = {}
        for row in self.rows:
            assert isinstance(row.source, GraphSource)
            for name in row.source.select:
                if name.lower() not in fields:
                    names[name] = None
        if not names:
            return ()
        return ("id", *(n for n in names if n != "id"))

    @property
    def delta_select(self) -> tuple[str, ...]:
        """A delta round's ``$select``: the declared fields and the links it reports itself
        (``members``: Graph sends ``members@delta`` only when it is selected, "group: delta",
        https://learn.microsoft.com/graph/api/group-delta)."""
        select = self.select
        if not select:
            return ()
        return (*select, *(link.path for link in self.links if link.read is LinkRead.DELTA))

    def batched_links(self, *, in_delta: bool) -> tuple[GraphLink, ...]:
        """Links read per object (``$batch``): all but the one a listing expands, and, in a
        delta round (which expands nothing: ``users/delta`` is read without ``$expand``),
        all but those the round reports itself."""
        expanded = None if in_delta else self.expand
        return tuple(
            link
            for link in self.links
            if link is not expanded and not (in_delta and link.read is LinkRead.DELTA)
        )

    def link_url(self, link: GraphLink, object_id: str) -> str:
        """One object's relationship read (``$select=id`` for links to directory objects)."""
        item = self.source.item.format(collection=self.path, id=object_id)
        if link.write is LinkWrite.OBJECTS:
            query = ""
        elif link.single:
            query = "?$select=id"
        else:  # the largest page a directory-object relationship allows
            query = "?$select=id&$top=999"
        return f"{item}/{link.path}{query}"

    def classify(self, item: Json) -> ResourceType | None:
        if len(self.rows) == 1:
            return self.rows[0]
        return select_type(self.rows, item)


def graph_scopes(rows: Iterable[ResourceType]) -> list[GraphScope]:
    """The scopes of the Graph rows, in declaration order (a parent's before its children)."""
    grouped: dict[tuple[str, str, Collection], list[ResourceType]] = {}
    for row in rows:
        source = row.source
        if not isinstance(source, GraphSource):
            continue
        if row.collection not in (Collection.GRAPH_DELTA, Collection.POLL_HASH):
            continue
        key = (source.collection, source.api_version, row.collection)
        grouped.setdefault(key, []).append(row)
    return [GraphScope(rows=tuple(found), mode=mode) for (_p, _v, mode), found in grouped.items()]


def find_scope(scopes: Sequence[GraphScope], scope: ReadScope) -> GraphScope:
    for found in scopes:
        if found.stream == scope.stream:
            return found
    raise KeyError(f"no Graph collection is read as {scope.stream!r}")


def parent_scope(scopes: Sequence[GraphScope], found: GraphScope) -> GraphScope | None:
    """The scope of the type whose objects hold ``found``'s collection."""
    key = found.source.parent
    if key is None:
        return None
    return next((s for s in scopes if key in {r.key for r in s.rows}), None)
