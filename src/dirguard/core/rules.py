"""Rules: desired-state automation, declared as data and checked without I/O.

A rule (Cayosoft's rules, Adaxes' scheduled tasks) names a **scope** — the objects of one AD
domain or Entra tenant, narrowed to an OU subtree, an administrative unit or a virtual admin unit
of ``core/delegation.py`` — **conditions** on each object (field tests as in a virtual admin unit,
plus "disabled for N days" and "no sign-in for N days"), and **actions** to bring each object to
the desired state. It runs on a **schedule** (cron, five fields) and/or on a **trigger** (a change
the guardian captured: a user created in an OU). Rules are exported and imported as TOML files
(:mod:`dirguard.core.rules_file`), so they live in git; :func:`parse_rule` reads one and refuses a
bad one naming the field.

Actions are the Administrator's web actions (``catalog/admin_actions.py``) run by dirguard's
service identity, plus three that reach people rather than directories: ``notify`` (an e-mail),
``webhook`` and ``meetings`` (cancel or hand over the user's future meetings). An action may act on
the object's *counterpart* in the other directory (``in = "entra:contoso"``: the Entra user with
the AD user's userPrincipalName, as Entra Connect matches them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dirguard.core.delegation import Comparison, Condition, DelegationError


class RuleError(ValueError):
    """A rule that cannot be used; the message names the rule and the bad field."""


class ActionKind(StrEnum):
    SET = "set"
    """Set attributes (``fields``): the object's edit action."""
    ADD_TO_GROUP = "add-to-group"
    REMOVE_FROM_GROUP = "remove-from-group"
    ASSIGN_LICENSES = "assign-licenses"
    REMOVE_LICENSES = "remove-licenses"
    MOVE = "move"
    """Move to the OU ``to`` (AD)."""
    DISABLE = "disable"
    """AD: disable the account; Entra: block sign-in."""
    SUSPEND = "suspend"
    """Entra: the suspend web action (block sign-in, revoke sessions, methods, groups, licenses)."""
    NOTIFY = "notify"
    WEBHOOK = "webhook"
    MEETINGS = "meetings"
    """Cancel (``mode = "cancel"``) or hand over (``mode = "forward"``) future meetings."""
    ACTION = "action"
    """Any web action by its catalog key (``key``) with its ``params``."""
    KEEP_MEMBERS = "keep-members"
    """Keep a group's (``group``) or a managed unit's (``unit``) members equal to the objects
    the rule finds: add those that match, remove those that no longer do (a dynamic group).
    See :mod:`dirguard.core.membership_sync` for the guard against emptying a group."""


MEMBERSHIP = frozenset({ActionKind.KEEP_MEMBERS})
"""Actions on the set of objects the rule finds as a whole, not on each object."""

SIDE_EFFECTS = frozenset({ActionKind.NOTIFY, ActionKind.WEBHOOK})
"""Actions that change no directory: they run for an object when another action of the rule
changed it (or, in a rule of nothing else, the first time the object is found)."""

TimeField = str
DISABLED_FOR_DAYS = "disabled_for_days"
INACTIVE_FOR_DAYS = "inactive_for_days"


@dataclass(frozen=True, kw_only=True)
class TimeCondition:
    """The object has been disabled, or has not signed in, for at least ``days`` days (measured
    against the run's clock)."""

    kind: TimeField
    days: int


@dataclass(frozen=True, kw_only=True)
class RuleScope:
    directory: str
    """``ad`` or ``entra``."""
    source: str
    """The domain's or tenant's configured name."""
    object_kind: str = "user"
    base: str | None = None
    """AD: the OU subtree's DN."""
    admin_unit: str | None = None
    """Entra: the administrative unit's id."""
    unit: str | None = None
    """A virtual admin unit (a delegation scope's name) the object must lie in."""

    @property
    def store_source(self) -> str:
        return f"{self.directory}:{self.source}"


