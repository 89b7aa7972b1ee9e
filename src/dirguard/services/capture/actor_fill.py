"""Fill in who made stored changes, from the DC's audit trail, also when the trail is late.

:func:`fill_actors` reads the audit records written since its stored position (cursor stream
``<source name>``, e.g. ``samba-audit``), correlates them with the source's change events whose
actor is still unknown, sets ``actor``/``actor_source``/``actor_address`` where exactly one actor
matches, and stores the new position — all in the caller's session, so the position and the
attributions are committed together. The event hash chain leaves the actor fields out on purpose
(see :mod:`dirguard.store.events`), so filling them later keeps the chain intact.

Records of the last ``retain`` period (measured from the newest record) are read again on the
next call, so a change captured after its audit record was read still finds it. A call looks
back only as far as the records it read can reach: the unattributed events within the records'
time span (widened by the correlation window) are loaded in one query and their objects' DNs in
another, so the monitor's pass every few seconds does not re-examine a day of changes one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from dirguard.core.actor_correlation import (
    DEFAULT_AFTER,
    DEFAULT_BEFORE,
    LATE_WINDOW,
    Attribution,
    ChangeFacts,
    RecordLike,
    attribute_change,
)
from dirguard.core.audit_record import AuditSource, PositionedRecord
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.history import SNAPSHOT_CORRELATION_PREFIX
from dirguard.store.column_types import utcnow
from dirguard.store.cursors import get_cursor, save_cursor
from dirguard.store.models import ChangeEvent, DirectoryObject, ObjectVersion

DEFAULT_RETAIN = timedelta(minutes=10)
DEFAULT_MAX_AGE = timedelta(days=1)
_DN_OPS = ("move", "rename", "delete", "undelete")
"""Events whose old and new values are DNs the object had (a delete: live DN -> tombstone)."""


@dataclass(frozen=True, kw_only=True)
class FillReport:
    records_read: int
    filled: int
    unknown: int
    attributions: tuple[Attribution, ...]


def dn_histories(
    session: Session, objects: Iterable[DirectoryObject]
) -> dict[int, tuple[str, ...]]:
    """Every DN each object had, newest first (its path, then its DN events' new and old
    values), for all ``objects`` in one query."""
    known = {obj.id: [obj.path] if obj.path else [] for obj in objects}
    if not known:
        return {}
    rows = session.execute(
        select(ChangeEvent.object_id, ChangeEvent.old_value, ChangeEvent.new_value)
        .where(ChangeEvent.object_id.in_(list(known)), ChangeEvent.op.in_(_DN_OPS))
        .order_by(ChangeEvent.object_id, ChangeEvent.sequence.desc())
    )
    for object_id, old, new in rows:
        dns = known[object_id]
        dns.extend(value for value in (new, old) if isinstance(value, str) and value not in dns)
    return {object_id: tuple(dns) for object_id, dns in known.items()}


def audit_aliases(
    session: Session, objects: Iterable[DirectoryObject]
) -> dict[int, tuple[str, ...]]:
    """The other names audit records give the objects whose type declares them
    (``ResourceType.audit_names``, read from each object's newest stored state), in one query."""
    wanted = {
        obj.id: row.audit_names
        for obj in objects
        if (row := RESOURCE_TYPES.get(obj.resource_type)) is not None
        and row.audit_names is not None
    }
    if not wanted:
        return {}
    newest = (
        select(ObjectVersion.object_id, func.max(ObjectVersion.version).label("version"))
        .where(ObjectVersion.object_id.in_(list(wanted)))
        .group_by(ObjectVersion.object_id)
        .subquery()
    )
    rows = session.execute(
        select(ObjectVersion.object_id, ObjectVersion.content).join(
            newest,
            (ObjectVersion.object_id == newest.c.object_id)
            & (ObjectVersion.version == newest.c.version),
        )
    )
    return {object_id: wanted[object_id](content or {}) for object_id, content in rows}


def change_facts(
    event: ChangeEvent,
    obj: DirectoryObject,
    dns: tuple[str, ...],
    not_before: datetime | None = None,
) -> ChangeFacts:
    """What correlation needs to know about a stored event (``dns``: the object's DNs,
    :func:`dn_histories`; ``not_before``: :func:`previous_changes`)."""
    value = event.old_value if event.op == "remove-value" else event.new_value
    return ChangeFacts(
        key=event.id,
        op=event.op,
        attribute=event.attribute,
        dns=dns,
        object_guid=obj.external_id,
        value=value,
        when=event.occurred_at or event.observed_at,
        correlation_id=event.correlation_id,
        not_before=not_before,
    )


def previous_changes(
    session: Session, pending: Sequence[tuple[ChangeEvent, DirectoryObject]]
) -> dict[int, datetime]:
    """For each event (by id), when dirguard recorded the object's previous change of the same
    attribute — or first saw the object — so that a late record older than that is not taken
    for it. One query for all of them."""
    if not pending:
        return {}
    events = [event for event, _obj in pending]
    first_seen = {obj.id: obj.first_seen for _event, obj in pending}
    oldest = min(e.occurred_at or e.observed_at for e in events) - LATE_WINDOW
    rows = session.execute(
        select(
            ChangeEvent.object_id,
            ChangeEvent.attribute,
            ChangeEvent.sequence,
            ChangeEvent.observed_at,
        ).where(
            ChangeEvent.object_id.in_(first_seen),
            ChangeEvent.attribute.in_({e.attribute for e in events if e.attribute}),
            ChangeEvent.observed_at >= oldest,
        )
    ).all()
    found: dict[int, datetime] = {}
    for event in events:
        if event.op == "create":  # an object is created once: its name is enough
            found[event.id] = event.observed_at - LATE_WINDOW
            continue
        earlier = [
            observed
            for object_id, attribute, sequence, observed in rows
            if object_id == event.object_id
            and attribute == event.attribute
            and sequence < event.sequence
        ]
        found[event.id] = max(earlier) if earlier else first_seen[event.object_id]
    return found


def _next_position(
    old: str | None, records: tuple[PositionedRecord, ...], retain: timedelta
) -> str | None:
    """Position to store: before the first record of the last ``retain`` period."""
    if not records:
        return old
    cutoff = max(p.record.timestamp for p in records) - retain
    kept_from = next(i for i, p in enumerate(records) if p.record.timestamp >= cutoff)
    return records[kept_from - 1].position if kept_from > 0 else old


def _pending(
    source: str, since: datetime, records: Sequence[RecordLike], before: timedelta, after: timedelta
) -> Select[ChangeEvent, DirectoryObject]:
    """The unattributed events observed since ``since`` that one of ``records`` may have made:
    those that happened within the records' time span widened by the correlation window, and
    those carrying a correlation id a record's transaction id may name (snapshot-detected
    deletes never do)."""
    low = min(r.timestamp for r in records) - after
    high = max(r.timestamp for r in records) + max(before, LATE_WINDOW)
    when = func.coalesce(ChangeEvent.occurred_at, ChangeEvent.observed_at)
    by_id = ChangeEvent.correlation_id.is_not(None) & ~ChangeEvent.correlation_id.startswith(
        SNAPSHOT_CORRELATION_PREFIX, autoescape=True
    )
    return (
        select(ChangeEvent, DirectoryObject)
        .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
        .where(
            ChangeEvent.source == source,
            ChangeEvent.actor.is_(None),
            ChangeEvent.observed_at >= since,
            when.between(low, high) | by_id,
        )
        .order_by(ChangeEvent.sequence)
    )


def _unattributed(session: Session, source: str, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(ChangeEvent)
            .where(
                ChangeEvent.source == source,
                ChangeEvent.actor.is_(None),
                ChangeEvent.observed_at >= since,
            )
        )
        or 0
    )


