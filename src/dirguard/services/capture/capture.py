"""Incremental capture of a source's changes: one transaction per page of its change read.

Each page's changes (for AD a DirSync page, :mod:`dirguard.providers.ad.dirsync`) are applied
to dirguard's last stored state, giving change events; the objects' versions and rows are
brought up to date, and the page's cursor is saved, all in ONE transaction: the cursor never
moves without the events it covers. Replaying a page (after a crash between the server's
answer and the commit) finds its changes already stored and adds nothing. Actors are left
unknown by the pages; :func:`fill_source_actors` then correlates the source's unattributed
events with its audit trail (for AD the domain's ``samba_audit_files``) in its own transaction,
which stores the attributions together with the new audit position — a record read late fills
its actor in on a later pass.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import AdDomainConfig
from dirguard.core.audit_record import AuditSource
from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.values import Content, Schema
from dirguard.providers.base import (
    ChangePage,
    DatedChange,
    ObservedChange,
    ReadError,
    ReadScope,
    SourceReader,
)
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.admin.attribution import mark_admin_writes
from dirguard.services.capture.actor_fill import FillReport, fill_actors
from dirguard.services.capture.snapshot import (
    fewer_collections,
    finishing,
    latest_versions,
    objects_by_guid,
    record_state,
    shallow_fields,
)
from dirguard.services.capture.snapshot_deletes import detect_deletes
from dirguard.services.rollback.own_writes import mark_own_writes
from dirguard.store.column_types import utcnow
from dirguard.store.cursors import get_cursor, save_cursor
from dirguard.store.events import NewChangeEvent, insert_events
from dirguard.store.models import DirectoryObject, Run
from dirguard.store.runs import start_run

if TYPE_CHECKING:
    from dirguard.providers.ad.connection import AdConnection

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
"""What "now" is for ``observed_at`` (tests inject a later one instead of waiting)."""
BeforeCommit = Callable[[Session, ChangePage], None]
"""Called with each page's session just before it commits (tests inject failures here)."""


class CaptureError(Exception):
    """Capture cannot start; the message says what to do."""


@dataclass(kw_only=True)
class CaptureResult:
    domain: str
    run_id: int
    pages: int = 0
    entries: int = 0
    events: int = 0
    ops: Counter[str] = field(default_factory=Counter)
    skipped_not_in_catalog: int = 0
    deletions_hidden: bool = False
    """The bound account may not read CN=Deleted Objects: Samba leaves deletions out of its
    DirSync answers (found by the next snapshot instead)."""

    def as_dict(self) -> dict[str, Any]:
        return {**shallow_fields(self), "ops": dict(sorted(self.ops.items()))}


def ingest_page(
    session: Session,
    source: str,
    changes: Sequence[ObservedChange],
    run: Run | None,
    result: CaptureResult,
    clock: Clock = utcnow,
) -> None:
    """Store the events and states of one page's changes (flushes; the caller commits).

    Each event's ``observed_at`` is now; its ``occurred_at`` is when the source says the change
    happened, where the change knows it (:class:`~dirguard.providers.base.DatedChange`), never
    after ``observed_at``."""
    objects = objects_by_guid(session, source, (c.external_id for c in changes))
    latest = latest_versions(session, (o.id for o in objects.values()))
    states: dict[str, Content] = {
        guid: latest[obj.id].content for guid, obj in objects.items() if obj.id in latest
    }
    drafts: list[NewChangeEvent] = []
    for change in changes:
        result.entries += 1
        guid = change.external_id
        obj = objects.get(guid)
        if obj is None:
            resource_type = change.resource_type()
            if resource_type is None:
                result.skipped_not_in_catalog += 1
                continue
        else:
            resource_type = RESOURCE_TYPES[obj.resource_type]
        applied = change.apply(states.get(guid), resource_type.volatile_fields)
        if applied is None:
            continue
        if obj is None:
            obj = DirectoryObject(
                source=source, resource_type=resource_type.key, external_id=guid, path=change.path
            )
            session.add(obj)
            session.flush()
            objects[guid] = obj
        now = clock()
        dated = change.occurred_at if isinstance(change, DatedChange) else None
        object_id = obj.id
        # One entry's events share a few (op, attribute) pairs (a group's hundred member adds
        # one): each pair's op and time are looked up once.
        kinds: dict[tuple[str, str | None], tuple[ChangeOp, datetime | None]] = {}
        for event in applied.changes:
            kind = (event.op, event.attribute)
            found = kinds.get(kind)
            if found is None:
                occurred = None if dated is None else dated(event.op, event.attribute)
                found = kinds[kind] = (ChangeOp(event.op), _not_after(occurred, now))
            drafts.append(
                NewChangeEvent(
                    object_id=object_id,
                    op=found[0],
                    attribute=event.attribute,
                    old_value=event.old,
                    new_value=event.new,
                    occurred_at=found[1],
                    observed_at=now,
                )
            )
        result.events += len(applied.changes)
        result.ops.update(event.op for event in applied.changes)
        added = record_state(session, obj, applied.content, latest.get(obj.id), run)
        if added is not None:  # stored by insert_events' flush, with the page's other versions
            latest[obj.id] = added
        states[guid] = applied.content
    insert_events(session, drafts, run)  # in page order: one statement for the page
    session.flush()


