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

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

from dirguard.providers.base import (
    ChangePage,
    LookedUp,
    ReadScope,
    SnapshotPage,
)
from dirguard.providers.entra.collect.delta import latest_link
from dirguard.providers.entra.collect.prefetch import Prefetch
from dirguard.providers.entra.collect.scopes import (
    GraphScope,
)
from dirguard.providers.entra.directory_audit import DirectoryAuditSource
from dirguard.providers.entra.graph_client import GraphAuthError, GraphError
from dirguard.providers.entra.graph_content import (
    PATH_FIELD,
)
from dirguard.providers.entra.read_changes import GraphChangeReads
from dirguard.providers.entra.read_objects import (
    UNREADABLE_STATUSES,
    encode_cursor,
    source_error,
    translated,
)


class EntraReader(GraphChangeReads):
    """One tenant, read as a :class:`dirguard.providers.base.SourceReader`."""

    # ---- full reads -------------------------------------------------------------------------

    def start_cursor(self, scope: ReadScope) -> bytes:
        try:
            return self._start_cursor(scope)
        except (GraphError, GraphAuthError) as error:
            raise source_error(self.name, error) from None

    def _start_cursor(self, scope: ReadScope) -> bytes:
        found = self.graph_scope(scope)
        if not found.delta:
            return encode_cursor(hash=None)
        try:
            link = latest_link(self.graph, found.delta_path, found.delta_select, found.api_version)
        except GraphError as error:
            if error.status not in UNREADABLE_STATUSES:
                raise
            self.not_readable(found, error, "cannot be followed")
            return encode_cursor(link=None)
        return encode_cursor(link=link, audited=datetime.now(UTC).isoformat())

    def read_all(self, scope: ReadScope) -> Iterator[SnapshotPage]:
        """The scope's objects page by page; every scope of the tenant is read concurrently
        from the first call on, ``lookahead`` pages ahead of the caller."""
        if self._prefetch is None:
            self._prefetch = Prefetch(
                {s.stream: partial(self._snapshot_pages, s) for s in self._scopes},
                workers=self.pacer.max_concurrency,
                lookahead=self.lookahead,
            )
        return translated(self.name, self._prefetch.take(scope.stream))

    def _snapshot_pages(self, found: GraphScope) -> Iterator[SnapshotPage]:
        try:
            for items in self._listing(found):
                yield self._snapshot_page(found, items)
        except GraphError as error:
            if error.status not in UNREADABLE_STATUSES:
                raise
            self.not_readable(found, error)
            yield SnapshotPage(unreadable=1)
            return
        self.readable(found)

    def look_up(self, external_id: str) -> LookedUp | None:
        """Graph keeps no tombstone dirguard could read alike for every type: an object a
        complete listing did not return is recorded as deleted (its last state kept)."""
        del external_id
        return None

    # ---- change reads -----------------------------------------------------------------------

    def read_changes(self, scope: ReadScope, cursor: bytes) -> Iterator[ChangePage]:
        found = self.graph_scope(scope)
        if found.delta:
            return translated(self.name, self._delta_changes(found, cursor))
        return translated(self.name, self._poll_changes(found, cursor))

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
