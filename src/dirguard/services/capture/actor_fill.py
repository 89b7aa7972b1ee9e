"""Fill in who made stored changes, from the DC's audit trail, also when the trail is late.

:func:`fill_actors` reads the audit records written since its stored position (cursor stream
``<source name>``, e.g. ``samba-audit``), correlates them with the source's change events whose
actor is still unknown, sets ``actor``/``actor_source``/``actor_address`` where exactly one actor
matches, and stores the new position — all in the caller's session, so the position and the
attributions are committed together. The event hash chain leaves the actor fields out on purpose
(see :mod:`dirguard.store.events`), so filling them later keeps the chain intact.

Records of the last ``retain`` period (measured from the newest record) are read again on the
next call, so a change captured after its audit record was read still finds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dirguard.providers.ad.audit.actor_correlation import Attribution, ChangeFacts, attribute_change
from dirguard.providers.ad.audit.audit_source import AuditSource, PositionedRecord
from dirguard.store.column_types import utcnow
from dirguard.store.cursors import get_cursor, save_cursor
from dirguard.store.models import ChangeEvent, DirectoryObject

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


def _dn_history(session: Session, obj: DirectoryObject) -> tuple[str, ...]:
    dns = [obj.path] if obj.path else []
    rows = session.execute(
        select(ChangeEvent.old_value, ChangeEvent.new_value)
        .where(ChangeEvent.object_id == obj.id, ChangeEvent.op.in_(_DN_OPS))
        .order_by(ChangeEvent.sequence.desc())
    )
    for old, new in rows:
        dns.extend(value for value in (new, old) if isinstance(value, str) and value not in dns)
    return tuple(dns)


def change_facts(session: Session, event: ChangeEvent, obj: DirectoryObject) -> ChangeFacts:
    """What correlation needs to know about a stored event."""
    value = event.old_value if event.op == "remove-value" else event.new_value
    return ChangeFacts(
        key=event.id,
        op=event.op,
        attribute=event.attribute,
        dns=_dn_history(session, obj),
        object_guid=obj.external_id if len(obj.external_id) == 36 else None,
        value=value,
        when=event.occurred_at or event.observed_at,
        correlation_id=event.correlation_id,
    )


def _next_position(
    old: str | None, records: tuple[PositionedRecord, ...], retain: timedelta
) -> str | None:
    """Position to store: before the first record of the last ``retain`` period."""
    if not records:
        return old
    cutoff = max(p.record.timestamp for p in records) - retain
    kept_from = next(i for i, p in enumerate(records) if p.record.timestamp >= cutoff)
    return records[kept_from - 1].position if kept_from > 0 else old


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
    commit (commit once: attributions and audit position belong together)."""
    stream = audit.name
    stored = get_cursor(session, source, stream)
    position = stored.decode("utf-8") if stored is not None else None
    batch = audit.read_after(position)
    records = [p.record for p in batch.records]
    windows = {k: v for k, v in (("before", before), ("after", after)) if v is not None}
    since = (now or utcnow()) - max_age
    pending = session.execute(
        select(ChangeEvent, DirectoryObject)
        .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
        .where(
            ChangeEvent.source == source,
            ChangeEvent.actor.is_(None),
            ChangeEvent.observed_at >= since,
        )
        .order_by(ChangeEvent.sequence)
    ).all()
    attributions = []
    filled = 0
    for event, obj in pending:
        attribution = attribute_change(change_facts(session, event, obj), records, **windows)
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
        unknown=len(attributions) - filled,
        attributions=tuple(attributions),
    )
