"""Turning a DirSync answer into per-attribute change events (pure: no I/O).

:func:`parse_dirsync_entry` reads one DirSync entry into a :class:`DirSyncDelta`: attributes
that were replaced (an empty list means cleared) and, for linked attributes sent as incremental
values, the single values added (``member;range=1-1``) and removed (``member;range=0-0``).
:func:`apply_delta` applies a delta to dirguard's last stored state and returns the new state
with one :class:`AttributeChange` per attribute or linked value. Applying a delta the stored
state already contains yields no changes, which is what makes replaying a DirSync page harmless.

A security descriptor (``nTSecurityDescriptor``) change is shown readably: the old value is the
old descriptor in SDDL, the new value is ``{"sddl": <new SDDL>, "difference": {...}}`` holding the
ACE-level difference (owner/group changes and each DACL/SACL ACE added, removed or moved, as SDDL
ACE strings). The raw bytes stay in the stored state, for restore.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.sd.security_descriptor import (
    SecurityDescriptorError,
    diff_security_descriptors,
    to_sddl,
)
from dirguard.providers.ad.values import (
    DELETION_MARKERS,
    DN_ATTRIBUTE,
    DROPPED_ATTRIBUTES,
    Content,
    Schema,
    Value,
    is_tombstone_dn,
    normalize_values,
    parse_ranged,
    split_dn,
)

CREATE = ChangeOp.CREATE
MODIFY = ChangeOp.MODIFY
ADD_VALUE = ChangeOp.ADD_VALUE
REMOVE_VALUE = ChangeOp.REMOVE_VALUE
MOVE = ChangeOp.MOVE
RENAME = ChangeOp.RENAME
DELETE = ChangeOp.DELETE
UNDELETE = ChangeOp.UNDELETE

SECURITY_DESCRIPTOR_SYNTAX = "2.5.5.15"


@dataclass(frozen=True, kw_only=True)
class AttributeChange:
    """One event to store: ``op`` is a :class:`dirguard.core.change_op.ChangeOp`."""

    op: str
    attribute: str | None
    old: Any = None
    new: Any = None


@dataclass(frozen=True, kw_only=True)
class DirSyncDelta:
    dn: str
    replaced: Content = field(default_factory=dict)
    added: Content = field(default_factory=dict)
    removed: Content = field(default_factory=dict)

    @property
    def is_tombstone(self) -> bool:
        return is_tombstone_dn(self.dn) or self.replaced.get("isDeleted") == ["TRUE"]


@dataclass(frozen=True, kw_only=True)
class DeltaResult:
    content: Content
    changes: tuple[AttributeChange, ...]


def parse_dirsync_entry(
    schema: Schema, dn: str, raw: Mapping[str, Iterable[bytes]]
) -> DirSyncDelta:
    replaced: Content = {}
    added: Content = {}
    removed: Content = {}
    for name, values in raw.items():
        ranged = parse_ranged(name)
        base = ranged.name if ranged is not None else name
        syntax = schema.get(base)
        if syntax.back_link or base in DROPPED_ATTRIBUTES:
            continue
        canonical = syntax.name if syntax.syntax != "unknown" else base
        normalized = normalize_values(schema, base, values)
        if ranged is None:
            replaced[canonical] = normalized
        elif ranged.low == 0 and ranged.high == 0:
            removed.setdefault(canonical, []).extend(normalized)
        else:
            added.setdefault(canonical, []).extend(normalized)
    return DirSyncDelta(dn=dn, replaced=replaced, added=added, removed=removed)


def _presented(schema: Schema, name: str, values: list[Value] | None) -> Any:
    """How a value appears in an event: a scalar for single-valued attributes, else a list."""
    if schema.single_valued(name):
        return values[0] if values else None
    return list(values) if values else None


def _sddl(raw: Value | None, domain_sid: str | None) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    try:
        return to_sddl(raw, domain_sid)
    except SecurityDescriptorError as error:
        return f"(unreadable descriptor: {error})"


def security_descriptor_change(
    name: str, old: Value | None, new: Value | None, domain_sid: str | None
) -> AttributeChange:
    """A modify event of a security descriptor: SDDL values and the ACE-level difference."""
    difference: dict[str, Any] = {}
    if isinstance(old, bytes) and isinstance(new, bytes):
        try:
            diff = diff_security_descriptors(old, new, domain_sid)
        except SecurityDescriptorError as error:
            difference = {"error": str(error)}
        else:
            for label, pair in (
                ("owner", diff.owner),
                ("group", diff.group),
                ("dacl_flags", diff.dacl_flags),
                ("sacl_flags", diff.sacl_flags),
            ):
                if pair is not None:
                    difference[label] = {"old": pair[0], "new": pair[1]}
            for kind in ("added", "removed", "moved"):
                aces = [
                    {"acl": c.acl, "ace": c.ace, "position": c.position}
                    for c in diff.aces
                    if c.kind == kind
                ]
                if aces:
                    difference[f"aces_{kind}"] = aces
    new_sddl = _sddl(new, domain_sid)
    return AttributeChange(
        op=MODIFY,
        attribute=name,
        old=_sddl(old, domain_sid),
        new=None if new_sddl is None else {"sddl": new_sddl, "difference": difference},
    )


def _modify(
    schema: Schema,
    name: str,
    old: list[Value] | None,
    new: list[Value] | None,
    domain_sid: str | None,
) -> AttributeChange:
    if schema.get(name).syntax == SECURITY_DESCRIPTOR_SYNTAX:
        return security_descriptor_change(
            name, old[0] if old else None, new[0] if new else None, domain_sid
        )
    return AttributeChange(
        op=MODIFY,
        attribute=name,
        old=_presented(schema, name, old),
        new=_presented(schema, name, new),
    )


def _same(a: list[Value] | None, b: list[Value] | None) -> bool:
    return set(a or ()) == set(b or ())


def dn_change(old_dn: str, new_dn: str) -> AttributeChange | None:
    if old_dn == new_dn:
        return None
    op = MOVE if split_dn(old_dn)[1].lower() != split_dn(new_dn)[1].lower() else RENAME
    return AttributeChange(op=op, attribute=DN_ATTRIBUTE, old=old_dn, new=new_dn)


def _deleted(content: Mapping[str, list[Value]]) -> bool:
    return content.get("isDeleted") == ["TRUE"]


def apply_delta(
    schema: Schema,
    old: Content | None,
    delta: DirSyncDelta,
    *,
    volatile: frozenset[str] = frozenset(),
    domain_sid: str | None = None,
) -> DeltaResult | None:
    """The state after ``delta`` and the changes it makes; ``None`` for the tombstone of an
    object dirguard never knew (nothing to record). ``domain_sid`` gives the domain's groups
    their SDDL aliases (``DA``, ``DU``…) in security descriptor changes."""
    if old is None:
        if delta.is_tombstone:
            return None
        content: Content = {k: list(v) for k, v in delta.replaced.items() if v}
        for name, values in delta.added.items():
            content.setdefault(name, []).extend(v for v in values if v not in content[name])
        content[DN_ATTRIBUTE] = [delta.dn]
        shown = {k: v for k, v in content.items() if k not in volatile}
        return DeltaResult(
            content=content, changes=(AttributeChange(op=CREATE, attribute=None, new=shown),)
        )

    new: Content = {k: list(v) for k, v in old.items()}
    for name, values in delta.replaced.items():
        if values:
            new[name] = list(values)
        else:
            new.pop(name, None)
    changes: list[AttributeChange] = []
    linked_changes: list[AttributeChange] = []
    for name, values in delta.added.items():
        current = new.setdefault(name, [])
        for value in values:
            if value not in current:
                current.append(value)
                linked_changes.append(AttributeChange(op=ADD_VALUE, attribute=name, new=value))
    for name, values in delta.removed.items():
        current = new.get(name, [])
        for value in values:
            if value in current:
                current.remove(value)
                linked_changes.append(AttributeChange(op=REMOVE_VALUE, attribute=name, old=value))
        if not current:
            new.pop(name, None)
    old_dn = str(old.get(DN_ATTRIBUTE, [""])[0])
    new[DN_ATTRIBUTE] = [delta.dn]

    was_deleted, now_deleted = _deleted(old), _deleted(new) or is_tombstone_dn(delta.dn)
    if now_deleted and not was_deleted:
        # The tombstone strips most attributes: one delete event, not one per stripped value.
        changes.append(AttributeChange(op=DELETE, attribute=DN_ATTRIBUTE, old=old_dn, new=delta.dn))
        return DeltaResult(content=new, changes=tuple(changes))
    if was_deleted and not now_deleted:
        changes.append(
            AttributeChange(op=UNDELETE, attribute=DN_ATTRIBUTE, old=old_dn, new=delta.dn)
        )
    else:
        moved = dn_change(old_dn, delta.dn)
        if moved is not None:
            changes.append(moved)
    skip = volatile | {DN_ATTRIBUTE} | (DELETION_MARKERS if was_deleted else frozenset())
    for name in sorted(delta.replaced):
        if name in skip or name in delta.added or name in delta.removed:
            continue
        if not _same(old.get(name), new.get(name)):
            changes.append(_modify(schema, name, old.get(name), new.get(name), domain_sid))
    changes.extend(c for c in linked_changes if c.attribute not in volatile)
    return DeltaResult(content=new, changes=tuple(changes))


def diff_contents(
    schema: Schema,
    old: Content,
    new: Content,
    *,
    volatile: frozenset[str] = frozenset(),
    domain_sid: str | None = None,
) -> list[AttributeChange]:
    """Per-attribute differences of two full states (forward links value by value)."""
    changes: list[AttributeChange] = []
    moved = dn_change(str(old.get(DN_ATTRIBUTE, [""])[0]), str(new.get(DN_ATTRIBUTE, [""])[0]))
    if moved is not None:
        changes.append(moved)
    for name in sorted(set(old) | set(new)):
        if name in volatile or name == DN_ATTRIBUTE or _same(old.get(name), new.get(name)):
            continue
        if schema.get(name).forward_link:
            before, after = old.get(name, []), new.get(name, [])
            changes.extend(
                AttributeChange(op=ADD_VALUE, attribute=name, new=v)
                for v in after
                if v not in before
            )
            changes.extend(
                AttributeChange(op=REMOVE_VALUE, attribute=name, old=v)
                for v in before
                if v not in after
            )
            continue
        changes.append(_modify(schema, name, old.get(name), new.get(name), domain_sid))
    return changes
