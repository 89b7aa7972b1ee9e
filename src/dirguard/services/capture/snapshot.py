"""Baseline snapshot of a source: every object of its scopes (an AD domain's partitions).

For each scope: first the provider's cursor for "now" (for AD, a DirSync with a filter that
matches nothing); then the provider reads every object, classified to a catalog type and
normalized (:meth:`~dirguard.providers.base.SourceReader.read_all`, a few pages ahead of the
storing), stored in batches, one transaction per batch
(:mod:`dirguard.services.capture.snapshot_store`: a few bulk statements per batch); a version is
added only when the object's content differs from its last version (volatile fields ignored). So
an interrupted snapshot is resumed by running it again: what was stored is found unchanged, the
rest is added. When a scope's read is complete, objects stored as live that it did not return
were deleted while nothing was capturing: each gets a delete event
(:mod:`dirguard.services.capture.snapshot_deletes`). Then, when no capture cursor exists yet,
the cursor taken before the read becomes the capture starting point (in the same transaction),
so changes made during the snapshot are replayed by the first capture (and found already stored
where the read saw them).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad.values import Schema
from dirguard.providers.base import Content, ObservedObject, ReadScope, SourceReader
from dirguard.providers.readers import reading_provider
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.capture.snapshot_deletes import detect_deletes
from dirguard.services.capture.snapshot_store import store_observed
from dirguard.store import json_codec
from dirguard.store.column_types import utcnow
from dirguard.store.cursors import get_cursor, save_cursor
from dirguard.store.links import linked_values, record_links
from dirguard.store.models import DirectoryObject, ObjectVersion, Run, RunStatus
from dirguard.store.runs import finish_run, start_run

if TYPE_CHECKING:
    from dirguard.providers.ad.connection import AdConnection

log = logging.getLogger(__name__)

BATCH_SIZE = 1000
"""Objects per transaction: one page of the paged search."""
LINKS_PER_OBJECT = 20
"""A batch is stored early when its objects hold more linked values than that many per object
of a full batch: 1,000 groups of thousands of members each are not held at once."""


def _linked_count(observed: ObservedObject) -> int:
    content = observed.content
    return sum(len(content.get(name) or ()) for name in observed.resource_type.linked_fields)


def shallow_fields(result: Any) -> dict[str, Any]:
    """A result dataclass's fields by name, in declaration order (values not copied)."""
    return {f.name: getattr(result, f.name) for f in fields(result)}


@dataclass(kw_only=True)
class SnapshotResult:
    domain: str
    run_id: int
    partitions: list[str]
    objects: int = 0
    new_objects: int = 0
    new_versions: int = 0
    unchanged: int = 0
    deletes_detected: int = 0
    unreadable: int = 0
    """Entries the bind account may list but whose objectGUID it may not read (skipped)."""
    not_in_catalog: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **shallow_fields(self),
            "not_in_catalog": dict(sorted(self.not_in_catalog.items())),
            "seconds": round(self.seconds, 3),
        }


def latest_versions(session: Session, object_ids: Iterable[int]) -> dict[int, ObjectVersion]:
    """The newest version of each object, in one query."""
    ids = list(object_ids)
    if not ids:
        return {}
    newest = (
        select(ObjectVersion.object_id, func.max(ObjectVersion.version).label("version"))
        .where(ObjectVersion.object_id.in_(ids))
        .group_by(ObjectVersion.object_id)
        .subquery()
    )
    rows = session.scalars(
        select(ObjectVersion).join(
            newest,
            (ObjectVersion.object_id == newest.c.object_id)
            & (ObjectVersion.version == newest.c.version),
        )
    )
    return {row.object_id: row for row in rows}


def objects_by_guid(
    session: Session, source: str, guids: Iterable[str]
) -> dict[str, DirectoryObject]:
    wanted = list(set(guids))
    if not wanted:
        return {}
    rows = session.scalars(
        select(DirectoryObject).where(
            DirectoryObject.source == source, DirectoryObject.external_id.in_(wanted)
        )
    )
    return {row.external_id: row for row in rows}


def record_state(
    session: Session,
    obj: DirectoryObject,
    content: Content,
    previous: ObjectVersion | None,
    run: Run | None,
) -> ObjectVersion | None:
    """Add a version when ``content`` differs from ``previous`` as the row compares versions
    (volatile fields ignored, unordered fields in any order) and
    bring the object row up to date; the new version, or ``None`` when nothing changed."""
    resource_type = RESOURCE_TYPES[obj.resource_type]
    now = utcnow()
    obj.last_seen = now
    facts = reading_provider(resource_type.provider).object_facts(resource_type, content, obj.path)
    obj.path = facts.path
    obj.deleted = facts.deleted
    if facts.natural_key is not None:
        obj.natural_key = facts.natural_key
    if previous is not None and resource_type.same_content(previous.content, content):
        return None
    version = ObjectVersion(
        object_id=obj.id,
        version=(previous.version if previous is not None else 0) + 1,
        captured_at=now,
        content=content,
        content_hash=json_codec.content_hash(content),
        run_id=run.id if run is not None else None,
    )
    session.add(version)
    links = linked_values(obj.id, content, resource_type.linked_fields)
    if previous is not None:  # the previous version's links are recorded already
        held = set(linked_values(obj.id, previous.content, resource_type.linked_fields))
        links = (link for link in links if link not in held)
    record_links(session, links)
    return version


