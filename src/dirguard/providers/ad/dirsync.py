"""A partition's changes as DirSync pages, each entry ready to apply to the last stored state.

Each DirSync page (:func:`~dirguard.providers.ad.ldap_read.dirsync_pages`, incremental values)
becomes a :class:`~dirguard.providers.base.ChangePage`: its entries as :class:`DirSyncChange`
(the object's GUID and DN, its attributes parsed with the schema) and the page's cookie as the
cursor. Applying a change to the stored state
(:func:`~dirguard.providers.ad.object_diff.apply_delta`) gives the new state and its events;
the domain SID gives the domain's groups their aliases in security descriptor changes. Each
page's objects' replication metadata is read in the same pass (a search per page,
:mod:`dirguard.providers.ad.repl_metadata`), so each change says when it was made at the DC
(:meth:`DirSyncChange.occurred_at`), also when it is read long after.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from dirguard.catalog.resource_type import Identifier, Partition, ResourceType
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.ldap_read import Entry, dirsync_pages, show_deleted_control
from dirguard.providers.ad.object_diff import DeltaResult, DirSyncDelta, apply_delta
from dirguard.providers.ad.object_diff import parse_dirsync_entry as parse
from dirguard.providers.ad.repl_metadata import AttidMap, AttidTimes, read_change_times
from dirguard.providers.ad.values import DN_ATTRIBUTE, Content, Schema, classify
from dirguard.providers.base import ChangePage, ReadError


@dataclass(frozen=True, kw_only=True)
class DirSyncChange:
    """One DirSync entry: an object's changed attributes (an ObservedChange)."""

    external_id: str
    delta: DirSyncDelta
    partition: Partition
    schema: Schema
    types: Sequence[ResourceType]
    domain_sid: str | None
    attids: AttidMap | None = None
    times: AttidTimes = field(default_factory=dict)
    """Originating change time of each of the object's attributes, by attid."""

    @property
    def path(self) -> str:
        return self.delta.dn

    def resource_type(self) -> ResourceType | None:
        return classify(self.types, self.partition, self.delta.replaced)

    def apply(self, previous: Content | None, volatile: frozenset[str]) -> DeltaResult | None:
        return apply_delta(
            self.schema, previous, self.delta, volatile=volatile, domain_sid=self.domain_sid
        )

    def occurred_at(self, op: str, attribute: str | None) -> datetime | None:
        """When the DC took the change ``op`` of ``attribute`` (its originating time), from the
        object's metadata; ``None`` for a linked value or an attribute the metadata lacks."""
        if self.attids is None or not self.times:
            return None
        name = _METADATA_OF_OP.get(op, attribute)
        if name is None or name == DN_ATTRIBUTE or self.schema.get(name).link_id is not None:
            return None
        attid = self.attids.get(name)
        return None if attid is None else self.times.get(attid)


_METADATA_OF_OP = {
    "create": "objectClass",
    "delete": "isDeleted",
    "undelete": "isDeleted",
    "move": "name",
    "rename": "name",
}
"""Which attribute's metadata dates a change that is not one attribute's (a create, a delete,
a move or rename: the object's ``name`` is rewritten whenever its DN changes)."""
_ALWAYS_SENT = frozenset({"objectGUID", "instanceType", DN_ATTRIBUTE})
"""What a DirSync entry holds whatever changed: an entry with nothing else changed only linked
values, which carry no attribute metadata (no search for it)."""


def _identity(identify: Identifier, entry: Entry) -> str:
    found = identify(entry[1])
    if found is None:
        raise ReadError(f"{entry[0]}: the DirSync answer holds no objectGUID")
    return found


def read_changes(
    conn: AdConnection,
    partition: Partition,
    cookie: bytes,
    *,
    schema: Schema,
    types: Sequence[ResourceType],
    identify: Identifier,
    domain_sid: str | None,
    attids: AttidMap | None = None,
) -> Iterator[ChangePage]:
    """The partition's DirSync pages from ``cookie`` on, while the server says there is more;
    with ``attids``, each change dated by its object's replication metadata."""
    base = conn.contexts.base(partition)
    for page in dirsync_pages(conn.ldap, base, cookie):
        changes = [
            DirSyncChange(
                external_id=_identity(identify, (dn, raw)),
                delta=parse(schema, dn, raw),
                partition=partition,
                schema=schema,
                types=types,
                domain_sid=domain_sid,
            )
            for dn, raw in page.entries
        ]
        if attids is not None:
            changes = _dated(conn, base, changes, attids)
        yield ChangePage(changes=changes, cursor=page.cookie)


def _dated(
    conn: AdConnection, base: str, changes: list[DirSyncChange], attids: AttidMap
) -> list[DirSyncChange]:
    """``changes`` with their objects' originating times, read in one pass for the page."""
    wanted = [
        c.external_id
        for c in changes
        if c.delta.replaced.keys() - _ALWAYS_SENT or c.delta.is_tombstone
    ]
    if not wanted:
        return changes
    times = read_change_times(conn.ldap, base, wanted, [show_deleted_control()])
    return [
        replace(c, attids=attids, times=times[c.external_id]) if c.external_id in times else c
        for c in changes
    ]
