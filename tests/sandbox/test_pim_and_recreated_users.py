"""What a user's deletion does to its PIM schedules, and what a user created anew may carry.

- "Recover from deletions" (https://learn.microsoft.com/entra/architecture/recover-from-deletions),
  "Properties maintained with soft delete": a user keeps its group memberships, "roles" (the
  directory role assignments), licenses and application assignments. PIM's schedules
  (``unifiedRoleEligibilitySchedule``, the ``unifiedRoleAssignmentSchedule`` a PIM request made)
  are PIM's own objects, not on that list: the sandbox ends them with their principal and a
  restore does not bring them back; the direct role assignment does come back.
- ``requestSchedule`` (https://learn.microsoft.com/graph/api/resources/requestschedule):
  ``startDateTime`` is "when the eligible or active assignment becomes active", with no bound; a
  schedule requested anew with a start in the past keeps it.
- "Create user" (https://learn.microsoft.com/graph/api/user-post-users): the request may carry
  the other writable properties of the user resource (``otherMails``, ``identities``,
  ``streetAddress``…), which a user re-created from a backup holds.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.graph_sandbox import RunningSandbox

RM = "/roleManagement/directory"
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"


def _ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.is_success, answer.text
    found: dict[str, Any] = answer.json() if answer.content else {}
    return found


def _of(client: httpx.Client, path: str, principal: str) -> list[dict[str, Any]]:
    return [r for r in _ok(client.get(path))["value"] if r["principalId"] == principal]


def test_a_deleted_users_pim_schedules_end_and_a_restore_does_not_bring_them_back(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        user = list(graph_sandbox.state.users)[20]
        schedule = {
            "startDateTime": "2026-01-05T08:00:00Z",
            "expiration": {"type": "afterDateTime", "endDateTime": "2031-01-05T08:00:00Z"},
        }
        for kind, role in (
            ("roleEligibility", SECURITY_ADMINISTRATOR),
            ("roleAssignment", HELPDESK),
        ):
            _ok(
                client.post(
                    f"{RM}/{kind}ScheduleRequests",
                    json={
                        "action": "adminAssign",
                        "principalId": user,
                        "roleDefinitionId": role,
                        "directoryScopeId": "/",
                        "justification": "on call",
                        "scheduleInfo": schedule,
                    },
                )
            )
        [eligible] = _of(client, f"{RM}/roleEligibilitySchedules", user)
        assert eligible["scheduleInfo"]["startDateTime"] == schedule["startDateTime"]
        assert len(_of(client, f"{RM}/roleAssignmentSchedules", user)) == 1
        [direct] = _of(client, f"{RM}/roleAssignments", user)

        _ok(client.delete(f"/users/{user}"))
        for path in ("roleEligibilitySchedules", "roleEligibilityScheduleInstances"):
            assert _of(client, f"{RM}/{path}", user) == [], path
        assert _of(client, f"{RM}/roleAssignmentSchedules", user) == []
        assert _of(client, f"{RM}/roleAssignments", user) == []
        # the requests stay, as history
        assert len(_of(client, f"{RM}/roleEligibilityScheduleRequests", user)) == 1

        _ok(client.post(f"/directory/deletedItems/{user}/restore"))
        assert _of(client, f"{RM}/roleEligibilitySchedules", user) == []
        [back] = _of(client, f"{RM}/roleAssignments", user)
        assert back["id"] == direct["id"], "the role assignment is a role: it comes back"
        [listed] = _of(client, f"{RM}/roleAssignmentSchedules", user)
        assert listed["createdUsing"] == direct["id"], "listed as a direct assignment now"


def test_a_user_is_created_with_the_writable_properties_a_backup_holds(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        upn = "recreated.user@" + graph_sandbox.info.admin_user_principal_name.split("@", 1)[1]
        body = {
            "accountEnabled": True,
            "displayName": "Re-created user",
            "mailNickname": "recreated.user",
            "userPrincipalName": upn,
            "passwordProfile": {
                "password": "Re-created-2026!",
                "forceChangePasswordNextSignIn": True,
            },
            "otherMails": ["someone@example.com"],
            "streetAddress": "1 Main Street",
            "postalCode": "12345",
            "state": "WA",
            "employeeType": "Contractor",
            "identities": [
                {
                    "signInType": "userPrincipalName",
                    "issuer": upn.split("@")[1],
                    "issuerAssignedId": upn,
                }
            ],
        }
        made = _ok(client.post("/users", json=body))
        read = _ok(
            client.get(
                f"/users/{made['id']}?$select=otherMails,streetAddress,postalCode,state,employeeType"
            )
        )
        assert read["otherMails"] == ["someone@example.com"]
        assert (read["streetAddress"], read["postalCode"], read["state"]) == (
            "1 Main Street",
            "12345",
            "WA",
        )
        assert read["employeeType"] == "Contractor"
        refused = client.post(
            "/users", json={**body, "userPrincipalName": "x" + upn, "createdDateTime": "x"}
        )
        assert refused.status_code == 400
        assert "createdDateTime" in refused.json()["error"]["message"]
