"""Rules as TOML files: one rule per file, read with the standard library's ``tomllib`` and
written with ``tomli-w`` (the same author's writer; the standard library writes no TOML), so
that a rule exported, committed to git and imported again is the same rule."""

from __future__ import annotations

import tomllib
from typing import Any

from dirguard.core.rules import Rule, RuleError, parse_rule, rule_data


def dumps(rule: Rule) -> str:
    import tomli_w

    return tomli_w.dumps(rule_data(rule))


def loads(text: str, *, origin: str = "rule file") -> Rule:
    """The rule in ``text``; :class:`RuleError` names the file and the bad field."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RuleError(f"{origin}: not TOML ({error})") from None
    try:
        return parse_rule(data)
    except RuleError as error:
        raise RuleError(f"{origin}: {error}") from None