def _not_after(occurred: datetime | None, observed: datetime) -> datetime | None:
    """A change never stands after dirguard observed it (a source's clock ahead of ours)."""
    return None if occurred is None else min(occurred, observed)


def fill_domain_actors(
    sessions: sessionmaker[Session],
    conn: AdConnection,
    domain: AdDomainConfig,
    audit: AuditSource | None = None,
) -> FillReport | None:
    """:func:`fill_source_actors` of a domain over a bound connection (left open)."""
    from dirguard.providers.ad.read import AdReader

    return fill_source_actors(sessions, AdReader(conn, domain), audit)


def fill_source_actors(
    sessions: sessionmaker[Session], reader: SourceReader, audit: AuditSource | None = None
) -> FillReport | None:
    """Attribute the source's unattributed events: first dirguard's own rollback writes (on
    behalf of their requester), then the rest from its audit trail, in one transaction with the
    new audit position; ``None`` when the source has no audit trail configured. ``audit``: the
    trail to read instead of the reader's."""
    name, source = reader.name, reader.source
    with sessions.begin() as session:
        own = mark_own_writes(session, source) + mark_admin_writes(session, source)
    if own:
        log.info("%d change(s) of %s were dirguard's own writes (rollback, web actions)", own, name)
    audit = audit or reader.audit()
    if audit is None:
        return None
    with sessions.begin() as session:
        report = fill_actors(session, source=source, audit=audit)
    log.info(
        "actors of %s: %d records read, %d events attributed, %d still unknown",
        name,
        report.records_read,
        report.filled,
        report.unknown,
    )
    return report


def capture_domain(
    sessions: sessionmaker[Session],
    conn: AdConnection,
    domain: AdDomainConfig,
    *,
    schema: Schema | None = None,
    before_commit: BeforeCommit | None = None,
    run: Run | None = None,
    clock: Clock = utcnow,
) -> CaptureResult:
    """:func:`capture_source` of a domain over a bound connection (left open)."""
    from dirguard.providers.ad.read import AdReader

    reader = AdReader(conn, domain, schema=schema)
    return capture_source(sessions, reader, before_commit=before_commit, run=run, clock=clock)


def capture_source(
    sessions: sessionmaker[Session],
    reader: SourceReader,
    *,
    before_commit: BeforeCommit | None = None,
    run: Run | None = None,
    clock: Clock = utcnow,
) -> CaptureResult:
    """One change read over every scope of the source, from the stored cursors on.

    Without ``run`` the pass is a run of its own (a ``capture`` row, closed with its counters).
    With ``run`` (the monitor's, still open) the pass's events and cursors belong to that run
    and no row is opened or closed: an error reaches the caller, who owns the run.
    """
    name, source = reader.name, reader.source
    with sessions() as session:
        missing = [s.name for s in reader.scopes() if get_cursor(session, source, s.stream) is None]
    if missing:
        kind = source.partition(":")[0]
        which = "" if len(missing) == len(reader.scopes()) else f" for {', '.join(missing)}"
        raise CaptureError(f"{name}: no baseline{which}; run `dirguard snapshot {kind}` first")
    if run is not None:
        result = CaptureResult(domain=name, run_id=run.id)
        _capture_pages(sessions, reader, run, result, before_commit, clock)
        return result
    with sessions.begin() as session:
        own = start_run(session, "capture", source)
    result = CaptureResult(domain=name, run_id=own.id)
    result.deletions_hidden = reader.changes_incomplete()
    with finishing(sessions, own, result.as_dict):
        _capture_pages(sessions, reader, own, result, before_commit, clock)
    log.info("capture of %s: %d entries, %d events", name, result.entries, result.events)
    return result


def _pages(reader: SourceReader, scope: ReadScope, cursor: bytes) -> Iterator[ChangePage]:
    try:
        yield from reader.read_changes(scope, cursor)
    except ReadError as error:
        raise CaptureError(str(error)) from None


def _capture_pages(
    sessions: sessionmaker[Session],
    reader: SourceReader,
    run: Run,
    result: CaptureResult,
    before_commit: BeforeCommit | None,
    clock: Clock,
) -> None:
    source = reader.source
    # A burst's page is tens of thousands of small objects (entries, events, rows): the
    # default thresholds ran collections over the whole heap again and again while it was stored.
    with fewer_collections():
        for scope in reader.scopes():
            with sessions() as session:
                cursor = get_cursor(session, source, scope.stream) or b""
            for page in _pages(reader, scope, cursor):
                with sessions.begin() as session:
                    page_run = session.merge(run)
                    ingest_page(session, source, page.changes, page_run, result, clock)
                    if page.complete is not None:
                        deleted = detect_deletes(
                            session, reader, scope, page.complete, run=page_run
                        )
                        result.events += deleted
                        result.ops.update({ChangeOp.DELETE.value: deleted} if deleted else {})
                    save_cursor(session, source, scope.stream, page.cursor, page_run)
                    if before_commit is not None:
                        before_commit(session, page)
                result.pages += 1
