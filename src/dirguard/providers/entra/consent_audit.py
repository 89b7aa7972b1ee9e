"""What a consent activity in the directory audit calls the app role assignment or delegated
permission grant it wrote (pure).

Neither record names the object's own id. Core Directory logs the resource — the API — as the
target ("Security operations for applications",
https://learn.microsoft.com/entra/architecture/security-operations-applications: "Add app role
assignment to service principal" and "Add delegated permission grant", "where Target(s)
identifies an API"), and the rest as modified properties:

- an app role assignment ("Add app role assignment to service principal", "Add app role
  assignment grant to user", "Remove app role assignment from group"…, "Microsoft Entra audit
  log activity reference",
  https://learn.microsoft.com/entra/identity/monitoring-health/reference-audit-activities): the
  role (``AppRole.Id``) and the principal (``ServicePrincipal.ObjectID``, ``User.ObjectID`` or
  ``Group.ObjectID``). Graph keeps one assignment per resource, role and principal, so the three
  name it: :func:`assignment_name`;
- a delegated permission grant ("Add / Update / Remove delegated permission grant"): the
  client (``ServicePrincipal.ObjectID``), ``DelegatedPermissionGrant.ConsentType`` and
  ``DelegatedPermissionGrant.Scope``. Graph keeps one ``AllPrincipals`` grant per client and
  resource, so those name it: :func:`grant_name`. A ``Principal`` grant is one per user, and the
  record does not name the user: it gets no name, and its actor stays unknown rather than guessed.

The assignment and grant rows declare the same names (``ResourceType.audit_names``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from dirguard.core.audit_record import AuditOperation

_PRINCIPAL_PROPERTIES = ("ServicePrincipal.ObjectID", "User.ObjectID", "Group.ObjectID")
ALL_PRINCIPALS = "allprincipals"

Json = dict[str, Any]


def assignment_name(resource_id: str, app_role_id: str, principal_id: str) -> str:
    return f"app-role-assignment:{resource_id}:{app_role_id}:{principal_id}".lower()


def grant_name(client_id: str, resource_id: str, consent_type: str) -> str | None:
    """The name of an ``AllPrincipals`` grant (``None`` for a per-user one)."""
    if consent_type.lower() != ALL_PRINCIPALS:
        return None
    return f"delegated-grant:{client_id}:{resource_id}:{ALL_PRINCIPALS}".lower()


def _first(content: Mapping[str, Any], name: str) -> str | None:
    value = content.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value not in (None, "") else None


def assignment_names(content: Mapping[str, Any]) -> tuple[str, ...]:
    """An app role assignment's name, from its stored content."""
    parts = [_first(content, key) for key in ("resourceId", "appRoleId", "principalId")]
    if any(part is None for part in parts):
        return ()
    resource, role, principal = (str(part) for part in parts)
    return (assignment_name(resource, role, principal),)


def grant_names(content: Mapping[str, Any]) -> tuple[str, ...]:
    """A delegated permission grant's name, from its stored content (none for a per-user one)."""
    client, resource = _first(content, "clientId"), _first(content, "resourceId")
    consent = _first(content, "consentType")
    if client is None or resource is None or consent is None:
        return ()
    name = grant_name(client, resource, consent)
    return () if name is None else (name,)


def _property(target: Json, name: str) -> tuple[Any, Any] | None:
    """``(old, new)`` of a modified property, decoded from JSON text; ``None`` when absent."""
    for prop in target.get("modifiedProperties") or []:
        if str(prop.get("displayName") or "") == name:
            return _decoded(prop.get("oldValue")), _decoded(prop.get("newValue"))
    return None


def _decoded(text: Any) -> Any:
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _text(pair: tuple[Any, Any] | None) -> str | None:
    if pair is None:
        return None
    value = pair[1] if pair[1] not in (None, "") else pair[0]
    return str(value) if isinstance(value, str) and value else None


def scope_text(value: Any) -> str | None:
    """A scope as Graph stores it: space-separated, without the audit's leading space."""
    return " ".join(value.split()) if isinstance(value, str) else None


def consent_name(activity: str, targets: list[Json]) -> tuple[AuditOperation, str, Any] | None:
    """``(operation, name, new scope or None)`` of a consent activity, else ``None``."""
    lowered = activity.strip().lower()
    if not targets:
        return None
    resource = targets[0]
    if " app role assignment " in f" {lowered} ":
        role = _text(_property(resource, "AppRole.Id"))
        principal = next(
            (
                found
                for name in _PRINCIPAL_PROPERTIES
                if (found := _text(_property(resource, name)))
            ),
            None,
        )
        if role is None or principal is None:
            return None
        operation = AuditOperation.DELETE if lowered.startswith("remove ") else AuditOperation.ADD
        return operation, assignment_name(str(resource["id"]), role, principal), None
    if lowered.endswith(" delegated permission grant"):
        client = _text(_property(resource, "ServicePrincipal.ObjectID"))
        consent = _text(_property(resource, "DelegatedPermissionGrant.ConsentType"))
        if client is None or consent is None:
            return None
        name = grant_name(client, str(resource["id"]), consent)
        if name is None:
            return None
        scope = _property(resource, "DelegatedPermissionGrant.Scope")
        if lowered.startswith("add "):
            return AuditOperation.ADD, name, None
        if lowered.startswith("remove "):
            return AuditOperation.DELETE, name, None
        return AuditOperation.MODIFY, name, scope_text(scope[1]) if scope else None
    return None
