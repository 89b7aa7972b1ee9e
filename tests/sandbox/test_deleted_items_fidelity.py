"""directory/deletedItems and conditional access deletedItems as Microsoft documents them, through
Microsoft's SDK (its own request builders, unmodified) and plain httpx.

- "List deletedItems" (https://learn.microsoft.com/graph/api/directory-deleteditems-list): the
  cast segment, written ``deleteditems/microsoft.graph.user`` on the page and
  ``deletedItems/graph.user`` by msgraph-sdk; administrativeUnit among the types.
- "Recover from deletions" (https://learn.microsoft.com/entra/architecture/recover-from-deletions):
  a restored user keeps "group memberships, roles, licenses, and application assignments"; an
  administrative unit is soft deleted, restorable and not hard-deletable for 30 days.
- "List policyDeletableItem objects", "Restore conditionalAccessPolicy", "Restore namedLocation"
  (https://learn.microsoft.com/graph/api/policydeletableitem-list,
  https://learn.microsoft.com/graph/api/conditionalaccesspolicy-restore,
  https://learn.microsoft.com/graph/api/namedlocation-restore).
"""

from __future__ import annotations

import datetime
import warnings
from typing import Any

import httpx
import pytest

from tests.fixtures.graph_sandbox import RunningSandbox

pytest.importorskip("msgraph", reason="msgraph-sdk is a test dependency ([test] extra)")

from tests.sandbox.sdk_client import Sdk, sdk

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

__all__ = ["sdk"]  # the module's SDK client fixture

pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]
CA = "/identity/conditionalAccess"
UNITS = "/directory/administrativeUnits"
NO_ROLE = "00000000-0000-0000-0000-000000000000"


def _ref(sandbox: RunningSandbox, object_id: str) -> dict[str, str]:
    return {"@odata.id": f"{sandbox.info.graph_base}/directoryObjects/{object_id}"}


def _ok(answer: httpx.Response, status: int = 204) -> httpx.Response:
    assert answer.status_code == status, answer.text
    return answer


