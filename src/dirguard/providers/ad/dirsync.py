"""A partition's changes as DirSync pages, each entry ready to apply to the last stored state.

Each DirSync page (:func:`~dirguard.providers.ad.ldap_read.dirsync_pages`, incremental values)
becomes a :class:`~dirguard.providers.base.ChangePage`: its entries as :class:`DirSyncChange`
(the object's GUID and DN, its attributes parsed with the schema) and the page's cookie as the
cursor. Applying a change to the stored state
(:func:`~dirguard.providers.ad.object_diff.apply_delta`) gives the new state and its events;
the domain SID gives the domain's groups their aliases in security descriptor changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dirguard.catalog.resource_type import Identifier, Partition, ResourceType
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.ldap_read import Entry, dirsync_pages
from dirguard.providers.ad.object_diff import DeltaResult, DirSyncDelta, apply_delta
from dirguard.providers.ad.object_diff import parse_dirsync_entry as parse
from dirguard.providers.ad.values import Content, Schema, classify
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

    @property
    def path(self) -> str:
        return self.delta.dn

    def resource_type(self) -> ResourceType | None:
        return classify(self.types, self.partition, self.delta.replaced)

    def apply(self, previous: Content | None, volatile: frozenset[str]) -> DeltaResult | None:
        return apply_delta(
            self.schema, previous, self.delta, volatile=volatile, domain_sid=self.domain_sid
        )


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
) -> Iterator[ChangePage]:
    """The partition's DirSync pages from ``cookie`` on, while the server says there is more."""
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
        yield ChangePage(changes=changes, cursor=page.cookie)
