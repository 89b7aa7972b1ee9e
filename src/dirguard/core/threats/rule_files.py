"""Reading threat rule files (TOML): every rule validated, every problem named by file, rule
and field (``site.toml: rule SITE-1: match.ops: unknown operation 'add'; one of ...``).

A file holds ``[[rule]]`` tables; see ``builtin/*.toml`` for the full vocabulary and
``docs/threats.md`` for each key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from dirguard.core.change_op import ChangeOp
from dirguard.core.threats.model import (
    GROUP_KEYS,
    AutoUndo,
    Check,
    Directory,
    Exclusions,
    Grouping,
    Match,
    Rule,
    RuleKind,
    Severity,
    Threshold,
)

_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{1,63}$")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_MITRE = re.compile(r"^T\d{4}(\.\d{3})?$")


class RuleFileError(ValueError):
    """One or more problems in a rule file; ``problems`` lists each as one line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class _Where:
    file: str
    rule: str
    problems: list[str]

    def bad(self, field: str, message: str) -> None:
        self.problems.append(f"{self.file}: rule {self.rule}: {field}: {message}")


def _strings(where: _Where, field: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        where.bad(field, "expected a list of strings")
        return ()
    return tuple(value)


def _text(where: _Where, field: str, value: Any, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or not value.strip():
        where.bad(field, "required text is missing" if value is None else "expected text")
        return ""
    return value.strip()


def duration(where: _Where, field: str, value: Any, default: timedelta) -> timedelta:
    if value is None:
        return default
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    if isinstance(value, str) and (found := _DURATION.match(value.strip())):
        return timedelta(seconds=float(found.group(1)) * _UNITS[found.group(2)])
    where.bad(field, f"{value!r} is not a duration; write seconds or e.g. '30s', '10m', '2h', '1d'")
    return default


def _choice(where: _Where, field: str, value: Any, kind: Any, default: Any = None) -> Any:
    if value is None and default is not None:
        return default
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        where.bad(field, f"{value!r} is not one of {allowed}")
        return default if default is not None else next(iter(kind))


def _unknown(where: _Where, prefix: str, table: Mapping[str, Any], known: set[str]) -> None:
    for key in sorted(set(table) - known):
        where.bad(f"{prefix}{key}", f"unknown key; known keys: {', '.join(sorted(known))}")


def _table(where: _Where, field: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        where.bad(field, "expected a table")
        return {}
    return value


_CHECK_KEYS = {
    "side",
    "path",
    "equals",
    "one_of",
    "matches",
    "not_matches",
    "regex",
    "bits_set",
    "bits_clear",
    "bits_gained",
    "present",
    "gains",
    "at_most",
    "greater_than",
    "older_than_days",
    "items",
}


def _int(where: _Where, field: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        where.bad(field, f"{value!r} is not an integer")
        return None
    return value


def _number(where: _Where, field: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        where.bad(field, f"{value!r} is not a number")
        return None
    return float(value)


def _check(where: _Where, field: str, raw: Any, sides: tuple[str, ...]) -> Check | None:
    table = _table(where, field, raw)
    if not table:
        where.bad(field, "a check needs at least one condition")
        return None
    _unknown(where, f"{field}.", table, _CHECK_KEYS)
    side = table.get("side", sides[0])
    if side not in sides:
        where.bad(f"{field}.side", f"{side!r} is not one of {', '.join(sides)}")
    items = table.get("items", "any")
    if items not in ("any", "all"):
        where.bad(f"{field}.items", f"{items!r} is not one of any, all")
    path = table.get("path")
    if path is not None and not isinstance(path, str):
        where.bad(f"{field}.path", "expected text")
        path = None
    if sides == ("content",) and not path:
        where.bad(f"{field}.path", "an object check names the attribute it looks at")
    one_of = table.get("one_of")
    if one_of is not None and not isinstance(one_of, list):
        where.bad(f"{field}.one_of", "expected a list")
        one_of = None
    present = table.get("present")
    if present is not None and not isinstance(present, bool):
        where.bad(f"{field}.present", "expected true or false")
        present = None
    gains = table.get("gains", False)
    if not isinstance(gains, bool):
        where.bad(f"{field}.gains", "expected true or false")
        gains = False
    if gains and sides == ("content",):
        where.bad(f"{field}.gains", "only an event check compares before and after")
        gains = False
    at_most = _int(where, f"{field}.at_most", table.get("at_most"))
    if at_most is not None and at_most < 0:
        where.bad(f"{field}.at_most", "must be 0 or more")
        at_most = None
    matches = table.get("matches")
    not_matches = table.get("not_matches")
    regex = table.get("regex")
    if regex is not None:
        try:
            re.compile(regex)
        except (re.error, TypeError) as error:
            where.bad(f"{field}.regex", f"not a regular expression: {error}")
            regex = None
    return Check(
        side=side,
        path=path,
        equals=table.get("equals"),
        one_of=None if one_of is None else tuple(one_of),
        matches=None if matches is None else _strings(where, f"{field}.matches", matches),
        not_matches=None
        if not_matches is None
        else _strings(where, f"{field}.not_matches", not_matches),
        regex=regex,
        bits_set=_int(where, f"{field}.bits_set", table.get("bits_set")),
        bits_clear=_int(where, f"{field}.bits_clear", table.get("bits_clear")),
        bits_gained=_int(where, f"{field}.bits_gained", table.get("bits_gained")),
        present=present,
        gains=gains,
        at_most=at_most,
        greater_than=_number(where, f"{field}.greater_than", table.get("greater_than")),
        older_than_days=_number(where, f"{field}.older_than_days", table.get("older_than_days")),
        items=items,
    )


def _checks(where: _Where, field: str, raw: Any, sides: tuple[str, ...]) -> tuple[Check, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        where.bad(field, "expected a list of tables ([[...]])")
        return ()
    found = [_check(where, f"{field}[{i}]", item, sides) for i, item in enumerate(raw)]
    return tuple(c for c in found if c is not None)


_OPS = {op.value for op in ChangeOp}
_MATCH_KEYS = {
    "resource_types",
    "ops",
    "attributes",
    "objects",
    "not_objects",
    "when",
    "object",
    "member_of",
    "not_member_of",
    "member_of_value",
    "unless_deleted",
}


def _match(where: _Where, raw: Any, kind: RuleKind) -> Match:
    table = _table(where, "match", raw)
    _unknown(where, "match.", table, _MATCH_KEYS)
    ops = _strings(where, "match.ops", table.get("ops"))
    for op in ops:
        if op not in _OPS:
            where.bad("match.ops", f"unknown operation {op!r}; one of {', '.join(sorted(_OPS))}")
    if kind is RuleKind.EXPOSURE and (ops or table.get("when") or table.get("attributes")):
        where.bad("match", "an exposure check looks at objects: use match.object, not ops/when")
    types = _strings(where, "match.resource_types", table.get("resource_types"))
    if not types:
        where.bad("match.resource_types", "name the resource types the rule looks at")
    value_side = table.get("member_of_value", False)
    if not isinstance(value_side, bool):
        where.bad("match.member_of_value", "expected true or false")
        value_side = False
    return Match(
        resource_types=types,
        ops=ops,
        attributes=_strings(where, "match.attributes", table.get("attributes")),
        objects=_strings(where, "match.objects", table.get("objects")),
        not_objects=_strings(where, "match.not_objects", table.get("not_objects")),
        when=_checks(where, "match.when", table.get("when"), ("new", "old")),
        object_checks=_checks(where, "match.object", table.get("object"), ("content",)),
        member_of=_strings(where, "match.member_of", table.get("member_of")),
        not_member_of=_strings(where, "match.not_member_of", table.get("not_member_of")),
        member_of_value=value_side,
        unless_deleted=_strings(where, "match.unless_deleted", table.get("unless_deleted")),
    )


def _section(
    where: _Where, name: str, raw: Any, keys: set[str]
) -> tuple[dict[str, Any], Callable[[str], str]]:
    table = _table(where, name, raw)
    _unknown(where, f"{name}.", table, keys)
    return table, lambda key: f"{name}.{key}"


def _threshold(where: _Where, raw: Any) -> Threshold:
    table, f = _section(where, "threshold", raw, {"count", "window"})
    count = _int(where, f("count"), table.get("count")) or 1
    if count < 1:
        where.bad(f("count"), "must be at least 1")
        count = 1
    return Threshold(
        count=count, window=duration(where, f("window"), table.get("window"), Threshold().window)
    )


def _grouping(where: _Where, raw: Any) -> Grouping:
    table, f = _section(where, "grouping", raw, {"by", "dedup_window", "throttle"})
    by = _strings(where, f("by"), table.get("by")) or Grouping().by
    for key in by:
        if key not in GROUP_KEYS:
            where.bad(f("by"), f"{key!r} is not one of {', '.join(GROUP_KEYS)}")
    d = Grouping()
    return Grouping(
        by=by,
        dedup_window=duration(where, f("dedup_window"), table.get("dedup_window"), d.dedup_window),
        throttle=duration(where, f("throttle"), table.get("throttle"), d.throttle),
    )


def _auto_undo(where: _Where, raw: Any, kind: RuleKind) -> AutoUndo:
    keys = {"enabled", "allow_actors", "objects", "loop_limit", "loop_window"}
    table, f = _section(where, "auto_undo", raw, keys)
    enabled = table.get("enabled", False)
    if not isinstance(enabled, bool):
        where.bad(f("enabled"), "expected true or false")
        enabled = False
    if enabled and kind is RuleKind.EXPOSURE:
        where.bad(f("enabled"), "only a change rule can undo (an exposure has no change)")
    d = AutoUndo()
    limit = _int(where, f("loop_limit"), table.get("loop_limit"))
    if limit is not None and limit < 1:
        where.bad(f("loop_limit"), "must be at least 1")
    return AutoUndo(
        enabled=enabled,
        allow_actors=_strings(where, f("allow_actors"), table.get("allow_actors")),
        objects=_strings(where, f("objects"), table.get("objects")),
        loop_limit=limit if limit and limit >= 1 else d.loop_limit,
        loop_window=duration(where, f("loop_window"), table.get("loop_window"), d.loop_window),
    )


_RULE_KEYS = {
    "id",
    "title",
    "severity",
    "directory",
    "kind",
    "mitre",
    "references",
    "enabled",
    "noisy",
    "superseded_by",
    "rationale",
    "remediation",
    "match",
    "exclude",
    "threshold",
    "grouping",
    "auto_undo",
}


def _rule(file: str, index: int, raw: Any, problems: list[str]) -> Rule | None:
    label = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    where = _Where(file=file, rule=label or f"#{index + 1}", problems=problems)
    if not isinstance(raw, dict):
        where.bad("rule", "expected a table")
        return None
    before = len(problems)
    _unknown(where, "", raw, _RULE_KEYS)
    if label is None or not _ID.match(label):
        where.bad("id", "required: letters, digits, '.', '_' or '-' (2-64), starting with a letter")
    kind = _choice(where, "kind", raw.get("kind"), RuleKind, RuleKind.CHANGE)
    mitre = _strings(where, "mitre", raw.get("mitre"))
    for technique in mitre:
        if not _MITRE.match(technique):
            where.bad("mitre", f"{technique!r} is not an ATT&CK technique id (T1098, T1098.001)")
    enabled, noisy = raw.get("enabled", True), raw.get("noisy", False)
    for name, value in (("enabled", enabled), ("noisy", noisy)):
        if not isinstance(value, bool):
            where.bad(name, "expected true or false")
    ex, f = _section(where, "exclude", raw.get("exclude"), {"actors", "objects", "values"})
    rule = Rule(
        id=label or "",
        title=_text(where, "title", raw.get("title")),
        severity=_choice(where, "severity", raw.get("severity"), Severity),
        directory=_choice(where, "directory", raw.get("directory"), Directory),
        kind=kind,
        rationale=_text(where, "rationale", raw.get("rationale")),
        remediation=_text(where, "remediation", raw.get("remediation")),
        mitre=mitre,
        references=_strings(where, "references", raw.get("references")),
        enabled=enabled is True if "enabled" in raw else noisy is not True,
        noisy=noisy is True,
        superseded_by=_strings(where, "superseded_by", raw.get("superseded_by")),
        match=_match(where, raw.get("match"), kind),
        exclude=Exclusions(
            actors=_strings(where, f("actors"), ex.get("actors")),
            objects=_strings(where, f("objects"), ex.get("objects")),
            values=_strings(where, f("values"), ex.get("values")),
        ),
        threshold=_threshold(where, raw.get("threshold")),
        grouping=_grouping(where, raw.get("grouping")),
        auto_undo=_auto_undo(where, raw.get("auto_undo"), kind),
        origin=file,
    )
    return rule if len(problems) == before else None


def parse_rules(text: str, file: str) -> list[Rule]:
    """The rules of one file's text; :class:`RuleFileError` lists every problem found."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RuleFileError([f"{file}: not valid TOML: {error}"]) from None
    problems: list[str] = []
    for key in sorted(set(document) - {"rule"}):
        problems.append(f"{file}: {key}: unknown top-level key; rules are [[rule]] tables")
    raw_rules = document.get("rule", [])
    if not isinstance(raw_rules, list):
        raise RuleFileError([f"{file}: rule: write each rule as a [[rule]] table"])
    rules = [_rule(file, i, raw, problems) for i, raw in enumerate(raw_rules)]
    seen: set[str] = set()
    for rule in rules:
        if rule is not None and rule.id in seen:
            problems.append(f"{file}: rule {rule.id}: id: defined twice in this file")
        if rule is not None:
            seen.add(rule.id)
    if problems:
        raise RuleFileError(problems)
    return [r for r in rules if r is not None]