def store_batch(
    session: Session, source: str, batch: list[ObservedObject], run: Run, result: SnapshotResult
) -> None:
    counts = store_observed(session, source, batch, run.id)
    result.new_objects += counts.new_objects
    result.new_versions += counts.new_versions
    result.unchanged += counts.unchanged


@contextlib.contextmanager
def finishing(
    sessions: sessionmaker[Session], run: Run, counters: Callable[[], dict[str, Any]]
) -> Iterator[None]:
    """Close ``run`` with its ``counters()`` when the block ends: succeeded, or interrupted
    (Ctrl-C) or failed with the error, which is raised again."""
    try:
        yield
    except BaseException as error:
        status = RunStatus.INTERRUPTED if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED
        with sessions.begin() as session:
            finish_run(
                session,
                session.merge(run),
                status,
                counters=counters(),
                error=f"{type(error).__name__}: {error}",
            )
        raise
    with sessions.begin() as session:
        finish_run(session, session.merge(run), RunStatus.SUCCEEDED, counters=counters())


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while the block runs (restored after).

    A snapshot allocates millions of small objects (python-ldap's entries, normalized values)
    and keeps a few pages of them alive, so the default thresholds ran a full collection over
    the whole heap again and again: on the 20,000-user bench DC a quarter of the snapshot's CPU
    time. Its objects hold no reference cycles worth collecting early."""
    before = gc.get_threshold()
    gc.set_threshold(50_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _snapshot_scope(
    sessions: sessionmaker[Session],
    reader: SourceReader,
    scope: ReadScope,
    run: Run,
    result: SnapshotResult,
    progress: Callable[[int], None] | None,
    batch_size: int,
) -> None:
    """Read one scope (the provider reads a few pages ahead), store it batch by batch, then
    record what it no longer holds and, with the last batch, the capture starting point."""
    start_cursor = reader.start_cursor(scope)
    batch: list[ObservedObject] = []
    held = 0
    seen: set[str] = set()
    unreadable = 0
    for page in reader.read_all(scope):
        unreadable += page.unreadable
        result.objects += page.read
        result.not_in_catalog.update(page.not_in_catalog)
        for observed in page.objects:
            seen.add(observed.external_id)
            batch.append(observed)
            held += 1 + _linked_count(observed)
            if len(batch) >= batch_size or held >= batch_size * LINKS_PER_OBJECT:
                with sessions.begin() as session:
                    store_batch(session, reader.source, batch, run, result)
                batch, held = [], 0
        if progress is not None:
            progress(result.objects)
    if unreadable:
        log.warning(
            "%s: %d entries skipped, the account may not read them or their identity (grant it"
            " read access to the whole of it to guard them)",
            scope.name,
            unreadable,
        )
    result.unreadable += unreadable
    with sessions.begin() as session:
        store_batch(session, reader.source, batch, run, result)
        result.deletes_detected += detect_deletes(
            session, reader, scope, seen, run=run, unreadable=unreadable
        )
        if get_cursor(session, reader.source, scope.stream) is None:
            save_cursor(session, reader.source, scope.stream, start_cursor, run)


def snapshot_domain(
    sessions: sessionmaker[Session],
    conn: AdConnection,
    domain: AdDomainConfig,
    *,
    schema: Schema | None = None,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
    open_more: Callable[[], AdConnection] | None = None,
) -> SnapshotResult:
    """:func:`snapshot_source` of a domain over a bound connection (left open); with
    ``open_more``, each partition is read over up to ``domain.snapshot_connections``
    connections at once (closed after the read)."""
    from dirguard.providers.ad.read import AdReader

    reader = AdReader(conn, domain, schema=schema, open_more=open_more)
    return snapshot_source(sessions, reader, progress=progress, batch_size=batch_size)


def snapshot_source(
    sessions: sessionmaker[Session],
    reader: SourceReader,
    *,
    progress: Callable[[int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> SnapshotResult:
    """Read and store every object of the source's scopes; ``progress`` gets the number of
    objects read so far after each page."""
    started = time.monotonic()
    with sessions.begin() as session:
        run = start_run(session, "snapshot", reader.source)
    scopes = reader.scopes()
    result = SnapshotResult(domain=reader.name, run_id=run.id, partitions=[s.name for s in scopes])
    with finishing(sessions, run, result.as_dict), fewer_collections():
        for scope in scopes:
            _snapshot_scope(sessions, reader, scope, run, result, progress, batch_size)
        result.seconds = time.monotonic() - started
    log.info(
        "snapshot of %s: %d objects, %d new, %d new versions in %.1f s",
        reader.name,
        result.objects,
        result.new_objects,
        result.new_versions,
        result.seconds,
    )
    return result
