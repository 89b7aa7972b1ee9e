"""Delegated administration: roles × scopes, decided without I/O.

Modelled on Active Roles' and Adaxes' access templates: a **role** is a set of actions plus the
fields it may read and write; a **scope** is where it applies — an AD OU subtree, an Entra
administrative unit, or a *virtual admin unit* (a saved query over AD and Entra objects, such as
"users whose department is Sales, in either directory"); an **assignment** gives a role over a
scope to a console user or group. A console user holds every assignment made to them or to a
group they belong to (an Entra group from the ID token, an AD group).

Decisions are taken on a :class:`Target` — an object as the directory shows it *now* (its path,
the administrative units it belongs to, its fields), never as the session first saw it: an object
moved out of a scope is out of it from the next request on. Everything here is pure; the store
keeps roles, scopes and assignments (``store/delegation.py``) and ``services/delegation.py``
reads the live target before asking.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

ALL_FIELDS = "*"
"""In a role's readable or writable fields: every field."""


class ScopeKind(StrEnum):
    """What a scope is made of."""

    AD_SUBTREE = "ad-subtree"
    """An OU (or container) and everything beneath it, in one AD domain."""
    ENTRA_ADMIN_UNIT = "entra-admin-unit"
    """The members of one Entra administrative unit."""
    VIRTUAL = "virtual"
    """The objects a saved query matches, in AD, Entra or both."""
    MANAGED = "managed"
    """A virtual admin unit whose membership is stored: the objects a rule's ``keep-members``
    action put in it (its scope's result at the last run), as Active Roles' Managed Units keep
    the result of their membership rules. Decisions read the stored membership, so they cost
    no query, and an object leaves the unit when the rule next runs."""


class Comparison(StrEnum):
    """How a condition of a virtual admin unit compares a field with its value."""

    EQUALS = "equals"
    NOT_EQUALS = "not-equals"
    STARTS_WITH = "starts-with"
    ENDS_WITH = "ends-with"
    CONTAINS = "contains"
    MATCHES = "matches"
    """Shell-style pattern (``*``, ``?``), case-insensitive."""
    ONE_OF = "one-of"
    PRESENT = "present"
    ABSENT = "absent"


class DelegationError(ValueError):
    """A role, scope or query that cannot be used; the message names the bad part."""


@dataclass(frozen=True, kw_only=True)
class Condition:
    """One test on one field of an object (case-insensitive, as both directories compare
    names). A multi-valued field matches when any of its values does."""

    field: str
    comparison: Comparison
    values: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.field.strip():
            raise DelegationError("a condition needs a field name")
        needs_values = self.comparison not in (Comparison.PRESENT, Comparison.ABSENT)
        if needs_values and not self.values:
            raise DelegationError(f"condition on {self.field!r}: {self.comparison} needs a value")
        if self.comparison not in (Comparison.ONE_OF,) and len(self.values) > 1:
            raise DelegationError(
                f"condition on {self.field!r}: {self.comparison} takes one value, "
                f"not {len(self.values)} (use one-of)"
            )

    def matches(self, fields: Mapping[str, Any]) -> bool:
        values = [str(v).casefold() for v in _values(_field(fields, self.field))]
        if self.comparison is Comparison.PRESENT:
            return bool(values)
        if self.comparison is Comparison.ABSENT:
            return not values
        wanted = [v.casefold() for v in self.values]
        if self.comparison is Comparison.NOT_EQUALS:
            return wanted[0] not in values
        return any(_compare(self.comparison, value, wanted) for value in values)


def _compare(comparison: Comparison, value: str, wanted: list[str]) -> bool:
    first = wanted[0]
    match comparison:
        case Comparison.EQUALS:
            return value == first
        case Comparison.STARTS_WITH:
            return value.startswith(first)
        case Comparison.ENDS_WITH:
            return value.endswith(first)
        case Comparison.CONTAINS:
            return first in value
        case Comparison.MATCHES:
            return fnmatch.fnmatchcase(value, first)
        case Comparison.ONE_OF:
            return value in wanted
    return False


