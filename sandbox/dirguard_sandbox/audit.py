"""directoryAudit records, written for every change as Entra's Core Directory service does.

``modifiedProperties`` carry old and new values as JSON-encoded strings (``"[\\"Ada\\"]"``), and a
user or group update also lists ``Included Updated Properties``, as Graph's audit log shows them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dirguard_sandbox.audit_latency import hold_back
from dirguard_sandbox.directory_state import DirectoryState, Json, graph_time, new_id


@dataclass(frozen=True, kw_only=True)
class Actor:
    """Who made a change: an application (app-only token) or a signed-in user."""

    app_id: str | None = None
    service_principal_id: str | None = None
    display_name: str | None = None
    user_id: str | None = None
    user_principal_name: str | None = None
    ip_address: str | None = None

    def initiated_by(self) -> Json:
        if self.user_id is not None:
            return {
                "app": None,
                "user": {
                    "id": self.user_id,
                    "displayName": self.display_name,
                    "userPrincipalName": self.user_principal_name,
                    "ipAddress": self.ip_address,
                },
            }
        return {
            "app": {
                "appId": self.app_id,
                "displayName": self.display_name,
                "servicePrincipalId": self.service_principal_id,
                "servicePrincipalName": self.display_name,
            },
            "user": None,
        }


def _encoded(value: Any) -> str:
    if value is None or value == []:
        return "[]"
    if isinstance(value, list):
        return json.dumps(value)
    return json.dumps([value])


def modified_properties(old: Json, new: Json, names: list[str]) -> list[Json]:
    """One entry per changed property, plus Graph's ``Included Updated Properties`` summary."""
    changed = [name for name in names if old.get(name) != new.get(name)]
    entries: list[Json] = [
        {
            "displayName": name[:1].upper() + name[1:],
            "oldValue": _encoded(old.get(name)),
            "newValue": _encoded(new.get(name)),
        }
        for name in changed
    ]
    if changed:
        summary = ", ".join(name[:1].upper() + name[1:] for name in changed)
        entries.append(
            {
                "displayName": "Included Updated Properties",
                "oldValue": None,
                "newValue": json.dumps(summary),
            }
        )
    return entries


def whole_value_change(name: str, old: Json | None, new: Json | None) -> list[Json]:
    """One modified property holding the whole object before and after as JSON, as the
    Conditional Access service logs a policy: "Use audit logs to troubleshoot Conditional Access
    policy changes" (https://learn.microsoft.com/entra/identity/conditional-access/troubleshoot-policy-changes-audit-log)
    shows the old and the new policy JSON under ``modifiedProperties``. A create has no old value
    and a delete no new one."""
    return [
        {
            "displayName": name,
            "oldValue": None if old is None else json.dumps(old),
            "newValue": None if new is None else json.dumps(new),
        }
    ]


def target(
    state: DirectoryState, object_id: str, record: Json, modified: list[Json] | None = None
) -> Json:
    kind = "User" if "userPrincipalName" in record else "Group"
    return {
        "id": object_id,
        "displayName": record.get("displayName"),
        "type": kind,
        "userPrincipalName": record.get("userPrincipalName"),
        "groupType": None,
        "modifiedProperties": modified or [],
    }


def record_audit(
    state: DirectoryState,
    *,
    actor: Actor,
    activity: str,
    category: str,
    operation_type: str,
    targets: list[Json],
    result: str = "success",
) -> Json:
    """Append one directoryAudit to the tenant's audit log and return it."""
    entry: Json = {
        "id": f"Directory_{new_id()}",
        "category": category,
        "correlationId": new_id(),
        "result": result,
        "resultReason": "",
        "activityDisplayName": activity,
        "activityDateTime": graph_time(state.now()),
        "loggedByService": "Core Directory",
        "operationType": operation_type,
        "initiatedBy": actor.initiated_by(),
        "targetResources": targets,
        "additionalDetails": [],
    }
    state.audits.append(entry)
    hold_back(state, entry)
    return entry


def group_link_audit(
    state: DirectoryState, actor: Actor, activity: str, group: Json, object_id: str
) -> Json:
    """An "Add/Remove member/owner to/from group" entry: the member with the group's id and name
    as modified properties, then the group."""
    record = state.lookup(object_id) or {"displayName": None}
    group_props: list[Json] = [
        {"displayName": "Group.ObjectID", "oldValue": None, "newValue": json.dumps(group["id"])},
        {
            "displayName": "Group.DisplayName",
            "oldValue": None,
            "newValue": json.dumps(group["displayName"]),
        },
    ]
    if activity.startswith("Remove"):
        for entry in group_props:
            entry["oldValue"], entry["newValue"] = entry["newValue"], None
    return record_audit(
        state,
        actor=actor,
        activity=activity,
        category="GroupManagement",
        operation_type="Assign" if activity.startswith("Add") else "Unassign",
        targets=[target(state, object_id, record, group_props), target(state, group["id"], group)],
    )
