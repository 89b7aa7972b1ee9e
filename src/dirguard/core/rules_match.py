"""Whether an object meets a rule's conditions at a given moment (pure; the clock is given).

"Disabled for N days" reads ``disabledSince`` (when the account was disabled: the guardian's
captured change of ``userAccountControl`` / ``accountEnabled`` when it has one, else AD's
``whenChanged`` — set by the service before asking). "No sign-in for N days" reads AD's
``lastLogonTimestamp`` (replicated, up to 14 days stale by design: fine for day-sized
thresholds) or Entra's ``signInActivity.lastSignInDateTime``; an account that never signed in
counts from its creation (``whenCreated`` / ``createdDateTime``), as an unused account is as
stale as an abandoned one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from dirguard.core.delegation import Target
from dirguard.core.rules import DISABLED_FOR_DAYS, Rule, TimeCondition

UF_ACCOUNTDISABLE = 0x0002
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)


def _first(fields: Mapping[str, Any], name: str) -> Any:
    value = fields.get(name)
    if isinstance(value, list | tuple):
        return value[0] if value else None
    return value


def parse_time(value: Any) -> datetime | None:
    """An AD generalized time (``20261203143500.0Z``), a FILETIME count (``lastLogonTimestamp``)
    or an ISO 8601 time (Graph), as an aware UTC datetime; ``None`` for absent or zero."""
    if value in (None, "", "0"):
        return None
    text = str(value).strip()
    if text.isdigit():
        ticks = int(text)
        if ticks in (0, 0x7FFFFFFFFFFFFFFF):
            return None
        return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)
    if len(text) >= 14 and text[:14].isdigit():
        return datetime.strptime(text[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def is_disabled(target: Target) -> bool:
    if target.directory == "ad":
        uac = _first(target.fields, "userAccountControl")
        return uac is not None and bool(int(str(uac)) & UF_ACCOUNTDISABLE)
    return target.fields.get("accountEnabled") is False


def disabled_since(target: Target) -> datetime | None:
    if not is_disabled(target):
        return None
    return parse_time(_first(target.fields, "disabledSince")) or parse_time(
        _first(target.fields, "whenChanged")
    )


def last_sign_in(target: Target) -> datetime | None:
    """The last sign-in, or — never signed in — the creation time."""
    if target.directory == "ad":
        return parse_time(_first(target.fields, "lastLogonTimestamp")) or parse_time(
            _first(target.fields, "whenCreated")
        )
    activity = target.fields.get("signInActivity") or {}
    return parse_time(activity.get("lastSignInDateTime")) or parse_time(
        target.fields.get("createdDateTime")
    )


def meets_time(condition: TimeCondition, target: Target, now: datetime) -> bool:
    since = disabled_since(target) if condition.kind == DISABLED_FOR_DAYS else last_sign_in(target)
    return since is not None and now - since >= timedelta(days=condition.days)


def meets(rule: Rule, target: Target, now: datetime) -> bool:
    """Every field condition and every time condition of the rule holds for ``target``."""
    return all(c.matches(target.fields) for c in rule.conditions) and all(
        meets_time(t, target, now) for t in rule.time_conditions
    )
