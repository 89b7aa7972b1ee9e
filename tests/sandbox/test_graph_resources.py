"""Users and groups through the Graph surface: writes, deleted items and the audit log."""

from __future__ import annotations

import json

from tests.fixtures.graph_sandbox import RunningSandbox


def _domain(sandbox: RunningSandbox) -> str:
    return next(name for name, d in sandbox.state.domains.items() if d["isDefault"])


def _audits_for(sandbox: RunningSandbox, object_id: str) -> list[dict[str, object]]:
    with sandbox.client(read_only=True) as client:
        values = client.get("/auditLogs/directoryAudits", params={"$top": "999"}).json()["value"]
    return [
        entry
        for entry in values
        if any(target["id"] == object_id for target in entry["targetResources"])
    ]


def test_create_update_delete_restore_user_with_audit(graph_sandbox: RunningSandbox) -> None:
    upn = f"new.person@{_domain(graph_sandbox)}"
    with graph_sandbox.client() as client:
        created = client.post(
            "/users",
            json={
                "accountEnabled": True,
                "displayName": "New Person",
                "mailNickname": "new.person",
                "userPrincipalName": upn,
                "passwordProfile": {"password": "Sandbox-Passw0rd!"},
            },
        )
        assert created.status_code == 201
        user_id = created.json()["id"]
        assert client.get(f"/users/{upn}").json()["id"] == user_id
        duplicate = client.post(
            "/users",
            json={
                "accountEnabled": True,
                "displayName": "Again",
                "mailNickname": "again",
                "userPrincipalName": upn.upper(),
                "passwordProfile": {"password": "Sandbox-Passw0rd!"},
            },
        )
        assert duplicate.status_code == 400
        assert client.patch(f"/users/{user_id}", json={"jobTitle": "Auditor"}).status_code == 204
        assert client.get(f"/users/{user_id}").json()["jobTitle"] == "Auditor"
        assert client.delete(f"/users/{user_id}").status_code == 204
        assert client.get(f"/users/{user_id}").status_code == 404
        deleted = client.get("/directory/deletedItems/microsoft.graph.user").json()["value"]
        assert user_id in [item["id"] for item in deleted]
        restored = client.post(f"/directory/deletedItems/{user_id}/restore")
        assert restored.status_code == 200
        assert client.get(f"/users/{user_id}").json()["userPrincipalName"] == upn
    activities = [entry["activityDisplayName"] for entry in _audits_for(graph_sandbox, user_id)]
    assert sorted(activities) == sorted(["Add user", "Update user", "Delete user", "Restore user"])
    update = next(
        e for e in _audits_for(graph_sandbox, user_id) if e["activityDisplayName"] == "Update user"
    )
    assert update["initiatedBy"]["app"]["appId"] == graph_sandbox.info.full_client_id  # type: ignore[index]
    changes = update["targetResources"][0]["modifiedProperties"]  # type: ignore[index]
    job = next(change for change in changes if change["displayName"] == "JobTitle")
    assert json.loads(job["newValue"]) == ["Auditor"]


def test_group_membership_by_ref_with_audit(graph_sandbox: RunningSandbox) -> None:
    state = graph_sandbox.state
    with graph_sandbox.client() as client:
        group = client.post(
            "/groups",
            json={
                "displayName": "Project Falcon",
                "mailEnabled": False,
                "mailNickname": "falcon",
                "securityEnabled": True,
            },
        ).json()
        user_id = next(iter(state.users))
        reference = {"@odata.id": f"{graph_sandbox.info.graph_base}/directoryObjects/{user_id}"}
        added = client.post(f"/groups/{group['id']}/members/$ref", json=reference)
        assert added.status_code == 204
        again = client.post(f"/groups/{group['id']}/members/$ref", json=reference)
        assert again.status_code == 400
        members = client.get(f"/groups/{group['id']}/members").json()["value"]
        assert [(m["@odata.type"], m["id"]) for m in members] == [
            ("#microsoft.graph.user", user_id)
        ]
        member_of = client.get(f"/users/{user_id}/memberOf").json()["value"]
        assert group["id"] in [g["id"] for g in member_of]
        removed = client.delete(f"/groups/{group['id']}/members/{user_id}/$ref")
        assert removed.status_code == 204
        assert client.get(f"/groups/{group['id']}/members").json()["value"] == []
    activities = [e["activityDisplayName"] for e in _audits_for(graph_sandbox, group["id"])]
    assert "Add member to group" in activities
    assert "Remove member from group" in activities


def test_security_group_delete_is_permanent_but_m365_group_is_restorable(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        ids = {}
        for kind, body in {
            "security": {"mailEnabled": False, "securityEnabled": True},
            "unified": {"mailEnabled": True, "securityEnabled": False, "groupTypes": ["Unified"]},
        }.items():
            answer = client.post(
                "/groups", json={"displayName": f"Temp {kind}", "mailNickname": kind, **body}
            )
            ids[kind] = answer.json()["id"]
            assert client.delete(f"/groups/{ids[kind]}").status_code == 204
        deleted = client.get("/directory/deletedItems/microsoft.graph.group").json()["value"]
        deleted_ids = {item["id"] for item in deleted}
        assert ids["unified"] in deleted_ids
        assert ids["security"] not in deleted_ids
        assert client.post(f"/directory/deletedItems/{ids['unified']}/restore").status_code == 200
        assert client.get(f"/groups/{ids['unified']}").status_code == 200


def test_organization_and_domains(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client(read_only=True) as client:
        org = client.get("/organization").json()["value"]
        domains = client.get("/domains").json()["value"]
    assert [o["id"] for o in org] == [graph_sandbox.info.tenant_id]
    assert {d["id"] for d in domains} == {v["name"] for v in org[0]["verifiedDomains"]}
    assert graph_sandbox.info.admin_user_principal_name.endswith(_domain(graph_sandbox))