def _field(fields: Mapping[str, Any], name: str) -> Any:
    """A field by name, case-insensitively (LDAP attribute names are; Graph's are not, but no
    two Graph properties differ only in case)."""
    if name in fields:
        return fields[name]
    folded = name.casefold()
    for key, value in fields.items():
        if key.casefold() == folded:
            return value
    return None


def _values(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list | tuple | set | frozenset):
        return [v for v in value if v is not None and v != ""]
    return [] if value == "" else [value]


@dataclass(frozen=True, kw_only=True)
class ObjectQuery:
    """A virtual admin unit's query: objects of these directories and types whose fields meet
    every condition."""

    directories: frozenset[str] = frozenset({"ad", "entra"})
    """Provider kinds (``ad``, ``entra``)."""
    object_kinds: frozenset[str] = frozenset()
    """What the objects are (``user``, ``group``, ``device``…); empty: any."""
    conditions: tuple[Condition, ...] = ()

    def matches(self, target: Target) -> bool:
        if target.directory not in self.directories:
            return False
        if self.object_kinds and target.object_kind not in self.object_kinds:
            return False
        return all(c.matches(target.fields) for c in self.conditions)


@dataclass(frozen=True, kw_only=True)
class Scope:
    """Where an assignment applies."""

    name: str
    kind: ScopeKind
    source: str | None = None
    """The store key of the AD domain or tenant (``ad:corp.example.com``); ``None`` for a
    virtual admin unit, which may span both."""
    base: str | None = None
    """The subtree's DN, or the administrative unit's id."""
    query: ObjectQuery | None = None
    members: frozenset[tuple[str, str]] = frozenset()
    """A managed unit's members: (store source, :func:`member_key`), loaded from the store."""

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise DelegationError("a scope needs a name")
        if self.kind is ScopeKind.MANAGED:
            if self.source or self.base or self.query:
                raise DelegationError(
                    f"scope {self.name!r}: a managed unit's members come from a rule"
                    " (keep-members); it takes no source, base or query"
                )
            return
        if self.kind is ScopeKind.VIRTUAL:
            if self.query is None:
                raise DelegationError(f"scope {self.name!r}: a virtual admin unit needs a query")
            return
        if not self.source or not self.base:
            what = "OU" if self.kind is ScopeKind.AD_SUBTREE else "administrative unit"
            raise DelegationError(f"scope {self.name!r}: names no directory or no {what}")

    def contains(self, target: Target) -> bool:
        """Whether the object, as it is now, lies in this scope."""
        match self.kind:
            case ScopeKind.AD_SUBTREE:
                return target.source == self.source and dn_within(target.path, self.base or "")
            case ScopeKind.ENTRA_ADMIN_UNIT:
                return target.source == self.source and self.base in target.admin_units
            case ScopeKind.VIRTUAL:
                return self.query is not None and self.query.matches(target)
            case ScopeKind.MANAGED:
                return (target.source, member_key(target.directory, target.path)) in self.members
        return False


def member_key(directory: str, path: str) -> str:
    """How a member is matched: an AD DN RDN by RDN (case and spaces around ``=`` and ``,``
    ignored), an Entra id case-insensitively."""
    if directory == "ad":
        return ",".join(_rdns(path))
    return path.strip().casefold()


def dn_within(dn: str, base: str) -> bool:
    """Whether ``dn`` is ``base`` or lies beneath it (RDNs compared case- and
    space-insensitively; an escaped comma inside an RDN is not a separator)."""
    base_rdns = _rdns(base)
    return bool(base_rdns) and _rdns(dn)[-len(base_rdns) :] == base_rdns


