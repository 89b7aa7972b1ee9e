"""Reading a tenant for capture: the Entra side of :class:`~dirguard.providers.base.SourceReader`.

An :class:`EntraReader` holds the tenant's Graph client (with a :class:`Pacer`: the concurrency
limit, resource units and the conditional-access budget) and reads one scope per Graph collection
(:mod:`dirguard.providers.entra.collect.scopes`):

- a full read (snapshot) lists the collection (``$select``, ``$top=999``, ``$expand`` of a
  single-valued link) and reads its other linked fields per object in ``$batch`` calls; the
  scopes are read concurrently, a few pages ahead of the storing
  (:mod:`dirguard.providers.entra.collect.prefetch`), so memory does not grow with the tenant;
- a delta scope's cursor is its ``@odata.deltaLink`` (``$deltatoken=latest`` before a
  snapshot); its change read is a delta round from the stored link, each page's cursor the page's
  nextLink (the deltaLink on the last). A ``410``/``syncStateNotFound`` starts a full round,
  which is diffed against the stored state: its pages keep the cursor where it was (a crash in
  it starts it again), and its last page lists every id it returned, so that what it did not
  return is recorded as deleted (``ChangePage.complete``);
- a poll scope (no delta in Graph: policies, named locations, role assignments, PIM schedules)
  is read whole; its cursor is the hash of its normalized content, so a repoll where nothing
  changed yields no page at all (and stores nothing).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

from dirguard.catalog.graph_rules import LinkWrite
from dirguard.catalog.resource_type import ResourceType
from dirguard.config.schema import EntraTenantConfig
from dirguard.providers.base import (
    ChangePage,
    LookedUp,
    ObservedObject,
    ReadScope,
    SnapshotPage,
    SourceError,
    store_source,
)
from dirguard.providers.entra.audit_links import LinkAudit, named_objects, since_mark
from dirguard.providers.entra.collect.batch import related_items
from dirguard.providers.entra.collect.delta import delta_pages, expired, latest_link
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
    PATH_FIELD,
    Json,
    canonical,
    graph_id_of,
    normalize,
    store_id,
)
from dirguard.providers.entra.observed import (
    FULL,
    PARTIAL,
    REMOVED,
    GraphChange,
    from_delta_entry,
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


def _translated(name: str, pages: Iterator[T]) -> Iterator[T]:
    try:
        yield from pages
    except (GraphError, GraphAuthError) as error:
        raise source_error(name, error) from None


def _encode(**state: Any) -> bytes:
    return json.dumps(state, sort_keys=True).encode()


def _audited(page: ChangePage, audited: str | None) -> ChangePage:
    """``page`` with its cursor holding when the audit was last read for owner and manager
    changes."""
    if audited is None:
        return page
    state = _decode(page.cursor)
    state["audited"] = audited
    return ChangePage(changes=page.changes, cursor=_encode(**state), complete=page.complete)


def _decode(cursor: bytes) -> dict[str, Any]:
    if not cursor:
        return {}
    try:
        found = json.loads(cursor)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


class EntraReader:
    """One tenant, read as a :class:`dirguard.providers.base.SourceReader`."""

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
        self._link_audit = LinkAudit(graph, tenant.name)

    @property
    def name(self) -> str:
        return self.tenant.name

    @property
    def source(self) -> str:
        return store_source(KIND, self.tenant.name)

    def scopes(self) -> Sequence[ReadScope]:
        return [s.read_scope() for s in self._scopes]

    def graph_scope(self, scope: ReadScope) -> GraphScope:
        return find_scope(self._scopes, scope)

    # ---- full reads -------------------------------------------------------------------------

    def start_cursor(self, scope: ReadScope) -> bytes:
        try:
            return self._start_cursor(scope)
        except (GraphError, GraphAuthError) as error:
            raise source_error(self.name, error) from None

    def _start_cursor(self, scope: ReadScope) -> bytes:
        found = self.graph_scope(scope)
        if not found.delta:
            return _encode(hash=None)
        try:
            link = latest_link(self.graph, found.delta_path, found.delta_select, found.api_version)
        except GraphError as error:
            if error.status not in UNREADABLE_STATUSES:
                raise
            log.warning("%s: %s cannot be followed: %s", self.name, found.path, error)
            return _encode(link=None)
        return _encode(link=link, audited=datetime.now(UTC).isoformat())

    def read_all(self, scope: ReadScope) -> Iterator[SnapshotPage]:
        """The scope's objects page by page; every scope of the tenant is read concurrently
        from the first call on, ``lookahead`` pages ahead of the caller."""
        if self._prefetch is None:
            self._prefetch = Prefetch(
                {s.stream: partial(self._snapshot_pages, s) for s in self._scopes},
                workers=self.pacer.max_concurrency,
                lookahead=self.lookahead,
            )
        return _translated(self.name, self._prefetch.take(scope.stream))

    def _snapshot_pages(self, found: GraphScope) -> Iterator[SnapshotPage]:
        try:
            for items in self._listing(found):
                yield self._snapshot_page(found, items)
        except GraphError as error:
            if error.status not in UNREADABLE_STATUSES:
                raise
            log.warning("%s: %s not read: %s", self.name, found.path, error)
            yield SnapshotPage(unreadable=1)

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

    def look_up(self, external_id: str) -> LookedUp | None:
        """Graph keeps no tombstone dirguard could read alike for every type: an object a
        complete listing did not return is recorded as deleted (its last state kept)."""
        del external_id
        return None

    # ---- change reads -----------------------------------------------------------------------

    def read_changes(self, scope: ReadScope, cursor: bytes) -> Iterator[ChangePage]:
        found = self.graph_scope(scope)
        if found.delta:
            return _translated(self.name, self._delta_changes(found, cursor))
        return _translated(self.name, self._poll_changes(found, cursor))

    def _delta_changes(self, found: GraphScope, cursor: bytes) -> Iterator[ChangePage]:
        """The delta round, then a page of the objects whose owners or manager an audit
        record names (:mod:`~dirguard.providers.entra.audit_links`) and the round did not
        return (theirs it re-read already): their links read anew. The round's cursors keep
        when the audit was last read; that page's says now."""
        if not found.batched_links(in_delta=True) or len(found.rows) != 1:
            yield from self._delta_only(found, cursor)
            return
        audited = _decode(cursor).get("audited")
        now = datetime.now(UTC)
        named = named_objects(self._link_audit.entries(since_mark(audited, now)), found.path)
        in_round: set[str] = set()
        last: bytes | None = None
        for page in self._delta_only(found, cursor):
            in_round.update(c.graph_id for c in page.changes if isinstance(c, GraphChange))
            last = page.cursor
            yield _audited(page, audited)
        if last is None or not _decode(last).get("link"):
            return
        # one more page after the round: the named objects' links, and the audit read moved on
        extra = self._linked_only(found, sorted(named - in_round))
        yield _audited(ChangePage(changes=extra, cursor=last), now.isoformat())

    def _linked_only(self, found: GraphScope, ids: Sequence[str]) -> list[GraphChange]:
        """The objects ``ids`` (that still exist) with their read links, as partial changes."""
        if not ids:
            return []
        row = found.rows[0]
        urls = {
            i: found.source.item.format(collection=found.path, id=i) + "?$select=id" for i in ids
        }
        alive = [
            i
            for i, items in related_items(self.graph, urls, api_version=found.api_version).items()
            if items
        ]
        stubs = [
            GraphChange(external_id=store_id(row, i, None), graph_id=i, row=row, kind=PARTIAL)
            for i in alive
        ]
        return [c for c in self._relinked(found, stubs) if c.links_given]

    def _delta_only(self, found: GraphScope, cursor: bytes) -> Iterator[ChangePage]:
        link = _decode(cursor).get("link")
        held = cursor
        try:
            for page in self._delta_round(found, link, full=link is None, hold=cursor):
                held = page.cursor
                yield page
        except GraphError as error:
            if not expired(error):
                raise
            log.warning(
                "%s: the delta link of %s is no longer answered (%s): reading it whole and"
                " comparing with what is stored",
                self.name,
                found.path,
                error.code,
            )
            yield from self._delta_round(found, None, full=True, hold=held)

    def _delta_round(
        self, found: GraphScope, link: str | None, *, full: bool, hold: bytes
    ) -> Iterator[ChangePage]:
        entered: set[str] = set()
        present: set[str] = set()
        pages = delta_pages(
            self.graph, found.delta_path, found.delta_select, link, found.api_version
        )
        for page in pages:
            changes: list[GraphChange] = []
            for item in page.items:
                row = found.classify(item)
                object_id = None if row is None else row.identify(item)
                if row is None or object_id is None:
                    continue
                change = from_delta_entry(
                    row, object_id, item, first=full and object_id not in entered
                )
                entered.add(object_id)
                # the store's ids (a grant's is "oauth2PermissionGrants/<id>"), as ``complete``
                if change.kind == REMOVED:
                    present.discard(change.external_id)
                else:
                    present.add(change.external_id)
                changes.append(change)
            changes = self._relinked(found, changes)
            last = page.delta_link is not None
            if last:
                after = _encode(link=page.delta_link)
            elif full:
                after = hold  # a full round moves the cursor only at its end
            else:
                after = _encode(link=page.next_link)
            complete = frozenset(present) if full and last else None
            yield ChangePage(changes=changes, cursor=after, complete=complete)

    def _relinked(self, found: GraphScope, changes: list[GraphChange]) -> list[GraphChange]:
        """Changed objects with their linked fields that delta does not report, read anew."""
        wanted = [c.graph_id for c in changes if c.kind != REMOVED]
        links = self._links(found, wanted, in_delta=True)
        if not links:
            return changes
        out = []
        for change in changes:
            extra = links.get(change.graph_id)
            if extra:
                content = dict(change.content)
                content.update({k: v for k, v in normalize(change.row, extra).items()})
                for name, values in extra.items():
                    if not values:
                        content.pop(name, None)
                change = GraphChange(
                    external_id=change.external_id,
                    graph_id=change.graph_id,
                    row=change.row,
                    kind=change.kind,
                    content=content,
                    cleared=change.cleared | {n for n, v in extra.items() if not v},
                    links_added=change.links_added,
                    links_removed=change.links_removed,
                    links_given=change.links_given | frozenset(extra),
                )
            out.append(change)
        return out

    def _poll_changes(self, found: GraphScope, cursor: bytes) -> Iterator[ChangePage]:
        try:
            pages = [self._snapshot_page(found, items) for items in self._listing(found)]
        except GraphError as error:
            if error.status not in UNREADABLE_STATUSES:
                raise
            log.warning("%s: %s not read: %s", self.name, found.path, error)
            return
        objects = [o for page in pages for o in page.objects]
        digest = hashlib.sha256()
        for observed in sorted(objects, key=lambda o: o.external_id):
            digest.update(
                canonical(
                    [observed.external_id, observed.resource_type.key, observed.content]
                ).encode()
            )
        text = digest.hexdigest()
        if _decode(cursor).get("hash") == text:
            return
        changes = [
            GraphChange(
                external_id=o.external_id,
                graph_id=graph_id_of(o.resource_type, o.content) or o.external_id,
                row=o.resource_type,
                kind=FULL,
                content=dict(o.content),
                links_given=o.resource_type.linked_fields,
            )
            for o in objects
        ]
        chunks = [changes[i : i + POLL_PAGE] for i in range(0, len(changes), POLL_PAGE)] or [[]]
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1
            yield ChangePage(
                changes=chunk,
                cursor=_encode(hash=text) if last else cursor,
                complete=frozenset(o.external_id for o in objects) if last else None,
            )

    # ---- the rest of the protocol -----------------------------------------------------------

    @property
    def path_field(self) -> str:
        return PATH_FIELD

    def changes_incomplete(self) -> bool:
        return False

    def audit(self) -> DirectoryAuditSource:
        """The tenant's ``auditLogs/directoryAudits`` (one source per reader)."""
        if self._audit is None:
            self._audit = DirectoryAuditSource(self.graph)
        return self._audit

    def close(self) -> None:
        if self._prefetch is not None:
            self._prefetch.close()
            self._prefetch = None
        self.graph.close()

    def __enter__(self) -> EntraReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
