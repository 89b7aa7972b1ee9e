"""The shapes of threat definitions and of what they look at.

A :class:`Rule` is data: which events (or, for an exposure check, which objects) it matches,
who and what it leaves alone, how many matches in which window make an alert, how repeats are
grouped, and whether a match is put back automatically. :class:`EventFacts` is the generic
change-event shape every directory's capture stores (AD and Entra alike), so one evaluator
serves both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class RuleKind(StrEnum):
    CHANGE = "change"
    """Fires on a captured change event."""
    EXPOSURE = "exposure"
    """Fires on an object's current state (a posture check run over the stored state)."""


class Directory(StrEnum):
    AD = "ad"
    ENTRA = "entra"


GROUP_KEYS = ("actor", "object", "source", "attribute", "value")
"""What repeats of one rule can be grouped by into one incident."""


@dataclass(frozen=True, kw_only=True)
class Check:
    """One condition on a value: the event's ``old`` or ``new`` value (or, in ``object``
    checks, an attribute of the object's current content), optionally a dotted ``path`` into a
    dict value. A list value holds when one of its items holds (``items = "all"``: every item).
    Every predicate given must hold."""

    side: str = "new"
    """``new`` or ``old`` (event checks) or ``content`` (object checks)."""
    path: str | None = None
    equals: Any = None
    one_of: tuple[Any, ...] | None = None
    matches: tuple[str, ...] | None = None
    """Case-insensitive shell patterns; the item must match one."""
    not_matches: tuple[str, ...] | None = None
    """The (same) item must match none of these."""
    regex: str | None = None
    """A regular expression the item must contain (case-insensitive)."""
    bits_set: int | None = None
    bits_clear: int | None = None
    bits_gained: int | None = None
    """Any of these bits is set in the new value and was clear in the old one (event checks)."""
    present: bool | None = None
    gains: bool = False
    """Look only at the items the value at ``path`` has now and did not have before (an event
    check; each ``a|b`` path compared with itself): an exclusion added to a list inside a
    policy, a setting in a complex value turned to ``true``. Holds only if there is one."""
    at_most: int | None = None
    """The value has at most this many items (a ``path`` of ``a|b`` counts both together)."""
    greater_than: float | None = None
    older_than_days: float | None = None
    """A time value (Windows FILETIME, generalized time or ISO 8601) older than this."""
    items: str = "any"


@dataclass(frozen=True, kw_only=True)
class Match:
    resource_types: tuple[str, ...] = ()
    """Catalog keys or patterns (``ad.group``, ``entra.*``); empty: any."""
    ops: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    """Attribute paths (case-insensitive, patterns allowed); empty: any."""
    objects: tuple[str, ...] = ()
    """Patterns the object's DN/path or its name must match (one of them)."""
    not_objects: tuple[str, ...] = ()
    when: tuple[Check, ...] = ()
    """Checks on the event's values; all must hold."""
    object_checks: tuple[Check, ...] = ()
    """Checks on the object's current content; all must hold."""
    member_of: tuple[str, ...] = ()
    """The object (a change rule: the object or, for a link change, the value added) is a
    member of a group whose DN or name matches one of these patterns."""
    not_member_of: tuple[str, ...] = ()
    """The object is a member of no group matching these patterns."""
    member_of_value: bool = False
    """Apply ``member_of`` to the value the event added instead of the object."""
    unless_deleted: tuple[str, ...] = ()
    """Paths of the object's content holding another object's id (an assignment's
    ``principalId``): no match when that object is deleted in the directory — the change is
    that deletion's consequence (a deleted user's role assignments end with it)."""


@dataclass(frozen=True, kw_only=True)
class Exclusions:
    actors: tuple[str, ...] = ()
    """Actor patterns (break-glass accounts, a deployment pipeline): their changes never match."""
    objects: tuple[str, ...] = ()
    """DN / name masks of objects the rule leaves alone."""
    values: tuple[str, ...] = ()
    """Masks of values (e.g. a member DN) whose addition or removal is left alone."""


