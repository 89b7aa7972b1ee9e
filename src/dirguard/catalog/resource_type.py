"""The one declaration per resource type, and the registry that holds them.

Snapshot, diff, rollback, permission checks, the CLI listing and the generated docs all read a
``ResourceType``. A row carries behaviour, not only names: which objects of its source it
covers (``selects``), how an object is identified (``identify``), which fields restore never
writes, how values are compared, and how a deleted or created object is restored
(:class:`RestoreRules`). Each provider declares its rows (``providers/<kind>/types.py``) and
``providers/registry.py`` assembles them; adding a type is adding a row there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any

from dirguard.catalog.graph_rules import GraphLink, GraphWrites


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
    entity: str
    """The Graph entity type of the collection's objects (``conditionalAccessPolicy``), as
    Microsoft's schema (CSDL) names it."""
    select: tuple[str, ...] = ()
    """The ``$select`` of every read: exactly the stored properties (links are read on their
    own, see ``links``); empty: Graph's default set."""
    api_version: str = "v1.0"
    delta: str | None = None
    """The delta function's path (``users/delta``) when changes are collected by delta."""
    singleton: bool = False
    """``collection`` is one object (``policies/authorizationPolicy``), not a list."""
    parent: str | None = None
    """Key of the type whose objects hold this collection: ``collection`` has ``{parent}``, read
    once per object of the parent type (``servicePrincipals/{parent}/appRoleAssignedTo``)."""
    parent_field: str | None = None
    """The field of an object that holds its parent's id (``resourceId``)."""
    links: tuple[GraphLink, ...] = ()
    """The type's linked fields and how each is read and written."""
    collections: frozenset[str] = frozenset()
    """Its properties that are JSON arrays (``Collection(...)`` in Microsoft's CSDL, contained
    navigation properties answered inline included): how a stored field's list of values is
    written back (an array, or its one value)."""
    app_only: bool = True
    """Graph answers the collection to an application token; ``False``: only to a signed-in
    user's (delegated) token (its page says "Application: Not supported")."""
    item: str = "{collection}/{id}"
    """One object's path (read back after a write, PATCH, DELETE): ``{collection}`` and
    ``{id}`` are filled in; a singleton's is its collection."""


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

Content = Mapping[str, Any]
"""An object's content as its provider normalizes it (AD: attribute name -> list of values;
Graph: the JSON object)."""

Selector = Callable[[Content], bool]
"""Whether an object read from a row's source is of the row's type."""

Identifier = Callable[[Content], str | None]
"""An object's immutable identity in text form; ``None`` when the content does not hold it (the
reading account may not see it)."""


@dataclass(frozen=True, kw_only=True)
class FieldWrite:
    """One field written with a step: its new values and the values expected before it."""

    field: str
    values: tuple[Any, ...]
    expected: tuple[Any, ...] | None = None
    """``None``: nothing to check (the field is empty now)."""


@dataclass(frozen=True, kw_only=True)
class RestoreRules:
    """How restore treats whole objects of a type (the frozen rules; attribute and link writes
    follow from the field classes of the row)."""

    needs: tuple[str, ...]
    """Feature keys whose rights every restore write on the type needs."""
    reanimate: bool = True
    """A deleted object can be brought back with its identity (AD tombstone reanimation, Graph
    ``deletedItems`` restore)."""
    reanimate_needs: tuple[str, ...] = ()
    """Feature keys a reanimation needs besides ``needs``."""
    recreate: bool = True
    """An object that can no longer be brought back is created anew from history."""
    delete: bool = True
    """An object the undone selection created is deleted."""
    disable_instead: Callable[[Content], FieldWrite] | None = None
    """The write that disables an object instead of deleting it (the ``--disable-instead``
    policy) from its current content; ``None``: the type cannot be disabled, it is deleted. A
    re-created object is written disabled too (its secrets cannot be restored)."""
    reanimation_resets: frozenset[str] = frozenset()
    """Fields the directory sets on an object it brings back; cleared again when the live object
    had none."""
    recreate_omits: frozenset[str] = frozenset()
    """Fields left to the directory's defaults when an object is created anew from history."""
    refusal: str = ""
    """Why the whole-object operations it does not allow are never done; follows the object's
    DN in plans and messages."""

    def rights(self, *, reanimation: bool = False) -> tuple[str, ...]:
        """The feature keys whose rights a restore write needs (a reanimation: more)."""
        return self.needs + self.reanimate_needs if reanimation else self.needs