def test_sdk_deleted_users_builder_and_the_lower_case_page_form(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    user_id = list(graph_sandbox.state.users)[3]
    with graph_sandbox.client() as client:
        _ok(client.delete(f"/users/{user_id}"))
        listed = sdk.run(sdk.client.directory.deleted_items.graph_user.get())
        assert listed is not None and listed.value is not None
        assert user_id in {user.id for user in listed.value}
        (mine,) = [user for user in listed.value if user.id == user_id]
        assert mine.deleted_date_time is not None
        lower = _ok(client.get("/directory/deleteditems/microsoft.graph.user"), 200).json()
        assert {u["id"] for u in lower["value"]} == {u.id for u in listed.value}
        short = _ok(client.get("/directory/deletedItems/graph.user"), 200).json()
        assert {u["id"] for u in short["value"]} == {u.id for u in listed.value}
        item = _ok(client.get(f"/directory/deleteditems/{user_id}"), 200).json()
        assert item["@odata.type"] == "#microsoft.graph.user"
        _ok(client.post(f"/directory/deleteditems/{user_id}/restore"), 200)
        assert client.get(f"/users/{user_id}").status_code == 200


def _holdings(client: httpx.Client, user_id: str, ids: dict[str, str]) -> dict[str, bool]:
    """Which of the user's memberships and assignments the live directory shows."""
    roles = client.get(
        "/roleManagement/directory/roleAssignments",
        params={"$filter": f"principalId eq '{user_id}'"},
    ).json()["value"]
    assigned_to = client.get(f"/servicePrincipals/{ids['resource']}/appRoleAssignedTo").json()
    group_members = client.get(f"/groups/{ids['group']}/members").json()["value"]
    unit_members = client.get(f"{UNITS}/{ids['unit']}/members").json()["value"]
    return {
        "group": user_id in {m["id"] for m in group_members},
        "unit": user_id in {m["id"] for m in unit_members},
        "role": ids["role"] in {r["id"] for r in roles},
        "app": user_id in {a["principalId"] for a in assigned_to["value"]},
    }


def test_a_restored_user_gets_back_memberships_roles_licenses_and_app_assignments(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    state = graph_sandbox.state
    user_id = list(state.users)[4]
    group_id = next(g for g in state.groups if user_id not in state.members.get(g, []))
    unit_id = next(u for u in state.administrative_units if user_id not in state.unit_members[u])
    resource_id = next(iter(state.service_principals))
    sku_id = next(iter(state.subscribed_skus.values()))["skuId"]
    with graph_sandbox.client() as client:
        _ok(client.post(f"/groups/{group_id}/members/$ref", json=_ref(graph_sandbox, user_id)))
        _ok(client.post(f"{UNITS}/{unit_id}/members/$ref", json=_ref(graph_sandbox, user_id)))
        role = _ok(
            client.post(
                "/roleManagement/directory/roleAssignments",
                json={
                    "principalId": user_id,
                    "roleDefinitionId": "729827e3-9c14-49f7-bb1b-9608f156bbb8",
                    "directoryScopeId": "/",
                },
            ),
            201,
        ).json()
        _ok(
            client.post(
                f"/servicePrincipals/{resource_id}/appRoleAssignedTo",
                json={"principalId": user_id, "resourceId": resource_id, "appRoleId": NO_ROLE},
            ),
            201,
        )
        licensed = client.post(
            f"/users/{user_id}/assignLicense",
            json={"addLicenses": [{"skuId": sku_id, "disabledPlans": []}], "removeLicenses": []},
        )
        assert licensed.status_code == 200, licensed.text
        ids = {"group": group_id, "unit": unit_id, "role": role["id"], "resource": resource_id}
        assert set(_holdings(client, user_id, ids).values()) == {True}
        _ok(client.delete(f"/users/{user_id}"))
        assert set(_holdings(client, user_id, ids).values()) == {False}
        restored = sdk.run(
            sdk.client.directory.deleted_items.by_directory_object_id(user_id).restore.post()
        )
        assert restored is not None and restored.id == user_id
        assert _holdings(client, user_id, ids) == dict.fromkeys(
            ids.keys() - {"resource"} | {"app"}, True
        )
        user = _ok(client.get(f"/users/{user_id}", params={"$select": "assignedLicenses"}), 200)
        assert sku_id in {item["skuId"] for item in user.json()["assignedLicenses"]}


def test_administrative_units_are_soft_deleted_and_restored_with_their_members(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    state = graph_sandbox.state
    unit_id = next(u for u, members in state.unit_members.items() if members)
    members = list(state.unit_members[unit_id])
    with graph_sandbox.client() as client:
        _ok(client.delete(f"{UNITS}/{unit_id}"))
        assert client.get(f"{UNITS}/{unit_id}").status_code == 404
        deleted = sdk.run(sdk.client.directory.deleted_items.graph_administrative_unit.get())
        assert deleted is not None and deleted.value is not None
        assert unit_id in {unit.id for unit in deleted.value}
        purge = client.delete(f"/directory/deletedItems/{unit_id}")
        assert purge.status_code == 400
        assert "cannot be permanently deleted" in purge.json()["error"]["message"]
        read_only = graph_sandbox.client(read_only=True)
        with read_only:
            refused = read_only.post(f"/directory/deletedItems/{unit_id}/restore")
        assert refused.status_code == 403
        _ok(client.post(f"/directory/deletedItems/{unit_id}/restore"), 200)
        back = client.get(f"{UNITS}/{unit_id}/members").json()["value"]
    assert sorted(m["id"] for m in back) == sorted(members)
    audits = [
        a["activityDisplayName"] for a in state.audits if a["targetResources"][0]["id"] == unit_id
    ]
    assert audits[-2:] == ["Delete administrative unit", "Restore administrative unit"]


def _create_policy_and_location(client: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
    location = _ok(
        client.post(
            f"{CA}/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "displayName": "Branch office",
                "ipRanges": [{"cidrAddress": "198.51.100.0/24"}],
            },
        ),
        201,
    ).json()
    policy = _ok(
        client.post(
            f"{CA}/policies",
            json={
                "displayName": "Block outside the branch",
                "state": "enabledForReportingButNotEnforced",
                "conditions": {
                    "users": {"includeUsers": ["All"]},
                    "applications": {"includeApplications": ["All"]},
                    "locations": {
                        "includeLocations": ["All"],
                        "excludeLocations": [location["id"]],
                    },
                },
                "grantControls": {"operator": "OR", "builtInControls": ["block"]},
            },
        ),
        201,
    ).json()
    return policy, location


def test_conditional_access_deleted_items_list_restore_and_purge(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    deleted_items = sdk.client.identity.conditional_access.deleted_items
    with graph_sandbox.client() as client:
        policy, location = _create_policy_and_location(client)
        _ok(client.delete(f"{CA}/policies/{policy['id']}"))
        _ok(client.delete(f"{CA}/namedLocations/{location['id']}"))
        policies = sdk.run(deleted_items.policies.get())
        locations = sdk.run(deleted_items.named_locations.get())
        assert policies is not None and policies.value is not None
        assert locations is not None and locations.value is not None
        (gone,) = [p for p in policies.value if p.id == policy["id"]]
        assert gone.deleted_date_time is not None and gone.display_name == policy["displayName"]
        assert location["id"] in {item.id for item in locations.value}
        # The policy excludes a location that is itself deleted: restore that first.
        with pytest.raises(ODataError) as refused:
            sdk.run(
                deleted_items.policies.by_conditional_access_policy_id(policy["id"]).restore.post()
            )
        assert refused.value.response_status_code == 400
        assert location["id"] in str(refused.value.error.message)  # type: ignore[union-attr]
        back_location = sdk.run(
            deleted_items.named_locations.by_named_location_id(location["id"]).restore.post()
        )
        assert back_location is not None and back_location.id == location["id"]
        back = sdk.run(
            deleted_items.policies.by_conditional_access_policy_id(policy["id"]).restore.post()
        )
        assert back is not None and back.id == policy["id"]
        live = _ok(client.get(f"{CA}/policies/{policy['id']}"), 200).json()
        assert live["state"] == "enabledForReportingButNotEnforced"
        assert live["conditions"]["locations"]["excludeLocations"] == [location["id"]]
        assert "deletedDateTime" not in live
        # Deleted again, then deleted for good.
        _ok(client.delete(f"{CA}/policies/{policy['id']}"))
        _ok(client.delete(f"{CA}/deletedItems/policies/{policy['id']}"))
        assert client.get(f"{CA}/deletedItems/policies/{policy['id']}").status_code == 404
        missing = client.post(f"{CA}/deletedItems/policies/{policy['id']}/restore")
        assert missing.status_code == 404
    activities = [
        entry["activityDisplayName"]
        for entry in graph_sandbox.state.audits
        if entry["targetResources"][0]["id"] == policy["id"]
    ]
    assert activities == [
        "Add conditional access policy",
        "Delete conditional access policy",
        "Restore conditional access policy",
        "Delete conditional access policy",
        "Hard delete conditional access policy",
    ]


def test_deleted_conditional_access_items_expire_after_30_days(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        policy, location = _create_policy_and_location(client)
        _ok(client.delete(f"{CA}/policies/{policy['id']}"))
        _ok(client.get(f"{CA}/deletedItems/policies/{policy['id']}"), 200)
        stored = graph_sandbox.state.policies["deletedConditionalAccessPolicies"][policy["id"]]
        long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=31)
        stored["deletedDateTime"] = long_ago.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert client.get(f"{CA}/deletedItems/policies/{policy['id']}").status_code == 404
        listed = _ok(client.get(f"{CA}/deletedItems/policies"), 200).json()["value"]
        assert policy["id"] not in {item["id"] for item in listed}
        _ok(client.delete(f"{CA}/namedLocations/{location['id']}"))


def test_read_only_app_lists_deleted_policies_but_cannot_restore(
    graph_sandbox: RunningSandbox,
) -> None:
    with graph_sandbox.client() as client:
        policy, location = _create_policy_and_location(client)
        _ok(client.delete(f"{CA}/policies/{policy['id']}"))
    with graph_sandbox.client(read_only=True) as reader:
        _ok(reader.get(f"{CA}/deletedItems/policies"), 200)
        denied = reader.post(f"{CA}/deletedItems/policies/{policy['id']}/restore")
        assert denied.status_code == 403
        assert denied.json()["error"]["code"] == "Authorization_RequestDenied"
    with graph_sandbox.client() as client:
        _ok(client.post(f"{CA}/deletedItems/policies/{policy['id']}/restore"), 200)
        _ok(client.delete(f"{CA}/policies/{policy['id']}"))
        _ok(client.delete(f"{CA}/namedLocations/{location['id']}"))


def test_sdk_reads_one_deleted_item_through_its_type_cast(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    """ "Get deleted item" (https://learn.microsoft.com/graph/api/directory-deleteditems-get):
    ``deletedItems/{id}/graph.user``, as msgraph-sdk's item builder asks for it."""
    user_id = list(graph_sandbox.state.users)[5]
    with graph_sandbox.client() as client:
        _ok(client.delete(f"/users/{user_id}"))
        item = sdk.client.directory.deleted_items.by_directory_object_id(user_id)
        user = sdk.run(item.graph_user.get())
        assert user is not None and user.id == user_id and user.deleted_date_time is not None
        wrong_type = client.get(f"/directory/deletedItems/{user_id}/microsoft.graph.group")
        assert wrong_type.status_code == 404
        _ok(client.post(f"/directory/deletedItems/{user_id}/restore"), 200)
