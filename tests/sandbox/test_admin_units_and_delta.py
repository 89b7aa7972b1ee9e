"""Administrative units through the sandbox's Graph API (CRUD, members with ``$ref``, audits) and
delta rounds on administrative units, applications, service principals and directory roles."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.fixtures.graph_sandbox import RunningSandbox

UNITS = "/directory/administrativeUnits"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"


def _round(client: httpx.Client, url: str) -> tuple[list[dict[str, Any]], str]:
    """Every item of a delta round (following nextLinks) and its deltaLink."""
    items: list[dict[str, Any]] = []
    while True:
        page = client.get(url)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["value"]
        if "@odata.deltaLink" in body:
            return items, body["@odata.deltaLink"]
        url = body["@odata.nextLink"]


def _audits(client: httpx.Client, object_id: str) -> list[dict[str, Any]]:
    values = client.get("/auditLogs/directoryAudits", params={"$top": "999"}).json()["value"]
    return [e for e in values if any(t["id"] == object_id for t in e["targetResources"])]


def test_seeded_units_hold_the_people_of_their_region(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client(read_only=True) as client:
        units = client.get(UNITS).json()["value"]
        europe = next(unit for unit in units if unit["displayName"] == "Europe")
        members = client.get(f"{UNITS}/{europe['id']}/members", params={"$top": "999"}).json()
    expected = {
        user_id
        for user_id, user in graph_sandbox.state.users.items()
        if user["country"] in {"GB", "DE", "FR"}
    }
    assert {member["id"] for member in members["value"]} == expected
    assert {member["@odata.type"] for member in members["value"]} <= {"#microsoft.graph.user"}
    restricted = next(unit for unit in units if unit["displayName"] == "Executives")
    assert restricted["isMemberManagementRestricted"] is True
    assert restricted["visibility"] == "HiddenMembership"


def test_unit_lifecycle_with_members_and_audits(graph_sandbox: RunningSandbox) -> None:
    user_id, group_id = list(graph_sandbox.state.users)[1], next(iter(graph_sandbox.state.groups))
    base = graph_sandbox.info.graph_base
    with graph_sandbox.client() as client:
        created = client.post(UNITS, json={"displayName": "Seattle", "description": "Office"})
        assert created.status_code == 201, created.text
        unit_id = created.json()["id"]
        for object_id in (user_id, group_id):
            added = client.post(
                f"{UNITS}/{unit_id}/members/$ref",
                json={"@odata.id": f"{base}/directoryObjects/{object_id}"},
            )
            assert added.status_code == 204, added.text
        twice = client.post(
            f"{UNITS}/{unit_id}/members/$ref",
            json={"@odata.id": f"{base}/directoryObjects/{user_id}"},
        )
        members = client.get(f"{UNITS}/{unit_id}/members").json()["value"]
        renamed = client.patch(f"{UNITS}/{unit_id}", json={"displayName": "Seattle office"})
        removed = client.delete(f"{UNITS}/{unit_id}/members/{group_id}/$ref")
        after = client.get(f"{UNITS}/{unit_id}/members").json()["value"]
        deleted = client.delete(f"{UNITS}/{unit_id}")
        gone = client.get(f"{UNITS}/{unit_id}")
        audits = _audits(client, unit_id)
    assert twice.status_code == 400
    assert {(m["@odata.type"], m["id"]) for m in members} == {
        ("#microsoft.graph.user", user_id),
        ("#microsoft.graph.group", group_id),
    }
    assert renamed.status_code == 204
    assert removed.status_code == 204
    assert [m["id"] for m in after] == [user_id]
    assert deleted.status_code == 204
    assert gone.status_code == 404
    activities = [entry["activityDisplayName"] for entry in reversed(audits)]
    assert activities == [
        "Add administrative unit",
        "Add member to administrative unit",
        "Add member to administrative unit",
        "Update administrative unit",
        "Remove member from administrative unit",
        "Delete administrative unit",
    ]
    update = next(e for e in audits if e["activityDisplayName"] == "Update administrative unit")
    change = update["targetResources"][0]["modifiedProperties"][0]
    assert (
        change["displayName"],
        json.loads(change["oldValue"]),
        json.loads(change["newValue"]),
    ) == (
        "DisplayName",
        ["Seattle"],
        ["Seattle office"],
    )
    assert all(entry["category"] == "AdministrativeUnit" for entry in audits)


def test_bad_unit_requests_name_what_is_wrong(graph_sandbox: RunningSandbox) -> None:
    unit_id = next(iter(graph_sandbox.state.administrative_units))
    with graph_sandbox.client() as client:
        nameless = client.post(UNITS, json={"description": "no name"})
        dynamic = client.post(UNITS, json={"displayName": "Rule", "membershipType": "Dynamic"})
        nobody = client.post(
            f"{UNITS}/{unit_id}/members/$ref",
            json={"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/nobody"},
        )
    with graph_sandbox.client(read_only=True) as client:
        forbidden = client.post(UNITS, json={"displayName": "Read-only app"})
    assert nameless.status_code == 400 and "displayName" in nameless.json()["error"]["message"]
    assert dynamic.status_code == 400 and "membershipRule" in dynamic.json()["error"]["message"]
    assert nobody.status_code == 404
    assert forbidden.status_code == 403


def test_unit_delta_reports_changes_removals_and_latest(graph_sandbox: RunningSandbox) -> None:
    def unit_members(unit_id: str) -> list[str]:
        return graph_sandbox.state.unit_members[unit_id]

    with graph_sandbox.client() as client:
        first, link = _round(client, f"{UNITS}/delta")
        held = {
            unit_id: set(members) for unit_id, members in graph_sandbox.state.unit_members.items()
        }
        _, latest_link = _round(client, f"{UNITS}/delta?$deltatoken=latest")
        made = client.post(UNITS, json={"displayName": "Delta unit"}).json()
        doomed = client.post(UNITS, json={"displayName": "Short-lived"}).json()
        existing = next(unit["id"] for unit in first)
        client.patch(f"{UNITS}/{existing}", json={"description": "Changed between rounds"})
        joiner = next(u for u in graph_sandbox.state.users if u not in unit_members(existing))
        leaver = unit_members(existing)[0]
        client.post(
            f"{UNITS}/{existing}/members/$ref",
            json={"@odata.id": f"{graph_sandbox.info.graph_base}/directoryObjects/{joiner}"},
        )
        client.delete(f"{UNITS}/{existing}/members/{leaver}/$ref")
        client.delete(f"{UNITS}/{doomed['id']}")
        second, next_link = _round(client, link)
        from_latest, _ = _round(client, latest_link)
        third, _ = _round(client, next_link)
    assert {unit["id"] for unit in first} >= set(graph_sandbox.state.administrative_units) - {
        made["id"]
    }
    assert "/directory/administrativeUnits/delta?$deltatoken=" in link
    by_id = {item["id"]: item for item in second}
    assert set(by_id) == {made["id"], existing, doomed["id"]}
    assert by_id[made["id"]]["displayName"] == "Delta unit"
    assert by_id[existing]["description"] == "Changed between rounds"
    assert by_id[existing]["members@delta"] == [
        {"@odata.type": "#microsoft.graph.user", "id": joiner},
        {"@odata.type": "#microsoft.graph.user", "id": leaver, "@removed": {"reason": "deleted"}},
    ]
    for unit in first:
        assert {m["id"] for m in unit["members@delta"]} == held[unit["id"]]
    # A deleted unit is soft deleted and restorable for 30 days ("Recover from deletions",
    # https://learn.microsoft.com/entra/architecture/recover-from-deletions), so delta says
    # "changed" ("Use delta query to track changes": "deleted" means gone for good).
    assert by_id[doomed["id"]]["@removed"] == {"reason": "changed"}
    assert {item["id"] for item in from_latest} == set(by_id)
    assert third == []


def test_application_and_service_principal_delta(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as client:
        apps, app_link = _round(client, "/applications/delta")
        principals, sp_link = _round(client, "/servicePrincipals/delta")
        app = client.post("/applications", json={"displayName": "Delta app"}).json()
        principal = client.post("/servicePrincipals", json={"appId": app["appId"]}).json()
        client.patch(f"/applications/{app['id']}", json={"notes": "between rounds"})
        app_changes, _ = _round(client, app_link)
        sp_changes, sp_next = _round(client, sp_link)
        client.delete(f"/servicePrincipals/{principal['id']}")
        client.delete(f"/applications/{app['id']}")
        sp_removed, _ = _round(client, sp_next)
        stale = client.get(app_link.replace("$deltatoken=", "$deltatoken=x"))
    assert {a["id"] for a in apps} == set(graph_sandbox.state.application_objects) - {app["id"]}
    assert {p["id"] for p in principals} >= {
        p_id for p_id in graph_sandbox.state.service_principals if p_id != principal["id"]
    }
    assert [(a["id"], a["notes"]) for a in app_changes] == [(app["id"], "between rounds")]
    assert [p["id"] for p in sp_changes] == [principal["id"]]
    # a service principal goes to deletedItems: removed from the collection, restorable
    assert sp_removed == [{"id": principal["id"], "@removed": {"reason": "changed"}}]
    assert stale.status_code == 410


def test_directory_role_delta_sees_an_activated_role(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as client:
        roles, link = _round(client, "/directoryRoles/delta")
        activated = client.post("/directoryRoles", json={"roleTemplateId": USER_ADMINISTRATOR})
        changes, _ = _round(client, link)
    assert activated.status_code == 201, activated.text
    assert {role["id"] for role in roles} | {activated.json()["id"]} == set(
        graph_sandbox.state.directory_roles
    )
    assert [role["roleTemplateId"] for role in changes] == [USER_ADMINISTRATOR]


def test_a_deleted_user_leaves_its_units(graph_sandbox: RunningSandbox) -> None:
    state = graph_sandbox.state
    unit_id, members = next((u, m) for u, m in state.unit_members.items() if len(m) > 1)
    leaver = members[-1]
    with graph_sandbox.client() as client:
        _, link = _round(client, f"{UNITS}/delta")
        assert client.delete(f"/users/{leaver}").status_code == 204
        listed = client.get(f"{UNITS}/{unit_id}/members", params={"$top": "999"}).json()["value"]
        changes, _ = _round(client, link)
    assert leaver not in {member["id"] for member in listed}
    changed = next(item for item in changes if item["id"] == unit_id)
    assert changed["members@delta"] == [
        {"@odata.type": "#microsoft.graph.user", "id": leaver, "@removed": {"reason": "deleted"}}
    ]
