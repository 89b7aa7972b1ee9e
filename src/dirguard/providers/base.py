"""What every kind of source offers dirguard's source-neutral use cases.

A :class:`Provider` is one kind of source (Active Directory over LDAP, Entra ID over Graph). It
contributes its rows to the resource-type registry and opens connections; a connection reads
everything, reads changes from a cursor, reads the audit trail from a position, plans steps,
applies one step (given the ids produced by earlier steps) and checks the rights a set of steps
needs. Everything that is the same for every source — page + cursor in one transaction, events
and their hash chain, runs, plan storage, the step loop with audit, verify and elevation,
selection by event / actor / window / object — lives in ``services/`` and calls these.

The protocol grows as the use cases move onto it; each method says which use case calls it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from dirguard.catalog.resource_type import ResourceType
from dirguard.core.plan import PlanDraft, Step

if TYPE_CHECKING:
    from dirguard.core.audit_record import AuditSource


class Provider(Protocol):
    """One kind of source."""

    @property
    def kind(self) -> str:
        """Short name, the prefix of its type keys and store keys (``ad``, ``entra``)."""
        ...

    def resource_types(self) -> tuple[ResourceType, ...]:
        """This provider's rows of the resource-type registry, in declaration order."""
        ...


# ---- Reading: what snapshot, capture, monitor and actors call (CAPTURE) --------------------

Content = dict[str, list[Any]]
"""An object's state as stored: each field's values, normalized by the provider."""


class ReadingProvider(Provider, Protocol):
    """A provider whose sources dirguard reads (snapshot, capture, monitor, actors)."""

    def open_reader(self, runtime: Connections, name: str) -> SourceReader:
        """The configured source ``name`` opened for reading, through the runtime."""
        ...

    def object_facts(
        self, resource_type: ResourceType, content: Content, known_path: str | None = None
    ) -> ObjectFacts:
        """What the store's object row says of an object in this state (``known_path``: the
        path stored so far, for a state that does not name it)."""
        ...


@dataclass(frozen=True, kw_only=True)
class ObjectFacts:
    """An object's row in the store as its state says: where it is, whether it is deleted,
    the name people know it by."""

    path: str
    deleted: bool
    natural_key: str | None


class ReadError(Exception):
    """A source's answer cannot be stored (an entry without its identity, say); the message
    names the entry."""


class Connections(Protocol):
    """What a provider opens its connections with: the runtime (``services.runtime.Runtime``),
    which turns configuration into an authenticated connection in one place."""

    def source_config(self, kind: str, name: str) -> Any:
        """The configuration of the source ``name`` of kind ``kind``."""
        ...

    def connection(self, kind: str, name: str) -> Any:
        """An authenticated connection to it (the provider's own connection type)."""
        ...


@dataclass(frozen=True, kw_only=True)
class ReadScope:
    """A part of a source that is read and followed on its own (an AD partition): its name, the
    cursor stream its changes are followed with, and the resource types read from it."""

    name: str
    stream: str
    type_keys: frozenset[str]


@dataclass(frozen=True, kw_only=True)
class ObservedObject:
    """One object as a full read returned it, ready to store."""

    external_id: str
    resource_type: ResourceType
    content: Content


@dataclass(kw_only=True)
class SnapshotPage:
    """One page of a full read: the objects of catalog types, and what was left out."""

    objects: list[ObservedObject] = field(default_factory=list)
    read: int = 0
    """Objects read (those not in the catalog included; unreadable ones not)."""
    not_in_catalog: Counter[str] = field(default_factory=Counter)
    """Objects of no catalog type, by their most specific class."""
    unreadable: int = 0
    """Entries listed whose identity the account may not read (skipped)."""


@dataclass(frozen=True, kw_only=True)
class LookedUp:
    """An object read by its id after a full read missed it."""

    path: str
    content: Content
    gone: bool
    """It is deleted (a tombstone), not merely elsewhere."""


class FieldChange(Protocol):
    """One change event to store: ``op`` is a :class:`dirguard.core.change_op.ChangeOp` value."""

    @property
    def op(self) -> str: ...
    @property
    def attribute(self) -> str | None: ...
    @property
    def old(self) -> Any: ...
    @property
    def new(self) -> Any: ...


class AppliedChange(Protocol):
    """An observed change applied to the last stored state: the new state and its events."""

    @property
    def content(self) -> Content: ...
    @property
    def changes(self) -> Sequence[FieldChange]: ...


