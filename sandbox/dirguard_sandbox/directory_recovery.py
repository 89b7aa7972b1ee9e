"""What a soft-deleted user or group takes with it to directory/deletedItems besides its
memberships (``DirectoryState.soft_delete`` keeps those): its directory role assignments and its
app role assignments, which come back when it is restored.

"Recover from deletions" (https://learn.microsoft.com/entra/architecture/recover-from-deletions),
table "Properties maintained with soft delete": a user keeps "all properties ..., including
ObjectID, group memberships, roles, licenses, and application assignments"; a Microsoft 365
group "group memberships, licenses, and application assignments". Licenses stay on the user's
record (``assignedLicenses``) and come back with it. While the object is deleted its assignments
are not in the live directory: role members, ``roleAssignments`` and ``appRoleAssignedTo`` no
longer list it (and the directory role's delta reports it removed). An assignment whose other
end was deleted in the meantime does not come back.

Privileged Identity Management's schedules are not on that list: the table names the directory
role assignments ("roles") a soft-deleted user keeps, and PIM's eligibility schedules and the
active schedules PIM requests made ("unifiedRoleEligibilitySchedule", "unifiedRoleAssignment
Schedule": https://learn.microsoft.com/graph/api/resources/unifiedroleeligibilityschedule,
https://learn.microsoft.com/graph/api/resources/unifiedroleassignmentschedule) are objects of
PIM's own, not properties of the user. The sandbox takes the reading an administrator has to
plan for: the deletion ends them (they leave ``roleEligibilitySchedules`` /
``roleAssignmentSchedules`` and their instances) and a restore does not bring them back; they
are requested anew. An assignment PIM made keeps its role assignment, which is a "role" and
comes back (listed then as a direct assignment).
"""

from __future__ import annotations

from dirguard_sandbox.directory_state import DirectoryState, Json
from dirguard_sandbox.routes_roles import activate_role, unassign_role


def set_aside_assignments(state: DirectoryState, object_id: str) -> None:
    """After ``state.soft_delete``: move the object's role and app role assignments out of the
    live directory into its deleted links; end its PIM schedules (the requests stay, as
    history)."""
    links = state.deleted_links[object_id]
    roles = [
        dict(record)
        for record in state.role_assignments.values()
        if record["principalId"] == object_id
    ]
    for record in roles:
        unassign_role(state, record["id"])
    links["roleAssignments"] = roles
    for schedule_id, schedule in list(state.role_schedules.items()):
        if schedule.get("principalId") == object_id and not str(schedule["kind"]).endswith(
            "Request"
        ):
            del state.role_schedules[schedule_id]  # PIM's schedules end with their principal
    links["appRoleAssignments"] = [
        state.app_role_assignments.pop(assignment_id)
        for assignment_id, assignment in list(state.app_role_assignments.items())
        if assignment["principalId"] == object_id
    ]


def bring_back_assignments(state: DirectoryState, kind: str, links: Json) -> None:
    """After ``state.restore`` of a user or group: its role assignments (same ids) and its app
    role assignments whose resource still exists."""
    if kind not in ("users", "groups"):
        return
    for record in links.get("roleAssignments", []):
        role = activate_role(state, record["roleDefinitionId"])
        state.role_assignments[record["id"]] = record
        state.bump(record["principalId"])
        state.record_member_change(role["id"], record["principalId"], added=True)
    for assignment in links.get("appRoleAssignments", []):
        if assignment["resourceId"] in state.service_principals:
            state.app_role_assignments[assignment["id"]] = assignment
