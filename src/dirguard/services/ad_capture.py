"""Incremental capture of AD changes with DirSync: one transaction per DirSync page.

Each page's entries are turned into change events against dirguard's last stored state
(:func:`dirguard.core.object_diff.apply_delta`), the objects' versions and rows are brought up to
date, and the page's cookie is saved, all in ONE transaction: the cookie never moves without the
events it covers. Replaying a page (after a crash between the server's answer and the commit)
finds its changes already stored and adds nothing. Actors are left unknown here; the audit
correlation fills them in afterwards.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dirguard.catalog.resource_types import RESOURCE_TYPES
from dirguard.config.schema import AdDomainConfig
from dirguard.connectors.ad.connection import AdConnection
from dirguard.connectors.ad.ldap_read import DirSyncPage, Entry, dirsync_pages, read_schema
from dirguard.core.ad_values import Content, Schema, classify, guid_text
from dirguard.core.object_diff import apply_delta, parse_dirsync_entry
from dirguard.services.ad_snapshot import (
    dirsync_stream,
    latest_versions,
    objects_by_guid,
    record_state,
)
from dirguard.store.column_types import utcnow
from dirguard.store.cursors import get_cursor, save_cursor
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import ChangeOp, DirectoryObject, Run, RunStatus
from dirguard.store.runs import finish_run, start_run

log = logging.getLogger(__name__)

BeforeCommit = Callable[[Session, DirSyncPage], None]
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

    def as_dict(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "run_id": self.run_id,
            "pages": self.pages,
            "entries": self.entries,
            "events": self.events,
            "ops": dict(sorted(self.ops.items())),
            "skipped_not_in_catalog": self.skipped_not_in_catalog,
        }


def ingest_page(
    session: Session,
    source: str,
    partition_types: Any,
    schema: Schema,
    entries: list[Entry],
    run: Run | None,
    result: CaptureResult,
) -> None:
    """Store the events and states of one page's entries (flushes; the caller commits)."""
    partition, types = partition_types
    guids = {dn: guid_text(bytes(raw["objectGUID"][0])) for dn, raw in entries}
    objects = objects_by_guid(session, source, guids.values())
    latest = latest_versions(session, (o.id for o in objects.values()))
    states: dict[str, Content] = {
        guid: latest[obj.id].content for guid, obj in objects.items() if obj.id in latest
    }
    for dn, raw in entries:
        result.entries += 1
        guid = guids[dn]
        delta = parse_dirsync_entry(schema, dn, raw)
        obj = objects.get(guid)
        if obj is None:
            resource_type = classify(types, partition, delta.replaced)
            if resource_type is None:
                result.skipped_not_in_catalog += 1
                continue
        else:
            resource_type = RESOURCE_TYPES[obj.resource_type]
        applied = apply_delta(
            schema, states.get(guid), delta, volatile=resource_type.volatile_fields
        )
        if applied is None:
            continue
        if obj is None:
            obj = DirectoryObject(
                source=source, resource_type=resource_type.key, external_id=guid, path=dn
            )
            session.add(obj)
            session.flush()
            objects[guid] = obj
        now = utcnow()
        append_events(
            session,
            [
                NewChangeEvent(
                    object_id=obj.id,
                    op=ChangeOp(change.op),
                    attribute=change.attribute,
                    old_value=change.old,
                    new_value=change.new,
                    observed_at=now,
                )
                for change in applied.changes
            ],
            run,
        )
        result.events += len(applied.changes)
        result.ops.update(change.op for change in applied.changes)
        added = record_state(session, obj, applied.content, latest.get(obj.id), run)
        if added is not None:
            session.flush()
            latest[obj.id] = added
        states[guid] = applied.content
    session.flush()


def capture_domain(
    sessions: sessionmaker[Session],
    conn: AdConnection,
    domain: AdDomainConfig,
    *,
    schema: Schema | None = None,
    before_commit: BeforeCommit | None = None,
) -> CaptureResult:
    """One DirSync pass over every selected partition, from the stored cookies on."""
    with sessions() as session:
        missing = [
            p.value
            for p in domain.partitions
            if get_cursor(session, domain.name, dirsync_stream(p)) is None
        ]
    if missing:
        raise CaptureError(
            f"domain {domain.name}: no baseline for partition(s) {', '.join(missing)}; "
            "run `dirguard snapshot ad` first"
        )
    with sessions.begin() as session:
        run = start_run(session, "capture", domain.name)
    result = CaptureResult(domain=domain.name, run_id=run.id)
    try:
        schema = schema or read_schema(conn.ldap, conn.contexts.schema)
        types = list(RESOURCE_TYPES.values())
        for partition in domain.partitions:
            stream = dirsync_stream(partition)
            with sessions() as session:
                cookie = get_cursor(session, domain.name, stream) or b""
            base = conn.contexts.base(partition)
            for page in dirsync_pages(conn.ldap, base, cookie):
                with sessions.begin() as session:
                    page_run = session.merge(run)
                    ingest_page(
                        session,
                        domain.name,
                        (partition, types),
                        schema,
                        page.entries,
                        page_run,
                        result,
                    )
                    save_cursor(session, domain.name, stream, page.cookie, page_run)
                    if before_commit is not None:
                        before_commit(session, page)
                result.pages += 1
    except BaseException as error:
        status = RunStatus.INTERRUPTED if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED
        with sessions.begin() as session:
            finish_run(
                session,
                session.merge(run),
                status,
                counters=result.as_dict(),
                error=f"{type(error).__name__}: {error}",
            )
        raise
    with sessions.begin() as session:
        finish_run(session, session.merge(run), RunStatus.SUCCEEDED, counters=result.as_dict())
    log.info("capture of %s: %d entries, %d events", domain.name, result.entries, result.events)
    return result
