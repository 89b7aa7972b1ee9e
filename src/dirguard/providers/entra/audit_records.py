"""One Entra directoryAudit as the audit records correlation matches (pure).

A directoryAudit (https://learn.microsoft.com/graph/api/resources/directoryaudit) names its
activity (``activityDisplayName``: "Update user", "Add member to group", "Delete conditional
access policy"…), who initiated it (``initiatedBy.user`` with ``userPrincipalName`` and
``ipAddress``, or ``initiatedBy.app`` with ``displayName`` and ``appId``), a ``correlationId``,
and its ``targetResources``, each with ``modifiedProperties`` whose old and new values are JSON
text (``"[\\"Ada\\"]"``, ``"[false]"``).

What becomes of it, one :class:`~dirguard.core.audit_record.AuditRecord` per changed object:

- a link activity ("Add member to group", "Remove owner from application", "Add member to
  role"…) targets the member first and the container second: one ``member-add`` /
  ``member-remove`` record on the container for its ``members`` / ``owners`` property, valued
  with the member's id;
- a manager activity ("Set user manager", "Remove user manager": the user first, the manager
  second): a ``replace`` (or delete) of the user's ``manager`` with the manager's id;
- any other activity: one record per target with an id, the operation from the activity's verb
  (Add → add, Delete / Remove / Hard delete → delete, Restore → undelete, else modify), and each
  modified property as a ``replace`` with its new values (``Included Updated Properties`` is a
  summary and left out). A property holding a whole object as JSON (the Conditional Access
  service logs a policy that way) is opened into its top-level properties that differ, so a
  change of ``state`` or ``conditions`` matches. ``AssignedLicense`` (licences, logged as
  descriptions) is read back as the ``assignedLicenses`` values it describes.

A role activity ("Add member to role", "Remove member from role", and PIM's "Add eligible
member to role in PIM completed (permanent)", "Remove member from role in PIM completed"…) names
no assignment or schedule id, only the role and the principal: it makes one more record, an add
or delete of the assignment known by :func:`role_holding` of the role's template id (the
``Role.TemplateId`` property; PIM logs the template as the role target's id) and the principal.
The directory role assignment and PIM schedule rows give the same name for their objects
(``audit_names``), so a deleted assignment or removed eligibility is matched to its record.
A consent activity (an app role assignment or a delegated permission grant) names neither
object's id either: it makes one more record under the name
:mod:`dirguard.providers.entra.consent_audit` gives it.

The actor is the user's UPN, else the application's display name, else its appId; the address
the user's IP address (an application's records carry none).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from dirguard.core.audit_record import AttributeAction, AuditOperation, AuditRecord, ValueAction
from dirguard.providers.entra.consent_audit import consent_name

SOURCE_NAME = "entra-directory-audit"
"""The ``actor_source`` of attributions from directoryAudits (and the audit cursor's stream)."""
_SUMMARY = "included updated properties"
_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_LINKS = {"member": "members", "owner": "owners"}
_VERBS = (
    ("hard delete", AuditOperation.DELETE),
    ("restore", AuditOperation.UNDELETE),
    ("add", AuditOperation.ADD),
    ("create", AuditOperation.ADD),
    ("delete", AuditOperation.DELETE),
    ("remove", AuditOperation.DELETE),
)

Json = dict[str, Any]
_LICENSES_LOGGED = "assignedlicense"
"""Licences ("Change user license", a group's licence change) are logged as ``AssignedLicense``
with ``[SkuName=…, SkuId=…, DisabledPlans=[…]]`` descriptions: read back as the
``assignedLicenses`` values they describe (``{'disabledPlans': [...], 'skuId': ...}``, the
stored value's text), so a record adding a licence is not taken for one removing it."""
_LICENCE = re.compile(r"SkuId=([0-9a-fA-F-]{36}), DisabledPlans=\[([^\]]*)\]")


def _licences(described: Any) -> tuple[str, ...]:
    items = described if isinstance(described, list) else [] if described is None else [described]
    found = []
    for item in items:
        for sku, plans in _LICENCE.findall(str(item)):
            disabled = [plan.strip() for plan in plans.split(",") if plan.strip()]
            found.append(str({"disabledPlans": disabled, "skuId": sku.lower()}))
    return tuple(found)


def activity_time(entry: Json) -> datetime:
    """The record's ``activityDateTime``, aware UTC."""
    text = str(entry.get("activityDateTime") or "")
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def initiator(entry: Json) -> tuple[str | None, str | None]:
    """``(actor, ip address)`` of the record's ``initiatedBy``."""
    by = entry.get("initiatedBy") or {}
    user = by.get("user") or {}
    if user.get("userPrincipalName") or user.get("id"):
        return user.get("userPrincipalName") or user.get("id"), user.get("ipAddress") or None
    app = by.get("app") or {}
    name = app.get("displayName") or app.get("servicePrincipalName") or app.get("appId")
    return (str(name) if name else None), None


def _decoded(text: Any) -> Any:
    if text is None or text == "":
        return None
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return text


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _values(value: Any) -> tuple[tuple[str, ...], bool]:
    """A property's values as texts, and whether they are complete (scalars only: an object
    value is compared by property name alone)."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    complete = all(not isinstance(item, dict | list) for item in items)
    return tuple(_text(item) for item in items), complete


def property_actions(modified: list[Json]) -> tuple[AttributeAction, ...]:
    """Each modified property as a ``replace`` with its new values; a whole object opened into
    the top-level properties that differ."""
    actions: list[AttributeAction] = []
    for prop in modified:
        name = str(prop.get("displayName") or "")
        if not name or name.lower() == _SUMMARY:
            continue
        old, new = _decoded(prop.get("oldValue")), _decoded(prop.get("newValue"))
        if isinstance(old, dict) or isinstance(new, dict):
            before, after = (
                old if isinstance(old, dict) else {},
                new if isinstance(new, dict) else {},
            )
            for key in sorted(set(before) | set(after)):
                if before.get(key) != after.get(key):
                    values, complete = _values(after.get(key))
                    actions.append(
                        AttributeAction(
                            name=key,
                            action=ValueAction.REPLACE,
                            values=values,
                            values_complete=complete,
                        )
                    )
            continue
        values, complete = _values(new)
        if name.lower() == _LICENSES_LOGGED:
            name, values, complete = "assignedLicenses", _licences(new), True
        actions.append(
            AttributeAction(
                name=name, action=ValueAction.REPLACE, values=values, values_complete=complete
            )
        )
    return tuple(actions)


def _operation(activity: str) -> AuditOperation:
    lowered = activity.strip().lower()
    for verb, operation in _VERBS:
        if lowered.startswith(verb + " "):
            return operation
    return AuditOperation.MODIFY


def _link(activity: str) -> tuple[AuditOperation, str] | None:
    """``(member-add | member-remove, property)`` of a link activity ("Add member to group")."""
    words = activity.strip().lower().split()
    if len(words) < 3 or words[2] not in ("to", "from") or words[1] not in _LINKS:
        return None
    if words[0] == "add":
        return AuditOperation.MEMBER_ADD, _LINKS[words[1]]
    if words[0] == "remove":
        return AuditOperation.MEMBER_REMOVE, _LINKS[words[1]]
    return None


def target_id(target: Json) -> str:
    """The id a target names, as the store knows the object: a policy singleton
    (``authorizationPolicy``, ``authenticationMethodsPolicy``…) is logged by its name and
    stored by its path under ``policies/``; an authentication method configuration is logged by
    its id (``Fido2``), the name its row declares (:func:`policy_name`)."""
    found = str(target["id"])
    if str(target.get("type") or "").lower() == "policy" and not _GUID.fullmatch(found):
        return policy_name(found)
    return found.lower()


def policy_name(policy_id: str) -> str:
    """What a ``Policy`` target whose id is no GUID names: ``policies/<id>``, lowercase."""
    return f"policies/{policy_id}".lower()


def _member_and_container(activity: str, targets: list[Json]) -> tuple[Json, Json]:
    """Which target of a link activity is the container: the one whose ``type`` is the noun
    after "to"/"from" ("Add member to role" logs the role first; groups and applications log
    the member first)."""
    noun = activity.lower().split(" to ", 1)[-1].split(" from ", 1)[-1].replace(" ", "")
    for position, candidate in enumerate(targets[:2]):
        if str(candidate.get("type") or "").lower().replace(" ", "") == noun:
            return targets[1 - position], candidate
    return targets[0], targets[1]


ASSIGNED = "assigned"
"""A role held (a directory role assignment, or PIM's active schedule of it)."""
ELIGIBLE = "eligible"
"""A role a principal may activate (PIM's eligibility schedule)."""
_PRINCIPALS = frozenset({"user", "group", "serviceprincipal"})


def role_holding(kind: str, template_id: str, principal_id: str) -> str:
    """The name by which a role activity and an assignment or schedule know each other."""
    return f"role-{kind}:{template_id}:{principal_id}".lower()


def _role_holding(activity: str, targets: list[Json]) -> tuple[AuditOperation, str] | None:
    """``(add | delete, role_holding(...))`` of a role activity, else None."""
    lowered = activity.strip().lower()
    if " role" not in lowered or not lowered.startswith(("add ", "remove ")):
        return None
    role = next((t for t in targets if str(t.get("type") or "").lower() == "role"), None)
    principal = next((t for t in targets if str(t.get("type") or "").lower() in _PRINCIPALS), None)
    if role is None or principal is None:
        return None
    template = str(role["id"])
    for prop in role.get("modifiedProperties") or []:
        if str(prop.get("displayName") or "") == "Role.TemplateId":
            named = _decoded(prop.get("newValue")) or _decoded(prop.get("oldValue"))
            if isinstance(named, str) and named:
                template = named
    kind = ELIGIBLE if " eligible " in f" {lowered} " else ASSIGNED
    operation = AuditOperation.ADD if lowered.startswith("add ") else AuditOperation.DELETE
    return operation, role_holding(kind, template, str(principal["id"]))


def _manager(activity: str, targets: list[Json]) -> dict[str, Any] | None:
    """A manager set ("Set user manager": the user first, the manager second) as a
    ``replace`` of the user's ``manager`` with the new one (the old one goes with it), or
    removed ("Remove user manager") as a delete of that value."""
    lowered = activity.strip().lower()
    if len(targets) < 2 or not lowered.endswith(" manager"):
        return None
    if lowered.startswith("set "):
        action = ValueAction.REPLACE
    elif lowered.startswith("remove "):
        action = ValueAction.DELETE
    else:
        return None
    user, manager = targets[0], targets[1]
    attribute = AttributeAction(name="manager", action=action, values=(str(manager["id"]),))
    return {"target_dn": "", "target_guid": str(user["id"]).lower(), "attributes": (attribute,)}


def records_of(entry: Json) -> list[AuditRecord]:
    """The audit records one directoryAudit makes (see the module docstring); none for a
    failed activity."""
    if str(entry.get("result") or "success").lower() != "success":
        return []
    activity = str(entry.get("activityDisplayName") or "")
    actor, address = initiator(entry)
    targets = [t for t in entry.get("targetResources") or [] if t.get("id")]
    common: dict[str, Any] = {
        "timestamp": activity_time(entry),
        "dc": None,
        "actor_name": actor,
        "remote_address": address,
        "transaction_id": entry.get("correlationId"),
        "source": SOURCE_NAME,
        "source_id": str(entry.get("id")),
    }
    holding = _role_holding(activity, targets)
    held = (
        []
        if holding is None
        else [AuditRecord(operation=holding[0], target_dn=holding[1], **common)]
    )
    consent = consent_name(activity, targets)
    if consent is not None:
        operation, name, scope = consent
        attributes = (
            ()
            if scope is None
            else (AttributeAction(name="scope", action=ValueAction.REPLACE, values=(scope,)),)
        )
        held.append(
            AuditRecord(operation=operation, target_dn=name, attributes=attributes, **common)
        )
    manager = _manager(activity, targets)
    if manager is not None:
        return [AuditRecord(operation=AuditOperation.MODIFY, **manager, **common)]
    link = _link(activity)
    if link is not None and len(targets) >= 2:
        operation, name = link
        action = ValueAction.ADD if operation is AuditOperation.MEMBER_ADD else ValueAction.DELETE
        member, container = _member_and_container(activity, targets)
        attribute = AttributeAction(name=name, action=action, values=(str(member["id"]),))
        return [
            AuditRecord(
                operation=operation,
                target_dn="",
                target_guid=str(container["id"]).lower(),
                attributes=(attribute,),
                **common,
            ),
            *held,
        ]
    operation = _operation(activity)
    return held + [
        AuditRecord(
            operation=operation,
            target_dn="",
            target_guid=target_id(target),
            attributes=property_actions(target.get("modifiedProperties") or []),
            **common,
        )
        for target in targets
    ]