class ObservedChange(Protocol):
    """One object's change as a change read returned it."""

    @property
    def external_id(self) -> str: ...
    @property
    def path(self) -> str: ...

    def resource_type(self) -> ResourceType | None:
        """The catalog type of an object not stored yet (``None``: not in the catalog)."""
        ...

    def apply(self, previous: Content | None, volatile: frozenset[str]) -> AppliedChange | None:
        """The change applied to ``previous`` (``None``: nothing stored yet); ``None`` when
        it changes nothing (``volatile`` fields do not count)."""
        ...


@runtime_checkable
class DatedChange(Protocol):
    """An observed change that knows when each of its events happened at the source (AD: the
    replication metadata's originating time), read in the same pass: the event's
    ``occurred_at``, which its digest covers, so it must be known when it is stored."""

    def occurred_at(self, op: str, attribute: str | None) -> datetime | None: ...


@dataclass(frozen=True, kw_only=True)
class ChangePage:
    """One page of a change read and the cursor after it (stored with what is made of it)."""

    changes: Sequence[ObservedChange]
    cursor: bytes
    complete: frozenset[str] | None = None
    """On the last page of a read that listed the whole scope (a Graph delta round started
    over after ``410 Gone``, a poll): every id it returned. An object stored as live in the
    scope that is not among them was deleted meanwhile (the capture records it, as a snapshot
    does)."""


class SourceReader(Protocol):
    """An open connection to one source, for reading; closed with :meth:`close`."""

    @property
    def name(self) -> str:
        """The source's configured name (what people are shown)."""
        ...

    @property
    def source(self) -> str:
        """The source's store key (:func:`store_source` of its kind and name)."""
        ...

    def scopes(self) -> Sequence[ReadScope]:
        """The configured parts of the source, in reading order."""
        ...

    def start_cursor(self, scope: ReadScope) -> bytes:
        """A cursor for "now": changes from here on (taken before a full read)."""
        ...

    def read_all(self, scope: ReadScope) -> Iterator[SnapshotPage]:
        """Everything in ``scope``, page by page (a snapshot)."""
        ...

    def look_up(self, external_id: str) -> LookedUp | None:
        """One object by id, live or deleted; ``None`` when the source holds it no more."""
        ...

    def read_changes(self, scope: ReadScope, cursor: bytes) -> Iterator[ChangePage]:
        """The changes in ``scope`` since ``cursor`` (empty: since the beginning), page by
        page, each with the cursor after it (a DirSync cookie, a Graph deltaLink)."""
        ...

    @property
    def path_field(self) -> str:
        """The field holding an object's path, named by the delete events a snapshot records
        (AD: ``distinguishedName``)."""
        ...

    def changes_incomplete(self) -> bool:
        """Whether the account may be shown no deletions by change reads (said in the log)."""
        ...

    def audit(self) -> AuditSource | None:
        """The source's audit trail, read from a stored position (``read_after``); ``None``
        when none is configured."""
        ...

    def close(self) -> None: ...


def store_source(kind: str, name: str) -> str:
    """The store key of a connection: namespaced by provider (``ad:corp.example.com``,
    ``entra:contoso``), so an AD domain and a tenant with the same name never share objects or a
    hash chain. Everything that writes or filters the ``source`` column of the store builds the
    key here."""
    return f"{kind}:{name}"


def source_name(key: str) -> str:
    """The configured name in a store key (``corp.example.com`` of ``ad:corp.example.com``):
    what people are shown, and what they type after ``--domain``."""
    return key.partition(":")[2] or key


# ---- planning, applying and rights (the rollback use cases) ----------------------------------


