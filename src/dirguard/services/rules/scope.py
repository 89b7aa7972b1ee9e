"""The objects a rule's scope holds now and that meet its conditions at the run's moment.

AD objects are read with the attributes the time conditions need (``whenChanged``,
``whenCreated``, ``lastLogonTimestamp``) besides the web actions' own; Entra users with
``createdDateTime`` and, when a condition needs it, ``signInActivity`` (``AuditLog.Read.All``).
A virtual admin unit is the delegation scope of that name, decided on each object as it is now.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dirguard.core.delegation import Scope, Target
from dirguard.core.rules import INACTIVE_FOR_DAYS, Rule
from dirguard.core.rules_match import meets
from dirguard.providers.base import SourceError
from dirguard.services.admin.actions import directory_actions
from dirguard.services.admin.delegation import current_delegation
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime

AD_EXTRA = ("whenChanged", "whenCreated", "lastLogonTimestamp")


def _unit(runtime: Runtime, name: str) -> Scope:
    for scope in current_delegation(runtime).scopes:
        if scope.name == name:
            return scope
    raise ServiceError(f"the rule's scope names no virtual admin unit {name!r}", Problem.NOT_FOUND)


def _entra_users(actions: Any, rule: Rule) -> list[Target]:
    from dirguard.providers.entra.admin_actions import GROUP_SELECT, USER_SELECT

    kind = rule.scope.object_kind
    select = GROUP_SELECT if kind == "group" else f"{USER_SELECT},createdDateTime"
    if kind == "user" and any(t.kind == INACTIVE_FOR_DAYS for t in rule.time_conditions):
        select += ",signInActivity"
    if rule.scope.admin_unit:
        path = f"directory/administrativeUnits/{rule.scope.admin_unit}/members"
        records = [
            r for r in actions.collect(path) if r.get("@odata.type") == f"#microsoft.graph.{kind}"
        ]
        ids = [str(r["id"]) for r in records]
        collection = "users" if kind == "user" else "groups"
        records = [actions.get(f"{collection}/{i}", **{"$select": select}) for i in ids]
        units = frozenset({rule.scope.admin_unit})
    else:
        records = actions.collect("users" if kind == "user" else "groups", **{"$select": select})
        units = frozenset()
    return [
        Target(
            source=actions.source,
            directory="entra",
            object_kind=kind,
            path=str(r["id"]),
            fields={k: v for k, v in r.items() if not k.startswith("@odata")},
            admin_units=units,
        )
        for r in records
        if r is not None
    ]


def scope_objects(runtime: Runtime, rule: Rule) -> list[Target]:
    """Every object the rule's scope holds now (conditions not yet applied)."""
    scope = rule.scope
    try:
        with directory_actions(runtime, scope.directory, scope.source) as actions:
            if scope.directory == "ad":
                if scope.base:
                    actions.container(scope.base)  # refuses an OU that does not exist
                found: list[Target] = actions.scope_search(scope.object_kind, scope.base, AD_EXTRA)
            else:
                found = _entra_users(actions, rule)
    except SourceError as error:
        problem = Problem.PERMISSION if error.refused else Problem.CONFLICT
        raise ServiceError(f"rule {rule.name!r}: reading its scope: {error}", problem) from None
    if scope.unit:
        unit = _unit(runtime, scope.unit)
        found = [t for t in found if unit.contains(t)]
    return found


def matching_objects(
    runtime: Runtime, rule: Rule, now: datetime, *, only: Sequence[str] | None = None
) -> list[Target]:
    """The scope's objects that meet every condition at ``now`` (with ``only``: just those
    paths, as a trigger names the object it saw change), in a stable order."""
    wanted = None if only is None else {p.casefold() for p in only}
    found = [
        t
        for t in scope_objects(runtime, rule)
        if (wanted is None or t.path.casefold() in wanted) and meets(rule, t, now)
    ]
    return sorted(found, key=lambda t: t.path.casefold())