@dataclass(frozen=True, kw_only=True)
class RuleAction:
    kind: ActionKind
    on: str | None = None
    """``<directory>:<name>`` of the counterpart's directory; ``None``: the object itself."""
    params: Mapping[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        where = f" in {self.on}" if self.on else ""
        return f"{self.kind}{where}"


@dataclass(frozen=True, kw_only=True)
class Trigger:
    """A captured change that runs the rule on the object it touched."""

    event: str
    """``created``, ``changed`` or ``deleted``."""
    under: str | None = None
    """Only objects in this OU subtree (AD)."""


@dataclass(frozen=True, kw_only=True)
class Rule:
    name: str
    scope: RuleScope
    actions: tuple[RuleAction, ...]
    description: str = ""
    enabled: bool = True
    conditions: tuple[Condition, ...] = ()
    time_conditions: tuple[TimeCondition, ...] = ()
    schedule: str | None = None
    """Cron expression (five fields, UTC)."""
    trigger: Trigger | None = None
    limit: int | None = None
    """Refuse to run when more objects than this would change (a safety stop)."""


TRIGGER_EVENTS = frozenset({"created", "changed", "deleted"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,99}$")
_SCOPE_KEYS = {"directory", "source", "object_kind", "base", "admin_unit", "unit"}
_RULE_KEYS = {
    "name",
    "description",
    "enabled",
    "scope",
    "conditions",
    "actions",
    "schedule",
    "trigger",
    "limit",
}


def _text(data: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise RuleError(f"{where}: '{key}' is required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise RuleError(f"{where}: '{key}' must be a non-empty string, not {value!r}")
    return value.strip()


def _unknown(data: Mapping[str, Any], known: set[str], where: str) -> None:
    extra = sorted(set(data) - known)
    if extra:
        raise RuleError(f"{where}: unknown field(s) {', '.join(map(repr, extra))}")


def _scope(data: Any, where: str) -> RuleScope:
    if not isinstance(data, Mapping):
        raise RuleError(f"{where}: 'scope' must be a table (directory, source, …)")
    where = f"{where}, scope"
    _unknown(data, _SCOPE_KEYS, where)
    directory = _text(data, "directory", where, required=True)
    if directory not in ("ad", "entra"):
        raise RuleError(f"{where}: 'directory' must be 'ad' or 'entra', not {directory!r}")
    kind = _text(data, "object_kind", where) or "user"
    if kind not in ("user", "group"):
        raise RuleError(f"{where}: 'object_kind' must be 'user' or 'group', not {kind!r}")
    base = _text(data, "base", where)
    unit_id = _text(data, "admin_unit", where)
    if base and directory != "ad":
        raise RuleError(f"{where}: 'base' (an OU) is for an AD scope; use 'admin_unit'")
    if unit_id and directory != "entra":
        raise RuleError(f"{where}: 'admin_unit' is for an Entra scope; use 'base'")
    return RuleScope(
        directory=directory,
        source=str(_text(data, "source", where, required=True)),
        object_kind=kind,
        base=base,
        admin_unit=unit_id,
        unit=_text(data, "unit", where),
    )


def _conditions(data: Any, where: str) -> tuple[tuple[Condition, ...], tuple[TimeCondition, ...]]:
    if data is None:
        return (), ()
    if not isinstance(data, list):
        raise RuleError(f"{where}: 'conditions' must be a list of tables")
    fields: list[Condition] = []
    times: list[TimeCondition] = []
    for number, item in enumerate(data, 1):
        here = f"{where}, condition {number}"
        if not isinstance(item, Mapping):
            raise RuleError(f"{here}: must be a table")
        timed = [k for k in (DISABLED_FOR_DAYS, INACTIVE_FOR_DAYS) if k in item]
        if timed:
            _unknown(item, {timed[0]}, here)
            days = item[timed[0]]
            if isinstance(days, bool) or not isinstance(days, int) or days < 0:
                raise RuleError(f"{here}: '{timed[0]}' must be a whole number of days ≥ 0")
            times.append(TimeCondition(kind=timed[0], days=days))
            continue
        _unknown(item, {"field", "comparison", "values", "value"}, here)
        raw = item.get("values", [item["value"]] if "value" in item else [])
        if not isinstance(raw, list):
            raise RuleError(f"{here}: 'values' must be a list")
        try:
            fields.append(
                Condition(
                    field=str(item.get("field") or ""),
                    comparison=Comparison(str(item.get("comparison") or "equals")),
                    values=tuple(str(v) for v in raw),
                )
            )
        except ValueError as error:
            known = ", ".join(c.value for c in Comparison)
            message = str(error) if isinstance(error, DelegationError) else f"known: {known}"
            raise RuleError(f"{here}: {message}") from None
    return tuple(fields), tuple(times)


_ACTION_NEEDS: dict[ActionKind, tuple[str, ...]] = {
    ActionKind.SET: ("fields",),
    ActionKind.ADD_TO_GROUP: ("group",),
    ActionKind.REMOVE_FROM_GROUP: ("group",),
    ActionKind.ASSIGN_LICENSES: ("licenses",),
    ActionKind.REMOVE_LICENSES: ("licenses",),
    ActionKind.MOVE: ("to",),
    ActionKind.NOTIFY: ("to", "subject"),
    ActionKind.WEBHOOK: ("url",),
    ActionKind.MEETINGS: ("mode",),
    ActionKind.ACTION: ("key",),
}


def _action(item: Any, here: str) -> RuleAction:
    if not isinstance(item, Mapping):
        raise RuleError(f"{here}: must be a table with 'do'")
    try:
        kind = ActionKind(str(item.get("do") or ""))
    except ValueError:
        known = ", ".join(k.value for k in ActionKind)
        raise RuleError(f"{here}: 'do' must be one of {known}, not {item.get('do')!r}") from None
    for need in _ACTION_NEEDS.get(kind, ()):
        if item.get(need) in (None, "", [], {}):
            raise RuleError(f"{here}: '{kind}' needs '{need}'")
    on = _text(item, "in", here)
    if on is not None and (on.partition(":")[0] not in ("ad", "entra") or ":" not in on):
        raise RuleError(f"{here}: 'in' must be 'ad:<domain>' or 'entra:<tenant>', not {on!r}")
    if kind is ActionKind.MEETINGS and item["mode"] not in ("cancel", "forward"):
        raise RuleError(f"{here}: 'mode' must be 'cancel' or 'forward', not {item['mode']!r}")
    if kind is ActionKind.MEETINGS and item["mode"] == "forward" and not item.get("to"):
        raise RuleError(f"{here}: handing meetings over needs 'to' ('manager' or an address)")
    if kind is ActionKind.WEBHOOK:
        _webhook(item, here)
    if kind is ActionKind.KEEP_MEMBERS:
        _keep_members(item, here)
    if kind in (ActionKind.SET,) and not isinstance(item["fields"], Mapping):
        raise RuleError(f"{here}: 'fields' must be a table of attribute = value")
    params = {k: v for k, v in item.items() if k not in ("do", "in")}
    return RuleAction(kind=kind, on=on, params=params)


def _keep_members(item: Mapping[str, Any], here: str) -> None:
    group, unit = item.get("group"), item.get("unit")
    if bool(group) == bool(unit):
        raise RuleError(f"{here}: 'keep-members' needs either 'group' or 'unit' (a managed unit)")
    for name in ("group", "unit"):
        if item.get(name) is not None and (
            not isinstance(item[name], str) or not item[name].strip()
        ):
            raise RuleError(f"{here}: '{name}' must be a non-empty string")
    if unit and item.get("in"):
        raise RuleError(f"{here}: a managed unit is dirguard's own: 'in' is for a group")
    percent = item.get("max_remove_percent")
    if percent is not None and (
        isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100
    ):
        raise RuleError(f"{here}: 'max_remove_percent' must be a whole number from 0 to 100")
    extra = sorted(set(item) - {"do", "in", "group", "unit", "max_remove_percent"})
    if extra:
        raise RuleError(f"{here}: unknown field(s) {', '.join(map(repr, extra))}")


def _check_membership(rule: Rule) -> None:
    """A keep-members action's group lives where the rule's objects can be matched to it: in
    their own directory, or an Entra group for AD users (their counterparts, by UPN)."""
    for number, action in enumerate(rule.actions, 1):
        if action.kind is not ActionKind.KEEP_MEMBERS or action.on is None:
            continue
        if action.on == rule.scope.store_source:
            continue
        if not (rule.scope.directory == "ad" and action.on.startswith("entra:")):
            raise RuleError(
                f"rule {rule.name!r}, action {number}: 'keep-members' in {action.on} works on"
                " the rule's own directory, or on an Entra group for an AD scope (the"
                " counterparts by userPrincipalName)"
            )
        if rule.scope.object_kind != "user":
            raise RuleError(
                f"rule {rule.name!r}, action {number}: counterparts in {action.on} are users:"
                " the scope's object_kind must be 'user'"
            )


WEBHOOK_KEYS = {"do", "in", "url", "signing_secret", "ca_file", "timeout"}
SECRET_REFS = ("env:", "file:", "secret:")


def _webhook(item: Mapping[str, Any], here: str) -> None:
    """A webhook's ``url``, and ``signing_secret`` as a *reference* (``env:``, ``file:``,
    ``secret:``): a rule file lives in git, so the key itself never goes in it."""
    _unknown(item, WEBHOOK_KEYS, here)
    if not str(item["url"]).startswith(("https://", "http://")):
        raise RuleError(f"{here}: 'url' must be an http(s) URL")
    ref = _text(item, "signing_secret", here)
    if ref is not None and not ref.startswith(SECRET_REFS):
        raise RuleError(
            f"{here}: 'signing_secret' must name where the key is (env:NAME, file:PATH or"
            " secret:NAME), never the key itself"
        )
    _text(item, "ca_file", here)
    timeout = item.get("timeout", 10)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 120:
        raise RuleError(f"{here}: 'timeout' must be seconds above 0 and at most 120")


def parse_rule(data: Mapping[str, Any]) -> Rule:
    """A rule from its file's (or API body's) data; :class:`RuleError` names what is wrong."""
    if not isinstance(data, Mapping):
        raise RuleError("a rule must be a table")
    name = _text(data, "name", "rule", required=True)
    assert name is not None
    if not _NAME.match(name):
        raise RuleError(f"rule {name!r}: a name is letters, digits, space, '.', '_' or '-'")
    where = f"rule {name!r}"
    _unknown(data, _RULE_KEYS, where)
    conditions, times = _conditions(data.get("conditions"), where)
    actions = data.get("actions")
    if not isinstance(actions, list) or not actions:
        raise RuleError(f"{where}: 'actions' must list at least one action")
    schedule = _text(data, "schedule", where)
    if schedule is not None:
        from dirguard.core.rules_schedule import check_cron

        problem = check_cron(schedule)
        if problem:
            raise RuleError(f"{where}: 'schedule' {schedule!r}: {problem}")
    trigger = _trigger(data.get("trigger"), where)
    limit = data.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise RuleError(f"{where}: 'limit' must be a whole number ≥ 1")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RuleError(f"{where}: 'enabled' must be true or false")
    rule = Rule(
        name=name,
        description=str(data.get("description") or ""),
        enabled=enabled,
        scope=_scope(data.get("scope"), where),
        conditions=conditions,
        time_conditions=times,
        actions=tuple(_action(a, f"{where}, action {n}") for n, a in enumerate(actions, 1)),
        schedule=schedule,
        trigger=trigger,
        limit=limit,
    )
    _check_membership(rule)
    return rule


def _trigger(data: Any, where: str) -> Trigger | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise RuleError(f"{where}: 'trigger' must be a table (event, under)")
    here = f"{where}, trigger"
    _unknown(data, {"event", "under"}, here)
    event = _text(data, "event", here, required=True)
    if event not in TRIGGER_EVENTS:
        raise RuleError(f"{here}: 'event' must be one of {', '.join(sorted(TRIGGER_EVENTS))}")
    return Trigger(event=str(event), under=_text(data, "under", here))


def rule_data(rule: Rule) -> dict[str, Any]:
    """The rule as its file holds it (what :func:`parse_rule` reads back)."""
    scope: dict[str, Any] = {
        "directory": rule.scope.directory,
        "source": rule.scope.source,
        "object_kind": rule.scope.object_kind,
    }
    for key in ("base", "admin_unit", "unit"):
        if getattr(rule.scope, key):
            scope[key] = getattr(rule.scope, key)
    data: dict[str, Any] = {"name": rule.name}
    if rule.description:
        data["description"] = rule.description
    data["enabled"] = rule.enabled
    if rule.schedule:
        data["schedule"] = rule.schedule
    if rule.limit:
        data["limit"] = rule.limit
    if rule.trigger:
        data["trigger"] = {"event": rule.trigger.event}
        if rule.trigger.under:
            data["trigger"]["under"] = rule.trigger.under
    data["scope"] = scope
    conditions: list[dict[str, Any]] = [
        {"field": c.field, "comparison": c.comparison.value, "values": list(c.values)}
        for c in rule.conditions
    ]
    conditions += [{t.kind: t.days} for t in rule.time_conditions]
    if conditions:
        data["conditions"] = conditions
    data["actions"] = [
        {"do": a.kind.value, **({"in": a.on} if a.on else {}), **dict(a.params)}
        for a in rule.actions
    ]
    return data