class SourceError(Exception):
    """A provider could not do what was asked of the source; ``refused``: for lack of rights or
    configuration that would grant them (a use case reports it as a permission problem)."""

    def __init__(self, message: str, *, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass(frozen=True, kw_only=True)
class StepResult:
    """How performing one plan step ended."""

    status: str
    """``succeeded``, ``unchanged`` (already as intended), ``skipped`` (a conflict) or
    ``failed``."""
    outcome: str
    """What to tell people (when it verifies: the step loop reads it back first)."""
    produced_id: str | None = None
    """The id the step produced (a re-created object's new objectGUID, a Graph object's id)."""


class Rights(Protocol):
    """What a set of steps needs from the account dirguard writes with, and what it lacks."""

    @property
    def ok(self) -> bool: ...

    @property
    def missing_groups(self) -> tuple[str, ...]:
        """What a just-in-time elevation would grant (AD: group names)."""
        ...

    def needed(self) -> tuple[str, ...]:
        """What the steps need, as people read it (AD: ``Domain Admins (domain)``)."""
        ...

    def message(self) -> str: ...

    def as_dict(self) -> dict[str, object]: ...


class RollbackProvider(Provider, Protocol):
    """A provider whose sources dirguard writes back to (rollback, restore, undelete)."""

    def plan_steps(self, draft: Any) -> PlanDraft:
        """The provider's own plan (its planner's draft) as source-neutral steps."""
        ...

    def open_writer(self, runtime: Connections, name: str) -> StepWriter:
        """The configured source ``name`` opened for writing, through the runtime (a context
        manager: closed on leaving the ``with`` block)."""
        ...


class Unplannable(ValueError):
    """A provider's planner cannot plan the selection; the message says why."""


@dataclass(frozen=True, kw_only=True)
class RecordedChange:
    """One stored change event, as a provider's planner reads it (source-neutral: the rollback
    use cases select them from the store by event, actor and window)."""

    id: int
    sequence: int
    external_id: str
    """The changed object's id."""
    op: str
    """A :class:`dirguard.core.change_op.ChangeOp` value."""
    attribute: str | None
    old: Any
    new: Any
    when: datetime
    actor: str | None = None


@dataclass(frozen=True, kw_only=True)
class RecordedObject:
    """What the store holds now of one object a plan touches."""

    external_id: str
    resource_type: ResourceType
    label: str
    """What people know it by (a DN, a display name)."""
    deleted: bool
    current: Content
    """Its latest stored state (for a deleted object: what the deletion left)."""
    last_live: Content | None = None
    """A deleted object's last state before the deletion."""


class HistoryPlanner(RollbackProvider, Protocol):
    """A provider that plans from the store's history through the source-neutral selection
    (:mod:`dirguard.services.rollback.history_plans`)."""

    def plan_changes(
        self,
        changes: Sequence[RecordedChange],
        objects: Mapping[str, RecordedObject],
        *,
        force: bool,
    ) -> PlanDraft:
        """Steps that undo ``changes`` (oldest first); ``objects``: every object they touch,
        and every object a re-created one refers to, by external id. A value changed again
        since is a conflict (skipped unless ``force``)."""
        ...

    def plan_state(self, obj: RecordedObject, state: Content) -> PlanDraft:
        """Steps that bring ``obj`` back to ``state`` (recorded at an earlier moment)."""
        ...


class StepWriter(Protocol):
    """An open connection's write side (a context manager), called by the step loop
    (:mod:`dirguard.services.rollback.steps`) with every reference to a produced id already
    resolved."""

    def apply(self, step: Step, produced: Mapping[str, str], *, force: bool) -> StepResult:
        """Perform one step (``produced``: the ids earlier steps produced, by name)."""
        ...

    def verify(self, step: Step, produced: Mapping[str, str]) -> str | None:
        """Read the step's object back: how it differs from the intended state, or ``None``."""
        ...

    def rights(self, steps: Sequence[Step]) -> Rights:
        """What the bound account lacks to perform ``steps`` (reads only;
        :class:`SourceError` when it cannot be told)."""
        ...

    def __enter__(self) -> StepWriter: ...

    def __exit__(self, *_exc: object) -> None: ...


@runtime_checkable
class BatchStepWriter(StepWriter, Protocol):
    """A writer that performs several steps as one write: consecutive steps with the same
    :meth:`batch_key` (AD: attribute values set on one object, one LDAP modify) go to
    :meth:`apply_batch` together."""

    def batch_key(self, step: Step) -> object | None:
        """Steps with the same key may be written together; ``None``: this one alone."""
        ...

    def apply_batch(
        self, steps: Sequence[Step], produced: Mapping[str, str], *, force: bool
    ) -> list[StepResult]:
        """Perform ``steps`` and read them back: one result per step, each ``succeeded`` or
        ``unchanged`` only when the directory was read back holding its intended state."""
        ...


class GrantRefused(Exception):
    """A just-in-time grant (or its removal) was refused by the source; the message says why."""


class Grants(Protocol):
    """A connection opened with the elevation credential: grants the account dirguard writes
    with what it lacks (:mod:`dirguard.services.rollback.elevation`) and takes it away again.
    A "group" is what :attr:`Rights.missing_groups` names: an AD group the bind account joins,
    or an Entra Graph application permission or directory role dirguard's application is given
    (:mod:`dirguard.providers.entra.grants`). Errors are :class:`GrantRefused`."""

    def locate(self, account: str, group: str) -> tuple[str, str]:
        """``(account_id, group_id)`` (AD: their DNs; Entra: the service principal's id and
        the grant's)."""
        ...

    def add(self, group_id: str, account_id: str) -> None: ...

    def remove(self, group_id: str, account_id: str) -> bool:
        """``False`` when the account was no longer a member."""
        ...
