"""The one declaration per resource type, and the registry that holds them.

Snapshot, diff, rollback, permission checks, the CLI listing and the generated docs all read a
``ResourceType``; adding a type is adding a row to ``resource_types.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Collection(StrEnum):
    """How changes of a type are collected."""

    DIRSYNC = "dirsync"
    """AD DirSync control (incremental values), cookie as cursor."""
    GRAPH_DELTA = "graph-delta"
    """Graph delta query, deltaLink as cursor."""
    POLL_HASH = "poll-hash"
    """Periodic full read, compared by content hash (no delta API exists)."""


class Partition(StrEnum):
    """AD naming contexts."""

    DOMAIN = "domain"
    CONFIGURATION = "configuration"
    SCHEMA = "schema"


@dataclass(frozen=True, kw_only=True)
class LdapSource:
    """Where an AD type lives: partition, filter, attributes (``*`` plus operational ones)."""

    partition: Partition
    ldap_filter: str
    attributes: tuple[str, ...] = ("*", "nTSecurityDescriptor")


@dataclass(frozen=True, kw_only=True)
class GraphSource:
    """Where a Microsoft Graph type lives."""

    collection: str
    """Path under the API version root, e.g. ``identity/conditionalAccess/policies``."""
    select: tuple[str, ...] = ()
    api_version: str = "v1.0"


@dataclass(frozen=True, kw_only=True)
class ExchangeSource:
    """An Exchange Online type, read through the admin REST API (``InvokeCommand``)."""

    cmdlet: str
    """The reading cmdlet, e.g. ``Get-Mailbox``."""
    parameters: tuple[tuple[str, str], ...] = ()
    """Fixed cmdlet parameters as (name, value) pairs, e.g. ``(("ResultSize", "Unlimited"),)``."""


@dataclass(frozen=True, kw_only=True)
class ArmSource:
    """An Azure Resource Manager type, read per subscription."""

    provider_path: str
    """Path under ``/subscriptions/{id}/``.

    E.g. ``providers/Microsoft.Authorization/roleAssignments``."""
    api_version: str


Source = LdapSource | GraphSource | ExchangeSource | ArmSource
"""Every kind of place a resource type is read from."""


@dataclass(frozen=True, kw_only=True)
class ResourceType:
    """Everything dirguard needs to know about one kind of object."""

    key: str
    """Stable key ``<source>.<name>`` (``ad.user``); stored with every object, never renamed."""
    title: str
    source: Source
    identity: str
    """Attribute holding the immutable identity (``objectGUID``, Graph ``id``)."""
    natural_key: str
    """Attribute people recognise (``sAMAccountName``, ``userPrincipalName``, ``displayName``)."""
    collection: Collection
    read_features: tuple[str, ...]
    """Feature keys that collect (monitor, snapshot) this type."""
    write_features: tuple[str, ...]
    """Feature keys that write (rollback, restore, administer) this type."""
    read_only_fields: frozenset[str] = frozenset()
    """Set by the directory itself; never written back on restore."""
    volatile_fields: frozenset[str] = frozenset()
    """Change on their own (timestamps, counters); ignored by diff and snapshot comparison."""
    unordered_fields: frozenset[str] = frozenset()
    """Multi-valued fields compared as sets."""
    linked_fields: frozenset[str] = frozenset()
    """Links to other objects (AD forward links, Graph navigation properties).

    Restored after the objects themselves."""
    restore_hooks: tuple[str, ...] = field(default=())
    """Names of restore steps beyond attribute writes, e.g. ``reanimate-tombstone``."""


class ResourceTypeRegistry(Mapping[str, ResourceType]):
    """Immutable table of resource types, keyed by ``ResourceType.key``."""

    def __init__(self, types: Iterable[ResourceType]) -> None:
        table: dict[str, ResourceType] = {}
        for resource_type in types:
            if resource_type.key in table:
                raise ValueError(f"resource type {resource_type.key!r} is declared twice")
            table[resource_type.key] = resource_type
        self._table = table

    def __getitem__(self, key: str) -> ResourceType:
        try:
            return self._table[key]
        except KeyError:
            known = ", ".join(sorted(self._table))
            raise KeyError(f"unknown resource type {key!r}; known types: {known}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._table)

    def __len__(self) -> int:
        return len(self._table)

    def by_source(
        self,
        source: type[LdapSource] | type[GraphSource] | type[ExchangeSource] | type[ArmSource],
    ) -> list[ResourceType]:
        """Types read from one kind of source, in declaration order."""
        return [t for t in self._table.values() if isinstance(t.source, source)]
