"""The objects of a tenant's collections as dirguard stores them: the listing of a scope (its
``$select``, ``$top``, ``$expand``; under each parent for a collection held by a parent's
objects) and the links read per object in ``$batch`` calls, normalized into
:class:`~dirguard.providers.base.ObservedObject` pages; and what the reader's modules share
(cursor encoding, Graph failures as :class:`~dirguard.providers.base.SourceError`).

:class:`GraphObjectReads` is the base of :class:`~dirguard.providers.entra.read.EntraReader`:
the change reads (:mod:`~dirguard.providers.entra.read_changes`) and the snapshot use it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

from dirguard.catalog.graph_rules import LinkWrite
from dirguard.catalog.resource_type import ResourceType
from dirguard.config.schema import EntraTenantConfig
from dirguard.providers.base import (
    ChangePage,
    ObservedObject,
    ReadScope,
    SnapshotPage,
    SourceError,
    store_source,
)
from dirguard.providers.entra.audit_links import LinkAudit
from dirguard.providers.entra.collect.batch import related_items
from dirguard.providers.entra.collect.pacing import Pacer
from dirguard.providers.entra.collect.paging import Listing, list_pages
from dirguard.providers.entra.collect.prefetch import Prefetch
from dirguard.providers.entra.collect.scopes import (
    GraphScope,
    find_scope,
    graph_scopes,
    parent_scope,
)
from dirguard.providers.entra.directory_audit import DirectoryAuditSource
from dirguard.providers.entra.graph_client import GraphAuthError, GraphClient, GraphError
from dirguard.providers.entra.graph_content import (
    Json,
    normalize,
    store_id,
)
from dirguard.providers.registry import RESOURCE_TYPES

log = logging.getLogger(__name__)

T = TypeVar("T")
KIND = "entra"
POLL_PAGE = 500
"""Changes per stored page of a poll read."""
LINKED_CHUNK = 40
"""Objects whose relationships are read together in a snapshot (2 batches of 20 objects' reads,
or 4 for two links each, in flight at once): their links held at once, not a page's."""
UNREADABLE_STATUSES = frozenset({403, 404, 400, 501})
"""A collection the tenant does not offer or the app may not read: skipped with a warning."""


def source_error(name: str, error: GraphError | GraphAuthError) -> SourceError:
    """A Graph failure as the source-neutral use cases handle it: refused (no token, 401,
    403) or worth retrying later."""
    if isinstance(error, GraphAuthError):
        return SourceError(str(error), refused=True)
    return SourceError(f"tenant {name}: {error}", refused=error.status in (401, 403))


def translated(name: str, pages: Iterator[T]) -> Iterator[T]:
    try:
        yield from pages
    except (GraphError, GraphAuthError) as error:
        raise source_error(name, error) from None


def encode_cursor(**state: Any) -> bytes:
    return json.dumps(state, sort_keys=True).encode()


def with_audit_mark(page: ChangePage, audited: str | None) -> ChangePage:
    """``page`` with its cursor holding when the audit was last read for owner and manager
    changes."""
    if audited is None:
        return page
    state = decode_cursor(page.cursor)
    state["audited"] = audited
    return ChangePage(changes=page.changes, cursor=encode_cursor(**state), complete=page.complete)


def decode_cursor(cursor: bytes) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        found = json.loads(cursor)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