def _rdns(dn: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in dn:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [_normal_rdn(p) for p in parts if p.strip()]


def _normal_rdn(rdn: str) -> str:
    name, _, value = rdn.partition("=")
    return f"{name.strip().casefold()}={value.strip().casefold()}"


@dataclass(frozen=True, kw_only=True)
class Role:
    """What may be done: actions (keys of ``catalog/admin_actions.py``) and the fields that may
    be read and written (``*``: all)."""

    name: str
    actions: frozenset[str]
    read_fields: frozenset[str] = frozenset({ALL_FIELDS})
    write_fields: frozenset[str] = frozenset()

    def reads(self, name: str) -> bool:
        return _granted(self.read_fields, name) or _granted(self.write_fields, name)

    def writes(self, name: str) -> bool:
        return _granted(self.write_fields, name)


def _granted(granted: frozenset[str], name: str) -> bool:
    return ALL_FIELDS in granted or name.casefold() in {g.casefold() for g in granted}


@dataclass(frozen=True, kw_only=True)
class Trustee:
    """Who an assignment is made to: a console user (by their sign-in name) or a group
    (``entra-group`` id from the ID token, ``ad-group`` DN, ``local-group`` name)."""

    kind: str
    ident: str

    def key(self) -> tuple[str, str]:
        return (self.kind, self.ident.casefold())


@dataclass(frozen=True, kw_only=True)
class Assignment:
    role: Role
    scope: Scope
    trustee: Trustee


@dataclass(frozen=True, kw_only=True)
class ConsoleUser:
    """The console user asking, with every group the sign-in says they belong to."""

    name: str
    groups: frozenset[Trustee] = frozenset()

    def trustees(self) -> set[tuple[str, str]]:
        return {("user", self.name.casefold()), *(g.key() for g in self.groups)}


@dataclass(frozen=True, kw_only=True)
class Target:
    """An object as its directory shows it now."""

    source: str
    """Store key of its domain or tenant."""
    directory: str
    """Provider kind (``ad``, ``entra``)."""
    object_kind: str
    """``user``, ``group``, ``device``, ``contact``…"""
    path: str
    """AD: the DN; Entra: the id."""
    fields: Mapping[str, Any] = field(default_factory=dict)
    admin_units: frozenset[str] = frozenset()
    """Ids of the Entra administrative units it belongs to."""


@dataclass(frozen=True, kw_only=True)
class Decision:
    """Whether a console user may do an action on a target, and why (said to them and audited)."""

    allowed: bool
    reason: str
    via: tuple[Assignment, ...] = ()


def holding(assignments: Iterable[Assignment], user: ConsoleUser) -> list[Assignment]:
    """The assignments a console user holds (directly or through a group)."""
    mine = user.trustees()
    return [a for a in assignments if a.trustee.key() in mine]


def decide(
    assignments: Iterable[Assignment],
    user: ConsoleUser,
    action: str,
    target: Target,
    *,
    writes: Sequence[str] = (),
) -> Decision:
    """May ``user`` do ``action`` on ``target``, writing the fields ``writes``?

    Allowed when one assignment whose scope holds the target grants the action, and the
    assignments that do so together grant every written field (as Active Roles unites access
    templates over the same object). Refusals name the first thing missing."""
    held = holding(assignments, user)
    if not held:
        return Decision(allowed=False, reason=f"{user.name} holds no delegated role")
    covering = [a for a in held if a.scope.contains(target)]
    if not covering:
        return Decision(
            allowed=False, reason=f"{_label(target)} is outside every scope {user.name} holds"
        )
    acting = [a for a in covering if action in a.role.actions]
    if not acting:
        roles = ", ".join(sorted({a.role.name for a in covering}))
        return Decision(
            allowed=False,
            reason=f"action {action!r} is not in the role(s) {roles} on {_label(target)}",
        )
    for name in writes:
        if not any(a.role.writes(name) for a in acting):
            return Decision(
                allowed=False,
                reason=f"no role of {user.name} that may {action!r} on {_label(target)} "
                f"may write {name!r}",
            )
    return Decision(allowed=True, reason="allowed", via=tuple(acting))


def visible(
    assignments: Iterable[Assignment], user: ConsoleUser, targets: Iterable[Target]
) -> list[Target]:
    """The targets the user may see at all (list filtering): those in a held scope."""
    held = holding(assignments, user)
    return [t for t in targets if any(a.scope.contains(t) for a in held)]


def readable(
    assignments: Iterable[Assignment], user: ConsoleUser, target: Target
) -> dict[str, Any]:
    """The target's fields the user may read (empty when it is out of scope)."""
    covering = [a for a in holding(assignments, user) if a.scope.contains(target)]
    return {
        name: value
        for name, value in target.fields.items()
        if any(a.role.reads(name) for a in covering)
    }


def _label(target: Target) -> str:
    return f"{target.object_kind} {target.path!r}"
