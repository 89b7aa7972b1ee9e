"""Directory role delta carries ``members@delta`` as group delta does: every member in the first
round, then the members added and removed since the deltaLink."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.graph_sandbox import RunningSandbox

HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
USER = "#microsoft.graph.user"


def _round(client: httpx.Client, url: str) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    while True:
        page = client.get(url)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["value"]
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]


def test_role_delta_reports_members_added_and_removed(graph_sandbox: RunningSandbox) -> None:
    first, second = list(graph_sandbox.state.users)[3:5]
    with graph_sandbox.client() as client:
        role = client.post("/directoryRoles", json={"roleTemplateId": HELPDESK_ADMINISTRATOR})
        assert role.status_code == 201, role.text
        role_id = role.json()["id"]
        members = f"/directoryRoles/{role_id}/members"
        reference = {"@odata.id": f"{graph_sandbox.info.graph_base}/directoryObjects/{first}"}
        assert client.post(f"{members}/$ref", json=reference).status_code == 204
        full, link = _round(client, "/directoryRoles/delta")
        reference = {"@odata.id": f"{graph_sandbox.info.graph_base}/directoryObjects/{second}"}
        assert client.post(f"{members}/$ref", json=reference).status_code == 204
        assert client.delete(f"{members}/{first}/$ref").status_code == 204
        changes, quiet_link = _round(client, link)
        quiet, _ = _round(client, quiet_link)
        holders = client.get(members).json()["value"]
    by_id = {role["id"]: role for role in full}
    assert by_id[role_id]["members@delta"] == [{"@odata.type": USER, "id": first}]
    for other in full:
        template = other["roleTemplateId"]
        expected = {
            a["principalId"]
            for a in graph_sandbox.state.role_assignments.values()
            if a["roleDefinitionId"] == template and template != HELPDESK_ADMINISTRATOR
        }
        if template != HELPDESK_ADMINISTRATOR:
            assert {m["id"] for m in other.get("members@delta", [])} == expected, template
    assert [(role["id"], role["roleTemplateId"]) for role in changes] == [
        (role_id, HELPDESK_ADMINISTRATOR)
    ]
    assert sorted(changes[0]["members@delta"], key=lambda m: m["id"]) == sorted(
        [
            {"@odata.type": USER, "id": second},
            {"@odata.type": USER, "id": first, "@removed": {"reason": "deleted"}},
        ],
        key=lambda m: m["id"],
    )
    assert quiet == []
    assert [holder["id"] for holder in holders] == [second]


def test_role_delta_reports_a_member_removed_by_a_pim_request(
    graph_sandbox: RunningSandbox,
) -> None:
    someone = list(graph_sandbox.state.users)[5]
    requests = "/roleManagement/directory/roleAssignmentScheduleRequests"
    request = {
        "principalId": someone,
        "roleDefinitionId": HELPDESK_ADMINISTRATOR,
        "directoryScopeId": "/",
        "justification": "on call",
        "scheduleInfo": {"startDateTime": "2026-01-01T00:00:00Z"},
    }
    with graph_sandbox.client() as client:
        added = client.post(requests, json={**request, "action": "adminAssign"})
        assert added.status_code == 201, added.text
        _, link = _round(client, "/directoryRoles/delta")
        removed = client.post(requests, json={**request, "action": "adminRemove"})
        assert removed.status_code == 201, removed.text
        changes, _ = _round(client, link)
    helpdesk = [role for role in changes if role["roleTemplateId"] == HELPDESK_ADMINISTRATOR]
    assert len(helpdesk) == 1
    assert {"@odata.type": USER, "id": someone, "@removed": {"reason": "deleted"}} in helpdesk[0][
        "members@delta"
    ]
