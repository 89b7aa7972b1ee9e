"""What a change search asks for, said once for the CLI, the REST API, the console's filter form
and the saved searches: values to include or exclude per field, a time window and free text.

A filter is plain data (no store access here). It reads from and writes to query parameters —
``actor=CORP\\pat&not_attribute=member&since=2026-01-01&q=disabled`` — so the console's
include/exclude links are the current filter with one value added (:meth:`ChangeFilter.including`)
and a saved search is :meth:`ChangeFilter.as_dict` kept in the store. Every bad value is a
:class:`FilterError` naming the parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from dirguard.core.change_op import ChangeOp

FIELDS = ("directory", "object", "type", "attribute", "actor", "address", "op")
"""The fields a filter includes or excludes values of, as query parameters name them
(``not_<field>`` excludes)."""

FIELD_HELP = {
    "directory": "the AD domain or Entra tenant, as configured",
    "object": "the object's store id, GUID, distinguished name or natural key",
    "type": "the resource type key (ad.user, entra.group…)",
    "attribute": "the attribute name (any case)",
    "actor": "DOMAIN\\account, the account in any domain, its UPN, or (unknown)",
    "address": "the address the change came from",
    "op": "the operation: " + ", ".join(op.value for op in ChangeOp),
}

UNKNOWN_ACTOR = "(unknown)"
"""The actor value of changes nobody could be correlated with."""

MAX_VALUES = 50
"""Values of one field a filter may hold (a longer list is not a search anyone types)."""


class FilterError(ValueError):
    """A filter value that cannot be searched; ``field`` is the parameter that holds it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name
        self.reason = message


def parse_moment(field_name: str, text: str) -> datetime:
    """ISO 8601 (``2026-05-01T12:00:00+02:00``, ``2026-05-01``); without a zone it is UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise FilterError(
            field_name,
            f"{text!r} is not an ISO 8601 time; use e.g. 2026-05-01T12:00:00Z (no zone means UTC)",
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _values(field_name: str, values: Iterable[str]) -> tuple[str, ...]:
    cleaned = tuple(dict.fromkeys(v.strip() for v in values if v and v.strip()))
    if len(cleaned) > MAX_VALUES:
        raise FilterError(field_name, f"at most {MAX_VALUES} values, {len(cleaned)} given")
    if field_name == "op":
        known = {op.value for op in ChangeOp}
        if bad := [v for v in cleaned if v not in known]:
            raise FilterError(field_name, f"{bad[0]!r} is not one of {', '.join(sorted(known))}")
    return cleaned


@dataclass(frozen=True, kw_only=True)
class ChangeFilter:
    """Every part given must match: a change matches a field when its value is one of the
    field's ``include`` values (any, when none are given) and none of its ``exclude`` values."""

    include: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    """Free text, found in the attribute, the values, the object's name or DN, the actor."""

    def __post_init__(self) -> None:
        for part in (self.include, self.exclude):
            if unknown := sorted(set(part) - set(FIELDS)):
                raise FilterError(unknown[0], f"not a filter field; use one of {', '.join(FIELDS)}")
        if self.since and self.until and self.until < self.since:
            raise FilterError("until", "is earlier than since")

    @classmethod
    def of(
        cls,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        text: str | None = None,
        **values: str | Iterable[str] | None,
    ) -> ChangeFilter:
        """A filter from keyword values: ``actor="CORP\\pat"``, ``not_op=("delete",)``."""
        include: dict[str, tuple[str, ...]] = {}
        exclude: dict[str, tuple[str, ...]] = {}
        for key, given in values.items():
            if given is None:
                continue
            name, target = (key[4:], exclude) if key.startswith("not_") else (key, include)
            if name not in FIELDS:
                raise FilterError(key, f"not a filter field; use one of {', '.join(FIELDS)}")
            items = (given,) if isinstance(given, str) else tuple(given)
            if cleaned := _values(key, items):
                target[name] = cleaned
        return cls(include=include, exclude=exclude, since=since, until=until, text=text or None)

    @classmethod
    def from_params(cls, params: Iterable[tuple[str, str]]) -> ChangeFilter:
        """A filter from query parameters (repeated keys are several values); parameters that
        are not part of a filter (``cursor``, ``limit``…) are the caller's and ignored here."""
        grouped: dict[str, list[str]] = {}
        for key, value in params:
            grouped.setdefault(key, []).append(value)
        values: dict[str, list[str]] = {}
        for key, given in grouped.items():
            if key in FIELDS or (key.startswith("not_") and key[4:] in FIELDS):
                values[key] = given
        return cls.of(
            since=_one_moment(grouped, "since"),
            until=_one_moment(grouped, "until"),
            text=" ".join(v.strip() for v in grouped.get("q", ()) if v.strip()) or None,
            **values,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChangeFilter:
        """The filter :meth:`as_dict` gave (a saved search)."""
        params: list[tuple[str, str]] = []
        for key, values in data.items():
            for value in values if isinstance(values, list) else [values]:
                if value is not None:
                    params.append((str(key), str(value)))
        return cls.from_params(params)

    def params(self) -> list[tuple[str, str]]:
        """The filter as query parameters, in a stable order."""
        out: list[tuple[str, str]] = []
        for name in FIELDS:
            out += [(name, v) for v in self.include.get(name, ())]
            out += [(f"not_{name}", v) for v in self.exclude.get(name, ())]
        if self.since:
            out.append(("since", self.since.isoformat()))
        if self.until:
            out.append(("until", self.until.isoformat()))
        if self.text:
            out.append(("q", self.text))
        return out

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: each parameter with its list of values."""
        data: dict[str, Any] = {}
        for key, value in self.params():
            data.setdefault(key, []).append(value)
        return data

    @property
    def empty(self) -> bool:
        return not self.params()

    def including(self, field_name: str, value: str) -> ChangeFilter:
        """This filter narrowed to changes whose ``field_name`` is ``value`` (the value no
        longer excluded)."""
        return self._with(field_name, value, self.include, self.exclude, include=True)

    def excluding(self, field_name: str, value: str) -> ChangeFilter:
        """This filter without the changes whose ``field_name`` is ``value``."""
        return self._with(field_name, value, self.exclude, self.include, include=False)

    def _with(
        self,
        field_name: str,
        value: str,
        into: Mapping[str, tuple[str, ...]],
        other: Mapping[str, tuple[str, ...]],
        *,
        include: bool,
    ) -> ChangeFilter:
        if field_name not in FIELDS:
            raise FilterError(field_name, f"not a filter field; use one of {', '.join(FIELDS)}")
        added = {**into, field_name: _values(field_name, (*into.get(field_name, ()), value))}
        kept = {
            k: tuple(x for x in v if x != value) if k == field_name else v for k, v in other.items()
        }
        kept = {k: v for k, v in kept.items() if v}
        if include:
            return replace(self, include=added, exclude=kept)
        return replace(self, include=kept, exclude=added)


def _one_moment(grouped: Mapping[str, list[str]], name: str) -> datetime | None:
    given = [v for v in grouped.get(name, ()) if v.strip()]
    if len(given) > 1:
        raise FilterError(name, "given more than once")
    return parse_moment(name, given[0]) if given else None
