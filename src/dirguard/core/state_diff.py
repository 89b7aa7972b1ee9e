"""What differs between two states of the same object (pure: no I/O).

The states are contents as dirguard stores them (attribute name → list of values). The
resource type's row decides what counts: its volatile fields are left out, its unordered fields
are compared as sets (values added and removed), everything else as the whole value.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dirguard.catalog.resource_type import ResourceType

Content = dict[str, Any]


class Presence(StrEnum):
    SAME = "same"
    ADDED = "added"
    """The object exists only in the later state."""
    REMOVED = "removed"
    """The object exists only in the earlier state (or is deleted in the later one)."""
    CHANGED = "changed"


@dataclass(frozen=True, kw_only=True)
class FieldDifference:
    field: str
    before: Any
    """The whole earlier value (``None``: absent)."""
    after: Any
    added: tuple[Any, ...] = ()
    """Unordered fields: the values only the later state has."""
    removed: tuple[Any, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"field": self.field, "before": self.before, "after": self.after}
        if self.added or self.removed:
            shown["added"], shown["removed"] = list(self.added), list(self.removed)
        return shown


@dataclass(frozen=True, kw_only=True)
class StateDifference:
    presence: Presence
    fields: tuple[FieldDifference, ...] = field(default=())


def _key(value: Any) -> tuple[str, str]:
    return type(value).__name__, repr(value)


def _values(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def compare_states(
    resource_type: ResourceType, before: Content | None, after: Content | None
) -> StateDifference:
    """How ``after`` differs from ``before`` (``None``: the object did not exist then)."""
    if before is None and after is None:
        return StateDifference(presence=Presence.SAME)
    if before is None:
        return StateDifference(presence=Presence.ADDED)
    if after is None:
        return StateDifference(presence=Presence.REMOVED)
    old, new = resource_type.significant(before), resource_type.significant(after)
    unordered = {f.lower() for f in resource_type.unordered_fields}
    differences = []
    for name in sorted(old.keys() | new.keys(), key=str.lower):
        was, now = old.get(name), new.get(name)
        if was == now:
            continue
        if name.lower() in unordered:
            a, b = Counter(map(_key, _values(was or []))), Counter(map(_key, _values(now or [])))
            by_key = {_key(v): v for v in _values(was or []) + _values(now or [])}
            differences.append(
                FieldDifference(
                    field=name,
                    before=was,
                    after=now,
                    added=tuple(by_key[k] for k in sorted((b - a).elements())),
                    removed=tuple(by_key[k] for k in sorted((a - b).elements())),
                )
            )
        else:
            differences.append(FieldDifference(field=name, before=was, after=now))
    if not differences:
        return StateDifference(presence=Presence.SAME)
    return StateDifference(presence=Presence.CHANGED, fields=tuple(differences))
