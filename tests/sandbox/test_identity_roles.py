"""Directory roles through the sandbox's Graph API: built-in role templates and definitions with
their real ids, role members, unified role assignments, and PIM schedule requests."""

from __future__ import annotations

import httpx
import jwt

from dirguard_sandbox.role_catalog import GLOBAL_ADMINISTRATOR, GLOBAL_READER
from tests.fixtures.graph_sandbox import RunningSandbox

_RM = "/roleManagement/directory"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _someone(sandbox: RunningSandbox) -> str:
    admin_id = next(iter(sandbox.state.passwords))
    return next(user_id for user_id in sandbox.state.users if user_id != admin_id)


def _audit_activities(client: httpx.Client) -> list[str]:
    entries = client.get("/auditLogs/directoryAudits", params={"$top": "999"}).json()["value"]
    return [entry["activityDisplayName"] for entry in entries]


def test_built_in_roles_carry_microsofts_template_ids(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client(read_only=True) as client:
        templates = client.get("/directoryRoleTemplates").json()["value"]
        definition = client.get(f"{_RM}/roleDefinitions/{GLOBAL_READER}").json()
        missing = client.get(f"{_RM}/roleDefinitions/00000000-0000-0000-0000-000000000001")
    by_name = {template["displayName"]: template["id"] for template in templates}
    assert by_name["Global Administrator"] == GLOBAL_ADMINISTRATOR
    assert by_name["Global Reader"] == GLOBAL_READER
    assert by_name["Privileged Role Administrator"] == "e8611ab8-c189-46e8-94e1-60213ab1f814"
    assert definition["displayName"] == "Global Reader"
    assert definition["isBuiltIn"] is True
    assert missing.status_code == 404


def test_global_administrator_is_a_member_of_the_active_role(
    graph_sandbox: RunningSandbox,
) -> None:
    info = graph_sandbox.info
    with graph_sandbox.client(read_only=True) as client:
        role = client.get(f"/directoryRoles(roleTemplateId='{GLOBAL_ADMINISTRATOR}')").json()
        members = client.get(f"/directoryRoles/{role['id']}/members").json()["value"]
    assert [member["userPrincipalName"] for member in members] == [info.admin_user_principal_name]
    assert members[0]["@odata.type"] == "#microsoft.graph.user"


def test_role_members_and_role_assignments_are_one_record(graph_sandbox: RunningSandbox) -> None:
    user_id = _someone(graph_sandbox)
    with graph_sandbox.client() as client:
        activated = client.post("/directoryRoles", json={"roleTemplateId": USER_ADMINISTRATOR})
        assert activated.status_code == 201, activated.text
        role_id = activated.json()["id"]
        added = client.post(
            f"/directoryRoles/{role_id}/members/$ref",
            json={"@odata.id": f"{graph_sandbox.info.graph_base}/directoryObjects/{user_id}"},
        )
        assert added.status_code == 204, added.text
        assigned = client.get(
            f"{_RM}/roleAssignments", params={"$filter": f"principalId eq '{user_id}'"}
        ).json()["value"]
        assert [(a["roleDefinitionId"], a["directoryScopeId"]) for a in assigned] == [
            (USER_ADMINISTRATOR, "/")
        ]
        duplicate = client.post(
            f"{_RM}/roleAssignments",
            json={
                "principalId": user_id,
                "roleDefinitionId": USER_ADMINISTRATOR,
                "directoryScopeId": "/",
            },
        )
        assert duplicate.status_code == 400
        deleted = client.delete(f"{_RM}/roleAssignments/{assigned[0]['id']}")
        assert deleted.status_code == 204
        members = client.get(f"/directoryRoles/{role_id}/members").json()["value"]
        activities = _audit_activities(client)
    assert user_id not in {member["id"] for member in members}
    assert "Add member to role" in activities
    assert "Remove member from role" in activities


def test_role_assignment_rejects_unknown_roles_and_principals(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        unknown_role = client.post(
            f"{_RM}/roleAssignments",
            json={
                "principalId": _someone(graph_sandbox),
                "roleDefinitionId": "00000000-0000-0000-0000-000000000001",
                "directoryScopeId": "/",
            },
        )
        unknown_principal = client.post(
            f"{_RM}/roleAssignments",
            json={
                "principalId": "00000000-0000-0000-0000-000000000002",
                "roleDefinitionId": GLOBAL_READER,
                "directoryScopeId": "/",
            },
        )
        missing_scope = client.post(
            f"{_RM}/roleAssignments",
            json={"principalId": _someone(graph_sandbox), "roleDefinitionId": GLOBAL_READER},
        )
    assert "00000000-0000-0000-0000-000000000001" in unknown_role.json()["error"]["message"]
    assert "00000000-0000-0000-0000-000000000002" in unknown_principal.json()["error"]["message"]
    assert "directoryScopeId" in missing_scope.json()["error"]["message"]


def test_pim_requests_create_schedules_instances_and_assignments(
    graph_sandbox: RunningSandbox,
) -> None:
    user_id = _someone(graph_sandbox)
    request = {
        "principalId": user_id,
        "roleDefinitionId": GLOBAL_READER,
        "directoryScopeId": "/",
        "justification": "quarterly review",
        "scheduleInfo": {
            "startDateTime": "2026-01-01T00:00:00Z",
            "expiration": {"type": "afterDateTime", "endDateTime": "2027-01-01T00:00:00Z"},
        },
    }
    with graph_sandbox.client() as client:
        eligible = client.post(
            f"{_RM}/roleEligibilityScheduleRequests", json={**request, "action": "adminAssign"}
        )
        assert eligible.status_code == 201, eligible.text
        assert eligible.json()["status"] == "Provisioned"
        schedules = client.get(f"{_RM}/roleEligibilitySchedules").json()["value"]
        instances = client.get(f"{_RM}/roleEligibilityScheduleInstances").json()["value"]
        assigned_before = client.get(
            f"{_RM}/roleAssignments", params={"$filter": f"principalId eq '{user_id}'"}
        ).json()["value"]
        active = client.post(
            f"{_RM}/roleAssignmentScheduleRequests", json={**request, "action": "adminAssign"}
        )
        assert active.status_code == 201, active.text
        assigned = client.get(
            f"{_RM}/roleAssignments", params={"$filter": f"principalId eq '{user_id}'"}
        ).json()["value"]
        active_instances = client.get(f"{_RM}/roleAssignmentScheduleInstances").json()["value"]
        removed = client.post(
            f"{_RM}/roleAssignmentScheduleRequests", json={**request, "action": "adminRemove"}
        )
        assigned_after = client.get(
            f"{_RM}/roleAssignments", params={"$filter": f"principalId eq '{user_id}'"}
        ).json()["value"]
        bad_action = client.post(
            f"{_RM}/roleAssignmentScheduleRequests", json={**request, "action": "grant"}
        )
    assert [s["id"] for s in schedules if s["principalId"] == user_id] == [
        eligible.json()["targetScheduleId"]
    ]
    assert [i["endDateTime"] for i in instances if i["principalId"] == user_id] == [
        "2027-01-01T00:00:00Z"
    ]
    assert assigned_before == []
    assert [a["roleDefinitionId"] for a in assigned] == [GLOBAL_READER]
    assert user_id in {i["principalId"] for i in active_instances}
    assert removed.json()["status"] == "Revoked"
    assert assigned_after == []
    assert bad_action.status_code == 400
    assert "grant" in bad_action.json()["error"]["message"]


def test_role_reads_need_a_role_management_or_directory_permission(
    graph_sandbox: RunningSandbox,
) -> None:
    state = graph_sandbox.state
    app = state.applications[graph_sandbox.info.read_only_client_id]
    kept = {
        key: assignment
        for key, assignment in state.app_role_assignments.items()
        if assignment["principalId"] == app.service_principal_id
    }
    graph_sp = next(sp for sp in state.service_principals.values() if sp["appRoles"])
    user_read = next(
        role["id"] for role in graph_sp["appRoles"] if role["value"] == "User.Read.All"
    )
    for key, assignment in kept.items():
        if assignment["appRoleId"] != user_read:
            del state.app_role_assignments[key]
    try:
        with graph_sandbox.client(read_only=True) as client:
            denied = client.get(f"{_RM}/roleDefinitions")
            allowed = client.get("/users")
    finally:
        state.app_role_assignments.update(kept)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "Authorization_RequestDenied"
    assert allowed.status_code == 200


def test_app_token_carries_the_directory_roles_of_its_service_principal(
    graph_sandbox: RunningSandbox,
) -> None:
    """Entra puts a service principal's directory roles in ``wids`` of its app-only tokens."""
    info = graph_sandbox.info
    sp_id = graph_sandbox.state.applications[info.read_only_client_id].service_principal_id
    assert "wids" not in _claims(graph_sandbox.token(read_only=True))
    with graph_sandbox.client() as client:
        assigned = client.post(
            f"{_RM}/roleAssignments",
            json={"principalId": sp_id, "roleDefinitionId": GLOBAL_READER, "directoryScopeId": "/"},
        )
        assert assigned.status_code == 201, assigned.text
        with_role = _claims(graph_sandbox.token(read_only=True))
        assert client.delete(f"{_RM}/roleAssignments/{assigned.json()['id']}").status_code == 204
    assert with_role["wids"] == [GLOBAL_READER]
    assert "wids" not in _claims(graph_sandbox.token(read_only=True))
