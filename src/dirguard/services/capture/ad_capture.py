"""Incremental capture of AD changes with DirSync: one transaction per DirSync page.

Each page's entries are turned into change events against dirguard's last stored state
(:func:`dirguard.providers.ad.object_diff.apply_delta`), the objects' versions and rows are brought
up to
date, and the page's cookie is saved, all in ONE transaction: the cookie never moves without the
events it covers. Replaying a page (after a crash between the server's answer and the commit)
finds its changes already stored and adds nothing. Actors are left unknown by the pages;
:func:`fill_domain_actors` then correlates the domain's unattributed events with the DC's audit
trail (the domain's ``samba_audit_files``) in its own transaction, which stores the attributions
together with the new audit position — a record read late fills its actor in on a later pass.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ldap
from ldap.filter import escape_filter_chars
from sqlalchemy.orm import Session, sessionmaker

from dirguard.catalog.resource_type import Identifier
from dirguard.config.schema import AdDomainConfig
from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.audit.samba_audit import LdapSidResolver, SambaAuditSource
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.ldap_read import (
    DirSyncPage,
    Entry,
    deleted_objects_readable,
    dirsync_pages,
    read_schema,
)
from dirguard.providers.ad.object_diff import apply_delta, parse_dirsync_entry
from dirguard.providers.ad.sd.security_descriptor import SecurityDescriptorError, sid_from_bytes
from dirguard.providers.ad.values import Content, Schema, classify
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.capture.actor_fill import FillReport, fill_actors
from dirguard.services.capture.ad_snapshot import (
    dirsync_stream,
    latest_versions,
    objects_by_guid,
    record_state,
    shallow_fields,
)
from dirguard.services.rollback.own_writes import mark_own_writes
from dirguard.store.column_types import utcnow
from dirguard.store.cursors import get_cursor, save_cursor
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import DirectoryObject, Run, RunStatus
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
    deletions_hidden: bool = False
    """The bound account may not read CN=Deleted Objects: Samba leaves deletions out of its
    DirSync answers (found by the next snapshot instead)."""

    def as_dict(self) -> dict[str, Any]:
        return {**shallow_fields(self), "ops": dict(sorted(self.ops.items()))}


def deletions_hidden(conn: AdConnection, domain: AdDomainConfig) -> bool:
    """Whether DirSync may leave deletions out for the bound account (it may not read the
    domain's CN=Deleted Objects; Samba then returns no tombstones to it), said in the log with
    what to do."""
    if deleted_objects_readable(conn.ldap, conn.contexts.default):
        return False
    log.warning(
        "domain %s: the bound account may not read CN=Deleted Objects,%s; a Samba DC leaves"
        " deletions out of its DirSync answers then, and they are found only by the next"
        " `dirguard snapshot ad`. Grant it with `dirguard connect ad` (checked by `dirguard"
        " connect validate`)",
        domain.name,
        conn.contexts.default,
    )
    return True


def _identity(identify: Identifier, dn: str, raw: dict[str, list[bytes]]) -> str:
    guid = identify(raw)
    if guid is None:
        raise CaptureError(f"{dn}: the DirSync answer holds no objectGUID")
    return guid


def ingest_page(
    session: Session,
    source: str,
    partition_types: Any,
    schema: Schema,
    entries: list[Entry],
    run: Run | None,
    result: CaptureResult,
    *,
    domain_sid: str | None = None,
) -> None:
    """Store the events and states of one page's entries (flushes; the caller commits).
    ``domain_sid`` gives the domain's groups their aliases in security descriptor changes."""
    partition, types = partition_types
    identify = RESOURCE_TYPES.identify("ad")
    guids = {dn: _identity(identify, dn, raw) for dn, raw in entries}
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
            schema,
            states.get(guid),
            delta,
            volatile=resource_type.volatile_fields,
            domain_sid=domain_sid,
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


def _base_attribute(conn: AdConnection, dn: str, ldap_filter: str, name: str) -> bytes | None:
    found = conn.ldap.search_s(dn, ldap.SCOPE_BASE, ldap_filter, [name])
    for _dn, attributes in found:
        if isinstance(attributes, dict) and attributes.get(name):
            return bytes(attributes[name][0])
    return None


def read_domain_sid(conn: AdConnection) -> str | None:
    """The domain SID (the domain head's ``objectSid``), or ``None`` when it cannot be read."""
    raw = _base_attribute(conn, conn.contexts.default, "(objectClass=*)", "objectSid")
    if raw is None:
        return None
    try:
        return sid_from_bytes(raw)[0]
    except SecurityDescriptorError:
        return None


def read_netbios_name(conn: AdConnection, domain: AdDomainConfig) -> str:
    """The domain's NetBIOS name (its crossRef's ``nETBIOSName``); actors are shown as
    ``NETBIOS\\account``. Falls back to the DNS name's first label in capitals."""
    partitions = f"CN=Partitions,{conn.contexts.configuration}"
    escaped = escape_filter_chars(conn.contexts.default)
    try:
        found = conn.ldap.search_s(
            partitions,
            ldap.SCOPE_ONELEVEL,
            f"(&(objectClass=crossRef)(nCName={escaped}))",
            ["nETBIOSName"],
        )
    except ldap.LDAPError:
        found = []
    for _dn, attributes in found:
        if isinstance(attributes, dict) and attributes.get("nETBIOSName"):
            return bytes(attributes["nETBIOSName"][0]).decode("utf-8")
    return domain.name.split(".")[0].upper()


def audit_source_for(conn: AdConnection, domain: AdDomainConfig) -> SambaAuditSource | None:
    """The domain's Samba audit files as an audit source (``None`` when none are configured);
    SIDs are resolved to account names over ``conn``."""
    files = domain.samba_audit_files
    if not files:
        return None
    return SambaAuditSource(
        directory_changes=files[0],
        group_changes=files[1] if len(files) > 1 else None,
        password_changes=files[2] if len(files) > 2 else None,
        dc=conn.contexts.dns_host_name,
        resolve_sid=LdapSidResolver(conn.ldap, domain=read_netbios_name(conn, domain)),
    )


def fill_domain_actors(
    sessions: sessionmaker[Session],
    conn: AdConnection,
    domain: AdDomainConfig,
    audit: SambaAuditSource | None = None,
) -> FillReport | None:
    """Attribute the domain's unattributed events: first dirguard's own rollback writes (on behalf
    of their requester), then the rest from its audit files, in one transaction with the new
    audit position; ``None`` when the domain names no audit source. A caller that runs this
    repeatedly over one connection (the monitor) passes the ``audit`` source it built once, so
    the NetBIOS name is not read again and the SID cache is kept."""
    with sessions.begin() as session:
        own = mark_own_writes(session, domain.name)
    if own:
        log.info("%d change(s) of %s were dirguard's own rollback writes", own, domain.name)
    audit = audit or audit_source_for(conn, domain)
    if audit is None:
        return None
    with sessions.begin() as session:
        report = fill_actors(session, source=domain.name, audit=audit)
    log.info(
        "actors of %s: %d records read, %d events attributed, %d still unknown",
        domain.name,
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
) -> CaptureResult:
    """One DirSync pass over every selected partition, from the stored cookies on.

    Without ``run`` the pass is a run of its own (a ``capture`` row, closed with its counters).
    With ``run`` (the monitor's, still open) the pass's events and cookies belong to that run and
    no row is opened or closed: an error reaches the caller, who owns the run.
    """
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
    if run is not None:
        result = CaptureResult(domain=domain.name, run_id=run.id)
        _capture_pages(sessions, conn, domain, run, result, schema, before_commit)
        return result
    with sessions.begin() as session:
        own = start_run(session, "capture", domain.name)
    result = CaptureResult(domain=domain.name, run_id=own.id)
    result.deletions_hidden = deletions_hidden(conn, domain)
    try:
        _capture_pages(sessions, conn, domain, own, result, schema, before_commit)
    except BaseException as error:
        status = RunStatus.INTERRUPTED if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED
        with sessions.begin() as session:
            finish_run(
                session,
                session.merge(own),
                status,
                counters=result.as_dict(),
                error=f"{type(error).__name__}: {error}",
            )
        raise
    with sessions.begin() as session:
        finish_run(session, session.merge(own), RunStatus.SUCCEEDED, counters=result.as_dict())
    log.info("capture of %s: %d entries, %d events", domain.name, result.entries, result.events)
    return result


def _capture_pages(
    sessions: sessionmaker[Session],
    conn: AdConnection,
    domain: AdDomainConfig,
    run: Run,
    result: CaptureResult,
    schema: Schema | None,
    before_commit: BeforeCommit | None,
) -> None:
    schema = schema or read_schema(conn.ldap, conn.contexts.schema)
    domain_sid = read_domain_sid(conn)
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
                    domain_sid=domain_sid,
                )
                save_cursor(session, domain.name, stream, page.cookie, page_run)
                if before_commit is not None:
                    before_commit(session, page)
            result.pages += 1
