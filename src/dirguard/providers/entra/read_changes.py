"""The change reads of a tenant's scopes: a delta round from the stored deltaLink (a
``410``/``syncStateNotFound`` answered with a full round diffed against the store), the links
delta does not report read anew, owner and manager changes found in the directory audit; and
a poll scope's whole read, hashed, so a repoll where nothing changed yields no page.
See :mod:`dirguard.providers.entra.read` for the cursors."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from dirguard.providers.base import (
    ChangePage,
)
from dirguard.providers.entra.audit_links import named_objects, since_mark
from dirguard.providers.entra.collect.batch import related_items
from dirguard.providers.entra.collect.delta import delta_pages, expired
from dirguard.providers.entra.collect.scopes import (
    GraphScope,
)
from dirguard.providers.entra.graph_client import GraphError
from dirguard.providers.entra.graph_content import (
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
from dirguard.providers.entra.read_objects import (
    POLL_PAGE,
    UNREADABLE_STATUSES,
    GraphObjectReads,
    decode_cursor,
    encode_cursor,
    with_audit_mark,
)

log = logging.getLogger(__name__)


class GraphChangeReads(GraphObjectReads):
    """Delta and poll reads (the change half of ``EntraReader``)."""

    def _delta_changes(self, found: GraphScope, cursor: bytes) -> Iterator[ChangePage]:
        """The delta round, then a page of the objects whose owners or manager an audit
        record names (:mod:`~dirguard.providers.entra.audit_links`) and the round did not
        return (theirs it re-read already): their links read anew. The round's cursors keep
        when the audit was last read; that page's says now."""
        if not found.batched_links(in_delta=True) or len(found.rows) != 1:
            yield from self._delta_only(found, cursor)
            return
        audited = decode_cursor(cursor).get("audited")
        now = datetime.now(UTC)
        named = named_objects(self._link_audit.entries(since_mark(audited, now)), found.path)
        in_round: set[str] = set()
        last: bytes | None = None
        for page in self._delta_only(found, cursor):
            in_round.update(c.graph_id for c in page.changes if isinstance(c, GraphChange))
            last = page.cursor
            yield with_audit_mark(page, audited)
        if last is None or not decode_cursor(last).get("link"):
            return
        # one more page after the round: the named objects' links, and the audit read moved on
        extra = self._linked_only(found, sorted(named - in_round))
        yield with_audit_mark(ChangePage(changes=extra, cursor=last), now.isoformat())

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
        link = decode_cursor(cursor).get("link")
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
                after = encode_cursor(link=page.delta_link)
            elif full:
                after = hold  # a full round moves the cursor only at its end
            else:
                after = encode_cursor(link=page.next_link)
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
            self.not_readable(found, error)
            return
        self.readable(found)
        objects = [o for page in pages for o in page.objects]
        digest = hashlib.sha256()
        for observed in sorted(objects, key=lambda o: o.external_id):
            digest.update(
                canonical(
                    [observed.external_id, observed.resource_type.key, observed.content]
                ).encode()
            )
        text = digest.hexdigest()
        if decode_cursor(cursor).get("hash") == text:
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
                cursor=encode_cursor(hash=text) if last else cursor,
                complete=frozenset(o.external_id for o in objects) if last else None,
            )

    # ---- the rest of the protocol -----------------------------------------------------------