class GraphObjectReads:
    """One tenant's Graph client, scopes and the object reads (the base of ``EntraReader``)."""

    def __init__(
        self,
        graph: GraphClient,
        tenant: EntraTenantConfig,
        *,
        pacer: Pacer | None = None,
        page_size: int = 999,
        lookahead: int = 4,
        types: Sequence[ResourceType] | None = None,
    ) -> None:
        """``types``: the rows to read (default: every Entra row; the benchmark reads a few)."""
        self.graph = graph
        self.tenant = tenant
        if graph.pacer is None:
            graph.pacer = pacer or Pacer()
        self.pacer = graph.pacer
        self.page_size = page_size
        self.lookahead = lookahead
        self._scopes = graph_scopes(RESOURCE_TYPES.of_provider(KIND) if types is None else types)
        self._no_top: set[str] = set()
        self._prefetch: Prefetch[SnapshotPage] | None = None
        self._audit: DirectoryAuditSource | None = None
        self._refused_links: set[str] = set()
        self._unreadable: set[str] = set()
        self._link_audit = LinkAudit(graph, tenant.name)

    @property
    def name(self) -> str:
        return self.tenant.name

    def not_readable(self, found: GraphScope, error: GraphError, what: str = "not read") -> None:
        """Log that Graph refuses a collection (403, 404…): a WARNING the first time, DEBUG on
        the passes after (a monitor polls every few minutes; the operator is told once)."""
        repeated = found.path in self._unreadable
        self._unreadable.add(found.path)
        if repeated:
            log.debug("%s: %s %s: %s", self.name, found.path, what, error)
        else:
            log.warning(
                "%s: %s %s: %s (said once; DEBUG on later passes)",
                self.name,
                found.path,
                what,
                error,
            )

    def readable(self, found: GraphScope) -> None:
        """A collection refused before was read: say so once."""
        if found.path in self._unreadable:
            self._unreadable.discard(found.path)
            log.info("%s: %s is readable again", self.name, found.path)

    @property
    def source(self) -> str:
        return store_source(KIND, self.tenant.name)

    def scopes(self) -> Sequence[ReadScope]:
        return [s.read_scope() for s in self._scopes]

    def graph_scope(self, scope: ReadScope) -> GraphScope:
        return find_scope(self._scopes, scope)

    # ---- objects and their links ------------------------------------------------------------

    def _snapshot_page(self, found: GraphScope, items: list[Json]) -> SnapshotPage:
        page = SnapshotPage()
        known: list[tuple[str, ResourceType, Json]] = []
        for item in items:
            row = found.classify(item)
            if row is None:
                page.read += 1
                page.not_in_catalog[str(item.get("@odata.type", found.path))] += 1
                continue
            object_id = row.identify(item)
            if object_id is None:
                page.unreadable += 1
                continue
            page.read += 1
            known.append((object_id, row, item))
        if not found.batched_links(in_delta=False):
            page.objects.extend(self._observed(found, known))
            return page
        for start in range(0, len(known), LINKED_CHUNK):
            # a few batches of relationship reads at a time, each object normalized as soon
            # as its links are in (its members' JSON let go), not a whole page's groups at once
            page.objects.extend(self._observed(found, known[start : start + LINKED_CHUNK]))
        return page

    def _observed(
        self, found: GraphScope, known: Sequence[tuple[str, ResourceType, Json]]
    ) -> Iterator[ObservedObject]:
        links = self._links(found, [object_id for object_id, _r, _i in known], in_delta=False)
        for object_id, row, item in known:
            content = normalize(row, {**item, **links.pop(object_id, {})})
            yield ObservedObject(
                external_id=store_id(row, object_id, item), resource_type=row, content=content
            )

    def _listing(self, found: GraphScope) -> Iterator[list[Json]]:
        """The collection's items page by page (under each parent object, for a collection
        held by the objects of a parent type)."""
        parent = parent_scope(self._scopes, found)
        if found.source.parent is not None:
            if parent is None:
                return
            yield from self._children(found, parent)
            return
        listing = Listing(
            path=found.path,
            select=found.select,
            expand=found.expand.path if found.expand is not None else None,
            api_version=found.api_version,
            page_size=None
            if found.source.singleton or found.path in self._no_top
            else self.page_size,
        )
        try:
            yield from list_pages(self.graph, listing)
        except GraphError as error:
            # a collection that takes no $top (Graph answers 400): once more without it
            if error.status != 400 or listing.page_size is None:
                raise
            self._no_top.add(found.path)
            yield from self._listing(found)

    def _children(self, found: GraphScope, parent: GraphScope) -> Iterator[list[Json]]:
        """A collection below each object of ``parent``: the parents' ids (``$select=id``),
        then one read per parent, 20 to a ``$batch``."""
        ids = Listing(path=parent.path, select=("id",), api_version=parent.api_version)
        query = f"?$select={','.join(found.select)}" if found.select else ""
        for parents in list_pages(self.graph, ids):
            urls = {
                str(p["id"]): found.path.replace("{parent}", str(p["id"])) + query
                for p in parents
                if p.get("id")
            }
            read = related_items(self.graph, urls, api_version=found.api_version)
            yield [item for values in read.values() for item in values or []]

    def _links(
        self, found: GraphScope, ids: Sequence[str], *, in_delta: bool
    ) -> dict[str, dict[str, list[Any]]]:
        """``{object id: {linked field: values}}`` of the links read per object (``$batch``);
        a link the account may not read is left out (what was stored of it stays)."""
        links = found.batched_links(in_delta=in_delta)
        if not links or not ids:
            return {}
        urls = {
            f"{object_id}\x00{n}": found.link_url(link, object_id)
            for object_id in ids
            for n, link in enumerate(links)
        }
        ids_only = {
            key for key in urls if links[int(key.split("\x00")[1])].write is not LinkWrite.OBJECTS
        }

        def keep(key: str, item: Json) -> Any:
            """A link to directory objects holds their ids (what normalizing keeps of them)."""
            if key not in ids_only:
                return item
            return str(item["id"]) if item.get("id") else None

        read = related_items(self.graph, urls, api_version=found.api_version, keep=keep)
        values: dict[str, dict[str, list[Any]]] = {}
        refused: set[str] = set()
        for key, items in read.items():
            object_id, n = key.split("\x00")
            link = links[int(n)]
            if items is None:
                refused.add(link.field)
                continue
            values.setdefault(object_id, {})[link.field] = items
        for field in sorted(refused - self._refused_links):
            log.warning(
                "%s: %s %s not read (refused); kept as stored", self.name, found.path, field
            )
        self._refused_links |= refused
        return values
