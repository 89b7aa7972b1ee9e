"""Compare what was granted with what the permission manifest requires (pure, no I/O).

``parse_granted`` reads a granted set from text: JSON (a list of names, a list of objects
``{"name": ..., "kind"?: ..., "principal"?: ...}``, or an object mapping principal -> list) or
plain text, one name a line (blank lines and ``#`` comments ignored), optionally qualified as
``kind:name`` or ``principal:kind:name`` (the manifest key). ``check_consent`` then lists every
required permission nothing granted satisfies, with the features it breaks.

The same name exists for several principals and kinds (``Directory.ReadWrite.All`` is an
application and a delegated permission of the Guardian app and an Administrator permission): a
bare name satisfies every row with that name, a qualified entry only the rows it names. Names
compare case-insensitively (Microsoft and AD both treat them so).

This module does not import the catalog: anything with ``key``, ``name``, ``kind`` and
``principal`` strings (such as ``catalog.permission_model.Permission``) is a grant.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


class GrantedFileError(ValueError):
    """The granted set cannot be read; the message names the line or entry."""


class Grant(Protocol):
    """A permission some identity must hold (structurally, a manifest ``Permission``)."""

    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def principal(self) -> str: ...


@dataclass(frozen=True, kw_only=True)
class GrantedEntry:
    """One granted name, optionally qualified by kind and principal."""

    name: str
    kind: str | None = None
    principal: str | None = None
    where: str = ""
    """Where it was read, e.g. ``line 3`` or ``entry 2``."""

    def satisfies(self, grant: Grant) -> bool:
        return (
            self.name.casefold() == grant.name.casefold()
            and (self.kind is None or self.kind == grant.kind)
            and (self.principal is None or self.principal == grant.principal)
        )

    def label(self) -> str:
        return ":".join(p for p in (self.principal, self.kind, self.name) if p)


@dataclass(frozen=True, kw_only=True)
class MissingGrant:
    key: str
    name: str
    kind: str
    principal: str
    features: tuple[str, ...]
    """Keys of the features that do not work without this grant."""


@dataclass(frozen=True, kw_only=True)
class ConsentReport:
    missing: tuple[MissingGrant, ...]
    satisfied: tuple[str, ...]
    """Keys of required grants that something granted satisfies."""
    extra: tuple[GrantedEntry, ...]
    """Granted entries the manifest knows but this service and mode do not need."""
    unknown: tuple[GrantedEntry, ...]
    """Granted entries the manifest does not know at all."""

    @property
    def complete(self) -> bool:
        return not self.missing


def check_consent(
    required: Sequence[Grant],
    granted: Sequence[GrantedEntry],
    *,
    features_of: Mapping[str, Sequence[str]],
    known: Sequence[Grant],
) -> ConsentReport:
    """Which of ``required`` no entry of ``granted`` satisfies, and which entries are surplus.

    ``features_of`` maps a grant key to the features needing it; ``known`` is every grant of
    the manifest, to tell an unneeded-but-known entry (``extra``) from a stray one (``unknown``).
    """
    missing: list[MissingGrant] = []
    satisfied: list[str] = []
    for grant in required:
        if any(entry.satisfies(grant) for entry in granted):
            satisfied.append(grant.key)
        else:
            missing.append(
                MissingGrant(
                    key=grant.key,
                    name=grant.name,
                    kind=grant.kind,
                    principal=grant.principal,
                    features=tuple(features_of.get(grant.key, ())),
                )
            )
    extra: list[GrantedEntry] = []
    unknown: list[GrantedEntry] = []
    for entry in granted:
        if any(entry.satisfies(grant) for grant in required):
            continue
        (extra if any(entry.satisfies(g) for g in known) else unknown).append(entry)
    return ConsentReport(
        missing=tuple(missing),
        satisfied=tuple(satisfied),
        extra=tuple(extra),
        unknown=tuple(unknown),
    )


def parse_granted(
    text: str, *, kinds: Collection[str], principals: Collection[str]
) -> tuple[GrantedEntry, ...]:
    """Granted entries from a file's text (JSON or one name a line); see the module docstring.

    ``kinds`` and ``principals`` are the valid qualifiers; anything else is an error naming
    the line or entry and the valid values.
    """
    checker = _Qualifiers(kinds, principals)
    if text.lstrip().startswith(("[", "{")):
        return _parse_json(text, checker)
    entries: list[GrantedEntry] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line:
            entries.append(checker.from_text(line, f"line {number}"))
    if not entries:
        raise GrantedFileError("the granted set is empty: no permission names found")
    return tuple(entries)


class _Qualifiers:
    def __init__(self, kinds: Collection[str], principals: Collection[str]) -> None:
        self.kinds = kinds
        self.principals = principals

    def entry(self, name: Any, kind: Any, principal: Any, where: str) -> GrantedEntry:
        if not isinstance(name, str) or not name.strip():
            raise GrantedFileError(f"{where}: the permission name must be a non-empty string")
        if kind is not None and kind not in self.kinds:
            valid = ", ".join(sorted(self.kinds))
            raise GrantedFileError(f"{where}: unknown kind {kind!r}; valid kinds: {valid}")
        if principal is not None and principal not in self.principals:
            valid = ", ".join(sorted(self.principals))
            raise GrantedFileError(
                f"{where}: unknown principal {principal!r}; valid principals: {valid}"
            )
        return GrantedEntry(name=name.strip(), kind=kind, principal=principal, where=where)

    def from_text(self, text: str, where: str) -> GrantedEntry:
        parts = [p.strip() for p in text.split(":")]
        if len(parts) == 1:
            return self.entry(parts[0], None, None, where)
        if len(parts) == 2:
            return self.entry(parts[1], parts[0], None, where)
        if len(parts) == 3:
            return self.entry(parts[2], parts[1], parts[0], where)
        raise GrantedFileError(
            f"{where}: {text!r} is not 'name', 'kind:name' or 'principal:kind:name'"
        )


_OBJECT_KEYS = frozenset({"name", "kind", "principal"})


def _parse_json(text: str, checker: _Qualifiers) -> tuple[GrantedEntry, ...]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GrantedFileError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    entries: list[GrantedEntry] = []
    if isinstance(data, list):
        for index, item in enumerate(data, start=1):
            entries.append(_json_item(item, None, f"entry {index}", checker))
    elif isinstance(data, dict):
        for principal, items in data.items():
            where = f"principal {principal!r}"
            if principal not in checker.principals:
                valid = ", ".join(sorted(checker.principals))
                raise GrantedFileError(f"{where}: unknown principal; valid principals: {valid}")
            if not isinstance(items, list):
                raise GrantedFileError(f"{where}: expected a list of permission names")
            for index, item in enumerate(items, start=1):
                entries.append(_json_item(item, principal, f"{where} entry {index}", checker))
    else:
        raise GrantedFileError(
            "the JSON must be a list of names or objects, or an object mapping principal to names"
        )
    if not entries:
        raise GrantedFileError("the granted set is empty: no permission names found")
    return tuple(entries)


def _json_item(item: Any, principal: str | None, where: str, checker: _Qualifiers) -> GrantedEntry:
    if isinstance(item, str):
        entry = checker.from_text(item, where)
        if principal is not None and entry.principal not in (None, principal):
            raise GrantedFileError(
                f"{where}: names principal {entry.principal!r} under {principal!r}"
            )
        return checker.entry(entry.name, entry.kind, principal or entry.principal, where)
    if isinstance(item, dict):
        stray = sorted(set(item) - _OBJECT_KEYS)
        if stray:
            raise GrantedFileError(
                f"{where}: unexpected key(s) {', '.join(stray)}; allowed: kind, name, principal"
            )
        if principal is not None and item.get("principal") not in (None, principal):
            raise GrantedFileError(
                f"{where}: names principal {item['principal']!r} under {principal!r}"
            )
        return checker.entry(
            item.get("name"), item.get("kind"), item.get("principal", principal), where
        )
    raise GrantedFileError(f"{where}: expected a permission name or an object with 'name'")