@dataclass(frozen=True, kw_only=True)
class Threshold:
    count: int = 1
    window: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, kw_only=True)
class Grouping:
    by: tuple[str, ...] = ("actor",)
    dedup_window: timedelta = timedelta(hours=1)
    """A match within this time of the open alert's last match joins that alert."""
    throttle: timedelta = timedelta(minutes=5)
    """At most one notification per rule and group within this time."""


@dataclass(frozen=True, kw_only=True)
class AutoUndo:
    enabled: bool = False
    allow_actors: tuple[str, ...] = ()
    """Actors whose changes are alerted on but never put back."""
    objects: tuple[str, ...] = ()
    """DN / name masks of the protected objects among the rule's matches; empty: every match."""
    loop_limit: int = 3
    """Undos of one object's attribute within ``loop_window`` before dirguard stops undoing
    (another tool writes the opposite) and raises a loop alert instead."""
    loop_window: timedelta = timedelta(minutes=10)


@dataclass(frozen=True, kw_only=True)
class Rule:
    id: str
    title: str
    severity: Severity
    directory: Directory
    kind: RuleKind
    rationale: str
    remediation: str
    mitre: tuple[str, ...] = ()
    """MITRE ATT&CK technique ids (``T1098.007``)."""
    references: tuple[str, ...] = ()
    """Equivalent checks of other tools (cited, not copied)."""
    enabled: bool = True
    noisy: bool = False
    superseded_by: tuple[str, ...] = ()
    """Ids of more specific rules: when one of them matches the same event, this rule's match
    is dropped (one change, one alert: a first credential on a privileged app is the critical
    alert only)."""
    match: Match = field(default_factory=Match)
    exclude: Exclusions = field(default_factory=Exclusions)
    threshold: Threshold = field(default_factory=Threshold)
    grouping: Grouping = field(default_factory=Grouping)
    auto_undo: AutoUndo = field(default_factory=AutoUndo)
    origin: str = "builtin"
    """The file the rule came from (``builtin:ad_changes.toml`` or a path)."""


@dataclass(frozen=True, kw_only=True)
class EventFacts:
    """One stored change event with its object, as every rule sees it."""

    event_id: int
    source: str
    """Store key (``ad:corp.example.com``, ``entra:contoso``)."""
    sequence: int
    resource_type: str
    object_id: int
    object_path: str | None
    object_name: str | None
    op: str
    attribute: str | None
    old_value: Any
    new_value: Any
    actor: str | None
    actor_source: str | None
    actor_address: str | None
    occurred_at: datetime | None
    observed_at: datetime

    @property
    def directory(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def at(self) -> datetime:
        return self.occurred_at or self.observed_at

    @property
    def shown_path(self) -> str | None:
        """The object's DN as people knew it: for a deletion the DN before it (the stored path
        is then the tombstone's, under Deleted Objects)."""
        if self.op == "delete" and isinstance(self.old_value, str) and self.old_value:
            return self.old_value
        return self.object_path

    def as_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "source": self.source,
            "sequence": self.sequence,
            "resource_type": self.resource_type,
            "object": self.object_path or self.object_name,
            "op": self.op,
            "attribute": self.attribute,
            "old_value": self.old_value,
            "new_value": self.new_value,
            "actor": self.actor,
            "actor_source": self.actor_source,
            "actor_address": self.actor_address,
            "occurred_at": None if self.occurred_at is None else self.occurred_at.isoformat(),
            "observed_at": self.observed_at.isoformat(),
        }


@dataclass(frozen=True, kw_only=True)
class ObjectFacts:
    """One object's current stored state, as exposure checks see it."""

    object_id: int
    source: str
    resource_type: str
    path: str | None
    name: str | None
    content: dict[str, Any]

    @property
    def directory(self) -> str:
        return self.source.split(":", 1)[0]
