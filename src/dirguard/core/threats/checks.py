"""Value conditions of threat rules (:class:`~dirguard.core.threats.model.Check`): pure.

Values are as the store holds them: a single-valued AD attribute is a string (``"512"``), a
multi-valued one a list, an Entra property any JSON value; a security descriptor change holds
``{"sddl": ..., "difference": {"aces_added": [{"acl", "ace", "position"}], ...}}``. A dotted
``path`` walks into dicts and maps over lists, so ``difference.aces_added.ace`` is the list of
the ACE strings added.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from dirguard.core.threats.model import Check

_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_GENERALIZED = re.compile(r"^(\d{14})(?:\.\d+)?Z$")


def glob_match(value: object, patterns: Iterable[str]) -> bool:
    """Whether ``value`` (as text) matches one of the case-insensitive shell ``patterns``."""
    text = str(value).casefold()
    return any(fnmatch.fnmatchcase(text, p.casefold()) for p in patterns)


def walk(value: Any, path: str | None) -> Any:
    """``value`` at the dotted ``path`` (dicts by key, case-insensitive; lists mapped)."""
    if not path:
        return value
    for part in path.split("."):
        value = _step(value, part)
        if value is None:
            return None
    return value


def _step(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        if part in value:
            return value[part]
        folded = {str(k).casefold(): v for k, v in value.items()}
        return folded.get(part.casefold())
    if isinstance(value, list):
        found = [_step(item, part) for item in value]
        flat: list[Any] = []
        for item in found:
            if isinstance(item, list):
                flat.extend(item)
            elif item is not None:
                flat.append(item)
        return flat or None
    return None


def items_of(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip(), 0)
        except ValueError:
            return None
    return None


def as_time(value: Any) -> datetime | None:
    """A Windows FILETIME (100 ns since 1601), generalized time or ISO 8601 value."""
    if isinstance(value, int | str) and (number := as_int(value)) is not None:
        if number <= 0 or number >= 0x7FFFFFFFFFFFFFFF:
            return None  # "never" / "not set"
        return _FILETIME_EPOCH + timedelta(microseconds=number // 10)
    if not isinstance(value, str):
        return None
    if found := _GENERALIZED.match(value):
        return datetime.strptime(found.group(1), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _equal(item: Any, wanted: Any) -> bool:
    if isinstance(item, str) and isinstance(wanted, str):
        return item.casefold() == wanted.casefold()
    if isinstance(wanted, bool) or isinstance(item, bool):
        return item is wanted or str(item).casefold() == str(wanted).casefold()
    if isinstance(wanted, int) and (number := as_int(item)) is not None:
        return number == wanted
    return bool(item == wanted)


def _item_holds(check: Check, item: Any, now: datetime) -> bool:
    if check.equals is not None and not _equal(item, check.equals):
        return False
    if check.one_of is not None and not any(_equal(item, w) for w in check.one_of):
        return False
    if check.matches is not None and not glob_match(item, check.matches):
        return False
    if check.not_matches is not None and glob_match(item, check.not_matches):
        return False
    if check.regex is not None and not re.search(check.regex, str(item), re.IGNORECASE):
        return False
    number = as_int(item)
    if check.bits_set is not None and (number is None or not number & check.bits_set):
        return False
    if check.bits_clear is not None and (number is None or number & check.bits_clear):
        return False
    if check.greater_than is not None:
        try:
            if float(item) <= check.greater_than:
                return False
        except (TypeError, ValueError):
            return False
    if check.older_than_days is not None:
        when = as_time(item)
        if when is None or now - when <= timedelta(days=check.older_than_days):
            return False
    return True


def _has_item_predicates(check: Check) -> bool:
    return any(
        v is not None
        for v in (
            check.equals,
            check.one_of,
            check.matches,
            check.not_matches,
            check.regex,
            check.bits_set,
            check.bits_clear,
            check.greater_than,
            check.older_than_days,
        )
    )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _gained(before: Any, after: Any) -> list[Any]:
    """The items of ``after`` that ``before`` did not hold."""
    had = {_canonical(item) for item in items_of(before)}
    return [item for item in items_of(after) if _canonical(item) not in had]


def holds(check: Check, old: Any, new: Any, now: datetime) -> bool:
    """Whether ``check`` holds for an event's ``old`` and ``new`` values (object checks pass
    the content value as ``new``)."""
    if check.bits_gained is not None:
        before = as_int(walk(old, check.path)) or 0
        after = as_int(walk(new, check.path)) or 0
        if not (after & check.bits_gained & ~before):
            return False
    side = old if check.side == "old" else new
    paths = check.path.split("|") if check.path else [None]
    if check.gains:
        items = [item for path in paths for item in _gained(walk(old, path), walk(new, path))]
        if not items:
            return False
    else:
        items = [item for path in paths for item in items_of(walk(side, path))]
    if check.present is not None and bool(items) != check.present:
        return False
    if check.at_most is not None and len(items) > check.at_most:
        return False
    if not _has_item_predicates(check):
        return True
    results = [_item_holds(check, item, now) for item in items]
    if check.items == "all":
        return bool(results) and all(results)
    return any(results)
