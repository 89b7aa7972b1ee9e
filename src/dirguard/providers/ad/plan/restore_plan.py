"""Restore plans: which LDAP operations undo a selection of recorded changes (pure: no I/O).

The planner works from what dirguard recorded: the selected change events, and for each object
its latest stored state (to name conflicts) and, where needed, an earlier state (a point in
time, or the last live state of a deleted object). It returns ordered :class:`PlannedStep`
values; nothing is written anywhere. Each step carries the values it writes and the values it
expects to find (``expected``), so the executor can refuse a step whose object changed again.

Order: tombstones are reanimated and objects moved back first, in one phase ordered by the
depth of their destination (parents before children: an OU deleted with its children comes back
before them, a renamed OU before what moves back into it), then attributes are set, then linked
values (group membership) are added or removed, and last the objects created by the selection
are deleted (children first).
Attributes the object's row names read-only, volatile or never written are never written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from dirguard.catalog.resource_type import ResourceType
from dirguard.providers.ad.values import Content, Value, split_dn


class StepKind(StrEnum):
    REANIMATE = "reanimate"
    RECREATE = "recreate"
    """No tombstone is left: add the object anew from history (new objectGUID and objectSid)."""
    MOVE = "move"
    SET = "set"
    SET_SECURITY = "set-security"
    """Write back the DACL (owner, group when they changed) of a stored earlier descriptor."""
    ADD_VALUE = "add-value"
    REMOVE_VALUE = "remove-value"
    DELETE = "delete"


PHASES = {
    StepKind.REANIMATE: 0,
    StepKind.RECREATE: 0,
    StepKind.MOVE: 0,
    StepKind.SET: 2,
    StepKind.SET_SECURITY: 2,
    StepKind.ADD_VALUE: 3,
    StepKind.REMOVE_VALUE: 3,
    StepKind.DELETE: 4,
}


@dataclass(frozen=True, kw_only=True)
class HistoryEvent:
    """One recorded change event, as the planner needs it."""

    id: int
    sequence: int
    object_guid: str
    op: str
    attribute: str | None
    old: Any
    new: Any
    when: datetime
    actor: str | None = None
    old_bytes: bytes | None = None
    """A security descriptor change: the binary descriptor before it (the event holds SDDL)."""
    new_bytes: bytes | None = None
    """A security descriptor change: the binary descriptor it left."""


@dataclass(frozen=True, kw_only=True)
class ObjectFacts:
    """What dirguard knows of one object now."""

    guid: str
    resource_type: ResourceType
    dn: str
    deleted: bool
    current: Content
    """The latest stored content (the tombstone's, for a deleted object)."""
    last_live: Content | None = None
    """The last content before deletion (deleted objects only)."""


@dataclass(frozen=True, kw_only=True)
class PlannedStep:
    kind: StepKind
    object_guid: str
    dn: str
    """The object's DN as known when planning (for people; execution finds it by GUID)."""
    attribute: str | None = None
    values: tuple[Value, ...] = ()
    """SET: the values to write (none: clear); ADD/REMOVE: the value; MOVE/REANIMATE/RECREATE:
    the new DN."""
    expected: tuple[Value, ...] | None = None
    """The values (or DN) the object should have now; ``None``: nothing to check."""
    description: str
    event_ids: tuple[int, ...] = ()
    conflict: str | None = None
    skipped: bool = False
    entry: tuple[tuple[str, tuple[Value, ...]], ...] = ()
    """RECREATE: the attributes of the LDAP add, from the recorded history."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "object_guid": self.object_guid,
            "dn": self.dn,
            "attribute": self.attribute,
            "values": list(self.values),
            "expected": None if self.expected is None else list(self.expected),
            "description": self.description,
            "event_ids": list(self.event_ids),
            "conflict": self.conflict,
            "skipped": self.skipped,
            "entry": [[name, list(values)] for name, values in self.entry],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlannedStep:
        expected = data.get("expected")
        return cls(
            kind=StepKind(data["kind"]),
            object_guid=data["object_guid"],
            dn=data["dn"],
            attribute=data.get("attribute"),
            values=tuple(data.get("values") or ()),
            expected=None if expected is None else tuple(expected),
            description=data["description"],
            event_ids=tuple(data.get("event_ids") or ()),
            conflict=data.get("conflict"),
            skipped=bool(data.get("skipped")),
            entry=tuple((str(n), tuple(v)) for n, v in data.get("entry") or ()),
        )


@dataclass(frozen=True, kw_only=True)
class RestorePlanDraft:
    steps: tuple[PlannedStep, ...]
    warnings: tuple[str, ...] = field(default=())
    unattributed_left_out: int = 0
    """An actor's plan: changes of the window with no known actor that were not included."""
    unattributed_included: int = 0
    """An actor's plan: such changes included on request (their steps say so)."""


class PlanningError(ValueError):
    """The selection cannot be planned; the message says why."""


# ---- wording ---------------------------------------------------------------------------------


def rdn_of(dn: str) -> str:
    return split_dn(dn)[0]


def depth(dn: str) -> int:
    count, rest = 0, dn
    while rest:
        count += 1
        rest = split_dn(rest)[1]
    return count


def shown(values: Sequence[Value]) -> str:
    """Values as a directory admin reads them: text quoted, bytes by size."""
    if not values:
        return "(empty)"
    parts = [f"<{len(v)} bytes>" if isinstance(v, bytes) else f"'{v}'" for v in values]
    return ", ".join(parts[:5]) + (f" and {len(parts) - 5} more" if len(parts) > 5 else "")


def as_values(value: Any) -> tuple[Value, ...]:
    """An event value (scalar for single-valued attributes, list otherwise) as values."""
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(v for v in value if isinstance(v, str | bytes))
    if isinstance(value, str | bytes):
        return (value,)
    return (str(value),)


def same_values(a: Iterable[Value], b: Iterable[Value]) -> bool:
    def key(v: Value) -> Value:
        return v.lower() if isinstance(v, str) else v

    return {key(v) for v in a} == {key(v) for v in b}


def writable(resource_type: ResourceType, attribute: str) -> bool:
    """Whether restore writes ``attribute`` as a plain value: the row decides
    (:meth:`~dirguard.catalog.resource_type.ResourceType.writable`)."""
    return resource_type.writable(attribute)


def set_step(
    facts: ObjectFacts,
    attribute: str,
    target: tuple[Value, ...],
    expected: tuple[Value, ...] | None,
    event_ids: tuple[int, ...] = (),
) -> PlannedStep:
    before = shown(expected) if expected is not None else "its current value"
    verb = f"Set {attribute} of {facts.dn} from {before} back to {shown(target)}"
    if not target:
        verb = f"Clear {attribute} of {facts.dn} (now {before})"
    return PlannedStep(
        kind=StepKind.SET,
        object_guid=facts.guid,
        dn=facts.dn,
        attribute=attribute,
        values=target,
        expected=expected,
        description=verb,
        event_ids=event_ids,
    )


def link_step(
    facts: ObjectFacts, attribute: str, value: str, *, add: bool, event_ids: tuple[int, ...] = ()
) -> PlannedStep:
    if attribute.lower() == "member":
        text = (
            f"Add {rdn_of(value)} back to group {facts.dn}"
            if add
            else f"Remove {rdn_of(value)} from group {facts.dn}"
        )
    else:
        text = (
            f"Add {value} back to {attribute} of {facts.dn}"
            if add
            else f"Remove {value} from {attribute} of {facts.dn}"
        )
    return PlannedStep(
        kind=StepKind.ADD_VALUE if add else StepKind.REMOVE_VALUE,
        object_guid=facts.guid,
        dn=facts.dn,
        attribute=attribute,
        values=(value,),
        description=text,
        event_ids=event_ids,
    )


def move_step(
    facts: ObjectFacts, target_dn: str, expected_dn: str, event_ids: tuple[int, ...] = ()
) -> PlannedStep:
    same_parent = split_dn(target_dn)[1].lower() == split_dn(expected_dn)[1].lower()
    verb = (
        f"Rename {expected_dn} back to {rdn_of(target_dn)}"
        if same_parent
        else f"Move {expected_dn} back to {split_dn(target_dn)[1]}"
        + (f" as {rdn_of(target_dn)}" if rdn_of(target_dn) != rdn_of(expected_dn) else "")
    )
    return PlannedStep(
        kind=StepKind.MOVE,
        object_guid=facts.guid,
        dn=expected_dn,
        values=(target_dn,),
        expected=(expected_dn,),
        description=verb,
        event_ids=event_ids,
    )


def ordered(steps: Iterable[PlannedStep]) -> tuple[PlannedStep, ...]:
    """Reanimations and moves parents first (by the depth of their destination), then
    attributes, links, and deletes children first."""

    def key(step: PlannedStep) -> tuple[int, int]:
        phase = PHASES[step.kind]
        if step.kind in (StepKind.REANIMATE, StepKind.RECREATE, StepKind.MOVE):
            return phase, depth(str(step.values[0]))
        if step.kind is StepKind.DELETE:
            return phase, -depth(step.dn)
        return phase, 0

    return tuple(sorted(steps, key=key))  # sorted() is stable: event order within a phase


def with_conflict(step: PlannedStep, conflict: str | None, force: bool) -> PlannedStep:
    if conflict is None:
        return step
    return replace(step, conflict=conflict, skipped=not force)


def canonical_dn(text: str) -> str:
    """``text`` as a DN in python-ldap's canonical spelling (a :class:`PlanningError` when it is
    not a DN). python-ldap (the ``ad`` extra) is imported here, where it is used: the plan model
    itself serves Entra plans on an install without it."""
    import ldap.dn

    try:
        return str(ldap.dn.dn2str(ldap.dn.str2dn(text.strip())))
    except ldap.DECODING_ERROR:
        raise PlanningError(
            f"{text!r} is not a distinguished name; give the OU as e.g. OU=Sales,DC=corp,DC=example"
        ) from None
