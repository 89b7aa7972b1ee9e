"""The directoryAudits Privileged Identity Management writes for a role schedule request.

PIM logs its own entries (``loggedByService`` ``PIM``, category ``RoleManagement``), named as the
"Microsoft Entra audit log activity reference" lists them under Privileged Identity Management
(https://learn.microsoft.com/entra/identity/monitoring-health/reference-audit-activities):
"Add member to role in PIM completed (permanent)" / "(timebound)", "Add eligible member to role
in PIM completed (permanent)" / "(timebound)", "Add member to role completed (PIM activation)",
"Remove member from role completed (PIM deactivate)", "Remove member from role in PIM
completed" and "Remove eligible member from role in PIM completed". "View audit log report for
Microsoft Entra roles in PIM"
(https://learn.microsoft.com/entra/id-governance/privileged-identity-management/pim-how-to-use-audit-log)
shows each with the role, the request and the principal as its targets, and the request id and
justification in its additional details.
"""

from __future__ import annotations

from dirguard_sandbox.audit import Actor, record_audit
from dirguard_sandbox.directory_state import DirectoryState, Json
from dirguard_sandbox.role_catalog import ROLES_BY_TEMPLATE

_REMOVALS = ("adminRemove", "selfDeactivate")
_TARGET_TYPES = {
    "#microsoft.graph.user": "User",
    "#microsoft.graph.group": "Group",
    "#microsoft.graph.servicePrincipal": "ServicePrincipal",
}


def pim_activity(action: str, *, eligibility: bool, timebound: bool) -> tuple[str, str]:
    """The activity name and operation type PIM logs for one request action."""
    span = "(timebound)" if timebound else "(permanent)"
    if eligibility:
        if action in _REMOVALS:
            return "Remove eligible member from role in PIM completed", "Delete"
        if action == "adminUpdate":
            return f"Update eligible member in role in PIM completed {span}", "Update"
        return f"Add eligible member to role in PIM completed {span}", "Add"
    if action == "selfActivate":
        return "Add member to role completed (PIM activation)", "Add"
    if action == "selfDeactivate":
        return "Remove member from role completed (PIM deactivate)", "Delete"
    if action == "adminRemove":
        return "Remove member from role in PIM completed", "Delete"
    if action == "adminUpdate":
        return f"Update member in role in PIM completed {span}", "Update"
    if action in ("adminExtend", "selfExtend"):
        return f"Extend member in role in PIM completed {span}", "Update"
    if action in ("adminRenew", "selfRenew"):
        return f"Renew member in role in PIM completed {span}", "Update"
    return f"Add member to role in PIM completed {span}", "Add"


def audit_schedule_request(
    state: DirectoryState, actor: Actor, request: Json, *, eligibility: bool
) -> Json:
    """Log one completed schedule request as PIM does; the entry is returned."""
    template = ROLES_BY_TEMPLATE[request["roleDefinitionId"]]
    expiration = request["scheduleInfo"]["expiration"]
    activity, operation = pim_activity(
        request["action"],
        eligibility=eligibility,
        timebound=expiration["type"] != "noExpiration",
    )
    principal = state.lookup(str(request["principalId"])) or {"id": request["principalId"]}
    kind = state.object_type(principal["id"]) or "#microsoft.graph.user"
    targets: list[Json] = [
        {
            "id": request["roleDefinitionId"],
            "displayName": template.display_name,
            "type": "Role",
            "userPrincipalName": None,
            "groupType": None,
            "modifiedProperties": [],
        },
        {
            "id": request["id"],
            "displayName": None,
            "type": "Request",
            "userPrincipalName": None,
            "groupType": None,
            "modifiedProperties": [],
        },
        {
            "id": principal["id"],
            "displayName": principal.get("displayName"),
            "type": _TARGET_TYPES.get(kind, "User"),
            "userPrincipalName": principal.get("userPrincipalName"),
            "groupType": None,
            "modifiedProperties": [],
        },
    ]
    entry = record_audit(
        state,
        actor=actor,
        activity=activity,
        category="RoleManagement",
        operation_type=operation,
        targets=targets,
    )
    entry["loggedByService"] = "PIM"
    entry["additionalDetails"] = [
        {"key": "RoleDefinitionOriginId", "value": request["roleDefinitionId"]},
        {"key": "RoleDefinitionOriginType", "value": "BuiltInRole"},
        {"key": "TemplateId", "value": request["roleDefinitionId"]},
        {"key": "RoleAssignmentRequestId", "value": request["id"]},
        {"key": "Justification", "value": request.get("justification") or ""},
        {"key": "StartTime", "value": request["scheduleInfo"]["startDateTime"]},
        {"key": "ExpirationTime", "value": expiration.get("endDateTime") or ""},
    ]
    return entry