@dataclass(frozen=True, kw_only=True)
class ResourceType:
    """Everything dirguard needs to know about one kind of object."""

    key: str
    """Stable key ``<source>.<name>`` (``ad.user``); stored with every object, never renamed."""
    provider: str
    """The kind of provider that reads and writes it (``ad``, ``entra``)."""
    title: str
    source: Source
    selects: Selector | None
    """Which objects read from ``source`` are of this type; ``None``: every object of the
    source that no other row of the same source selects."""
    identity: str
    """Attribute holding the immutable identity (``objectGUID``, Graph ``id``)."""
    identify: Identifier
    """Extracts the identity (``identity``) from an object's content, in text form."""
    natural_key: str
    """Attribute people recognise (``sAMAccountName``, ``userPrincipalName``, ``displayName``)."""
    collection: Collection
    read_features: tuple[str, ...]
    """Feature keys that collect (monitor, snapshot) this type."""
    write_features: tuple[str, ...]
    """Feature keys that write (rollback, restore, administer) this type."""
    restore: RestoreRules
    read_only_fields: frozenset[str] = frozenset()
    """Set by the directory itself; never written back on restore."""
    never_written: frozenset[str] = frozenset()
    """Writable by someone, but never written by restore as a plain field value (written by a
    step of their own, fixed at creation, or not restorable)."""
    volatile_fields: frozenset[str] = frozenset()
    """Change on their own (timestamps, counters); ignored by diff and snapshot comparison."""
    unordered_fields: frozenset[str] = frozenset()
    """Multi-valued fields compared as sets."""
    linked_fields: frozenset[str] = frozenset()
    """Links to other objects (AD forward links, Graph navigation properties).

    Restored after the objects themselves."""
    writes: GraphWrites | None = None
    """How Graph wants the type's bodies (Graph types only)."""
    audit_names: Callable[[Content], tuple[str, ...]] | None = None
    """Other names an audit record may give an object, from its stored content (a directory
    role assignment: its role and principal, as Entra's "Remove member from role" names it);
    ``None``: only its identity and path."""

    @cached_property
    def _not_written(self) -> frozenset[str]:
        fields = self.read_only_fields | self.volatile_fields | self.never_written
        return frozenset(f.lower() for f in fields)

    def writable(self, name: str) -> bool:
        """Whether restore writes field ``name`` (any spelling) as a plain value."""
        return name.lower() not in self._not_written

    @cached_property
    def _comparison(self) -> tuple[frozenset[str], frozenset[str]]:
        return (
            frozenset(f.lower() for f in self.volatile_fields),
            frozenset(f.lower() for f in self.unordered_fields),
        )

    def significant(self, content: Content) -> dict[str, Any]:
        """What version comparison looks at: volatile fields left out, the values of unordered
        fields in a fixed order."""
        volatile, unordered = self._comparison
        kept: dict[str, Any] = {}
        for name, value in content.items():
            lowered = name.lower()
            if lowered in volatile:
                continue
            if lowered in unordered and isinstance(value, list):
                value = sorted(value, key=_order_key)
            kept[name] = value
        return kept

    def same_content(self, a: Content, b: Content) -> bool:
        """Two states of an object are the same one as far as dirguard keeps versions."""
        return self.significant(a) == self.significant(b)


def _order_key(value: object) -> tuple[str, str]:
    return type(value).__name__, repr(value)


def select_type(types: Iterable[ResourceType], content: Content) -> ResourceType | None:
    """The row (of one source) an object read from that source belongs to: the first whose
    selector accepts it, in declaration order, else the row taking the rest (``selects`` is
    ``None``), else ``None``."""
    rest: ResourceType | None = None
    for resource_type in types:
        if resource_type.selects is None:
            rest = rest or resource_type
        elif resource_type.selects(content):
            return resource_type
    return rest


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

    def providers(self) -> tuple[str, ...]:
        """The provider kinds with rows, in declaration order."""
        return tuple(dict.fromkeys(t.provider for t in self._table.values()))

    def of_provider(self, provider: str) -> tuple[ResourceType, ...]:
        """The rows of one provider, in declaration order."""
        return tuple(t for t in self._table.values() if t.provider == provider)

    def identify(self, provider: str) -> Identifier:
        """The identity extraction every row of ``provider`` shares: an object is identified
        before it is classified (a DirSync answer holds only what changed)."""
        found = {t.identify for t in self.of_provider(provider)}
        if len(found) != 1:
            raise ValueError(f"the {provider} rows do not share one identity extraction")
        return found.pop()
