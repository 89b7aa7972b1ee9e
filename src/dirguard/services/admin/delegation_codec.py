"""Roles and scopes as documents (the store's JSON, export files, API bodies) and back.

Reading a document checks everything a person could get wrong — an unknown action, an unknown
scope kind or comparison, a missing OU — and names it, so a bad import or API call is refused
before anything is stored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dirguard.catalog.admin_actions import ACTIONS_BY_KEY
from dirguard.core.delegation import (
    Comparison,
    Condition,
    DelegationError,
    ObjectQuery,
    Role,
    Scope,
    ScopeKind,
)


def role_document(role: Role) -> dict[str, Any]:
    return {
        "name": role.name,
        "actions": sorted(role.actions),
        "read_fields": sorted(role.read_fields),
        "write_fields": sorted(role.write_fields),
    }


def _strings(document: Mapping[str, Any], key: str, owner: str, default: list[str]) -> list[str]:
    value = document.get(key, default)
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DelegationError(f"{owner}: {key!r} must be a list of non-empty strings")
    return value


def role_from_document(document: Mapping[str, Any]) -> Role:
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DelegationError("a role needs a non-empty 'name'")
    owner = f"role {name!r}"
    actions = _strings(document, "actions", owner, [])
    unknown = sorted(set(actions) - set(ACTIONS_BY_KEY))
    if unknown:
        raise DelegationError(f"{owner}: unknown action(s) {', '.join(unknown)}")
    if not actions:
        raise DelegationError(f"{owner}: grants no action")
    return Role(
        name=name.strip(),
        actions=frozenset(actions),
        read_fields=frozenset(_strings(document, "read_fields", owner, ["*"])),
        write_fields=frozenset(_strings(document, "write_fields", owner, [])),
    )


def scope_document(scope: Scope) -> dict[str, Any]:
    document: dict[str, Any] = {"name": scope.name, "kind": scope.kind.value}
    if scope.source is not None:
        document["source"] = scope.source
    if scope.base is not None:
        document["base"] = scope.base
    if scope.query is not None:
        document["query"] = {
            "directories": sorted(scope.query.directories),
            "object_kinds": sorted(scope.query.object_kinds),
            "conditions": [
                {"field": c.field, "comparison": c.comparison.value, "values": list(c.values)}
                for c in scope.query.conditions
            ],
        }
    return document


def _choice(enum: Any, value: Any, what: str, owner: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        known = ", ".join(m.value for m in enum)
        raise DelegationError(f"{owner}: {what} {value!r} is not one of {known}") from None


def scope_from_document(document: Mapping[str, Any]) -> Scope:
    name = document.get("name")
    if not isinstance(name, str) or not name.strip():
        raise DelegationError("a scope needs a non-empty 'name'")
    owner = f"scope {name!r}"
    kind = _choice(ScopeKind, document.get("kind"), "kind", owner)
    query = None
    raw = document.get("query")
    if raw is not None:
        if not isinstance(raw, Mapping):
            raise DelegationError(f"{owner}: 'query' must be a table")
        conditions = []
        for index, item in enumerate(raw.get("conditions", [])):
            if not isinstance(item, Mapping):
                raise DelegationError(f"{owner}: condition {index + 1} must be a table")
            conditions.append(
                Condition(
                    field=str(item.get("field", "")),
                    comparison=_choice(Comparison, item.get("comparison"), "comparison", owner),
                    values=tuple(_strings(item, "values", f"{owner} condition {index + 1}", [])),
                )
            )
        directories = _strings(raw, "directories", owner, ["ad", "entra"])
        bad = sorted(set(directories) - {"ad", "entra"})
        if bad:
            raise DelegationError(f"{owner}: unknown directory {', '.join(bad)} (ad, entra)")
        query = ObjectQuery(
            directories=frozenset(directories),
            object_kinds=frozenset(_strings(raw, "object_kinds", owner, [])),
            conditions=tuple(conditions),
        )
    source, base = document.get("source"), document.get("base")
    return Scope(
        name=name.strip(),
        kind=kind,
        source=str(source) if source is not None else None,
        base=str(base) if base is not None else None,
        query=query,
    )