def fill_actors(
    session: Session,
    *,
    source: str,
    audit: AuditSource,
    retain: timedelta = DEFAULT_RETAIN,
    max_age: timedelta = DEFAULT_MAX_AGE,
    before: timedelta | None = None,
    after: timedelta | None = None,
    now: datetime | None = None,
) -> FillReport:
    """Attribute ``source``'s unattributed events observed within ``max_age``; flushes, does not
    commit (commit once: attributions and audit position belong together).

    Only the events the records just read may have made are loaded and correlated (one query
    for them, one for their objects' DNs): a pass without new records touches no event, and
    an older change whose record was never found is not re-examined on every pass."""
    stream = audit.name
    stored = get_cursor(session, source, stream)
    position = stored.decode("utf-8") if stored is not None else None
    batch = audit.read_after(position)
    records = [p.record for p in batch.records]
    windows = {k: v for k, v in (("before", before), ("after", after)) if v is not None}
    since = (now or utcnow()) - max_age
    pending = (
        session.execute(
            _pending(
                source,
                since,
                records,
                DEFAULT_BEFORE if before is None else before,
                DEFAULT_AFTER if after is None else after,
            )
        ).all()
        if records
        else []
    )
    objects = [obj for _event, obj in pending]
    dns = dn_histories(session, objects)
    for object_id, names in audit_aliases(session, objects).items():
        dns[object_id] = (*dns[object_id], *names)
    earliest = previous_changes(session, pending)
    attributions = []
    filled = 0
    for event, obj in pending:
        facts = change_facts(event, obj, dns[obj.id], earliest.get(event.id))
        attribution = attribute_change(facts, records, **windows)
        attributions.append(attribution)
        if attribution.actor is not None:
            event.actor = attribution.actor
            event.actor_source = stream
            event.actor_address = attribution.address
            filled += 1
    new_position = _next_position(position, batch.records, retain)
    if new_position is not None and new_position != position:
        save_cursor(session, source, stream, new_position.encode("utf-8"))
    session.flush()
    return FillReport(
        records_read=len(records),
        filled=filled,
        unknown=_unattributed(session, source, since),
        attributions=tuple(attributions),
    )
