"""Every Graph row of the catalog against the sandbox: its collection answers its declared
``$select`` (each selected property in each object), its delta function answers the same
``$select`` (and ``members@delta`` for a link read by delta), each link read by relationship
answers, and msgraph-sdk parses each object it answers with nothing unknown; and the write-body
builders' requests, sent as they are, make objects that read back equal to what was asked
(read-only and volatile fields aside): creation anew with an id map (a conditional access
policy naming a re-created named location gets its new id), PATCH of changed fields, link
writes by ``$ref``, and removal."""

from __future__ import annotations

import importlib
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from dirguard.catalog.graph_rules import LinkRead
from dirguard.catalog.resource_type import GraphSource, ResourceType
from dirguard.providers.entra.create_bodies import create_request, remove_request
from dirguard.providers.entra.write_bodies import GraphRequest, item_path, link_ids, patch_plan
from dirguard.providers.registry import RESOURCE_TYPES
from tests.fixtures.graph_sandbox import InProcessTenant

READ = [
    t
    for t in RESOURCE_TYPES.values()
    if isinstance(t.source, GraphSource)
    and t.source.app_only
    and t.provider == "entra"
    and not t.key.startswith("intune.")  # the sandbox serves no Intune (deviceManagement)
]


def sdk_model(entity: str) -> Callable[[dict[str, Any]], Any]:
    """Parses a JSON object with ``msgraph-sdk``'s model of ``entity`` (its derived type by
    ``@odata.type``)."""
    pytest.importorskip("msgraph")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from kiota_serialization_json.json_parse_node import JsonParseNode

        module = re.sub(r"(?<!^)(?=[A-Z])", "_", entity).lower()
        models = importlib.import_module(f"msgraph.generated.models.{module}")
    model = getattr(models, entity[0].upper() + entity[1:])
    return lambda data: JsonParseNode(data).get_object_value(model)


def src(resource_type: ResourceType) -> GraphSource:
    assert isinstance(resource_type.source, GraphSource)
    return resource_type.source


class Graph:
    def __init__(self, tenant: InProcessTenant) -> None:
        self.tenant = tenant
        self.base = "https://graph.microsoft.com/v1.0"

    def send(self, request: GraphRequest, new_id: str | None = None) -> Any:
        path = request.path.replace("{id}", new_id) if new_id else request.path
        answer = self.tenant.http.request(
            request.method, f"/v1.0/{path}", json=request.body, headers=self.tenant.headers()
        )
        assert answer.status_code < 300, f"{request.method} {path}: {answer.text}"
        return answer.json() if answer.content else None

    def get(self, path: str) -> Any:
        answer = self.tenant.http.get(f"/v1.0/{path}", headers=self.tenant.headers())
        assert answer.status_code == 200, f"GET {path}: {answer.text}"
        return answer.json()

    def first(self, resource_type: ResourceType) -> dict[str, Any]:
        source = src(resource_type)
        if source.singleton:
            return dict(self.get(source.collection))
        value = self.get(self.collection(resource_type))["value"]
        assert value, f"the sandbox tenant holds no {resource_type.title}"
        return dict(value[0])

    def collection(self, resource_type: ResourceType) -> str:
        source = src(resource_type)
        if source.parent is None:
            return source.collection
        parents = self.get(src(RESOURCE_TYPES[source.parent]).collection)["value"]
        for parent in parents:
            path = source.collection.replace("{parent}", parent["id"])
            if self.get(path)["value"]:
                return path
        raise AssertionError(f"no {source.parent} holds a {resource_type.title}")


@pytest.fixture
def graph(inprocess_tenant: Callable[..., InProcessTenant]) -> Iterator[Graph]:
    yield Graph(inprocess_tenant(users=6, throttling=False))


@pytest.mark.parametrize("resource_type", READ, ids=lambda t: t.key)
def test_the_declared_reads_answer(resource_type: ResourceType, graph: Graph) -> None:
    source = src(resource_type)
    select = f"?$select={','.join(source.select)}" if source.select else ""
    if source.singleton:
        objects = [graph.get(f"{source.collection}{select}")]
    else:
        objects = graph.get(f"{graph.collection(resource_type)}{select}")["value"]
    for item in objects:
        assert set(source.select) <= set(item), sorted(set(source.select) - set(item))
    for item in objects[:3]:
        plain = {k: v for k, v in item.items() if not k.startswith("@odata.context")}
        parsed = sdk_model(source.entity)(plain)
        assert parsed.additional_data == {}, f"msgraph-sdk does not know {parsed.additional_data}"
    if source.delta is not None:
        links = [link.field for link in source.links if link.read is LinkRead.DELTA]
        names = ",".join((*source.select, *links))
        page = graph.get(f"{source.delta}?$select={names}")
        while "@odata.nextLink" in page:
            page = graph.get(page["@odata.nextLink"].split("/v1.0/", 1)[1])
        assert "@odata.deltaLink" in page
    for link in source.links:
        if link.read is LinkRead.RELATIONSHIP and objects:
            path = f"{item_path(resource_type, objects[0])}/{link.path}"
            answer = graph.tenant.http.get(f"/v1.0/{path}", headers=graph.tenant.headers())
            assert answer.status_code == 200 or (link.single and answer.status_code == 404), path


def _holds(read: Any, asked: Any) -> bool:
    """``read`` holds what was ``asked`` (Graph fills in a complex value's other members)."""
    if isinstance(asked, dict):
        return isinstance(read, dict) and all(_holds(read.get(k), v) for k, v in asked.items())
    return bool(read == asked)


def _same(resource_type: ResourceType, asked: dict[str, Any], read: dict[str, Any]) -> None:
    """Each field asked for reads back the same (unordered ones as sets)."""
    for name, value in asked.items():
        if "@" in name or name in resource_type.volatile_fields:
            continue
        got = resource_type.significant({name: read.get(name)})[name]
        assert _holds(got, resource_type.significant({name: value})[name]), name


def _create(graph: Graph, key: str, stored: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    resource_type = RESOURCE_TYPES[key]
    made = create_request(resource_type, stored, ids, graph_base=graph.base)
    body = dict(made.request.body or {})
    if "passwordProfile" in made.generated:
        body["passwordProfile"] = {
            "password": "Re-created-1!",
            "forceChangePasswordNextSignIn": True,
        }
    created = graph.send(GraphRequest(method="POST", path=made.request.path, body=body))
    for request in made.after:
        graph.send(request, created["id"])
    read = graph.get(item_path(resource_type, created))
    asked = {k: v for k, v in body.items() if k not in made.generated}
    if made.request.body is not None and "action" not in made.request.body:
        _same(resource_type, asked, read)
    return dict(read)


def test_a_policy_and_its_location_are_created_anew_with_the_new_id(graph: Graph) -> None:
    location = RESOURCE_TYPES["entra.named_location"]
    stored_location = {
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "id": "4d5e6f7a-8b9c-4d0e-1f2a-3b4c5d6e7f8a",
        "displayName": "Lyon office",
        "isTrusted": True,
        "ipRanges": [
            {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"}
        ],
        "createdDateTime": "2026-01-01T00:00:00Z",
        "modifiedDateTime": "2026-01-01T00:00:00Z",
    }
    new_location = _create(graph, location.key, stored_location, {})
    assert new_location["id"] != stored_location["id"]
    user = graph.first(RESOURCE_TYPES["entra.user"])
    stored_policy = {
        "id": "3c4d5e6f-7a8b-4c9d-0e1f-2a3b4c5d6e7f",
        "displayName": "Block outside Lyon",
        "state": "enabledForReportingButNotEnforced",
        "createdDateTime": "2026-01-01T00:00:00Z",
        "modifiedDateTime": "2026-01-02T00:00:00Z",
        "conditions": {
            "clientAppTypes": ["all"],
            "applications": {"includeApplications": ["All"]},
            "users": {"includeUsers": ["All"], "excludeUsers": [user["id"]]},
            "locations": {"includeLocations": ["All"], "excludeLocations": [stored_location["id"]]},
        },
        "grantControls": {"operator": "OR", "builtInControls": ["block"]},
    }
    ids = {stored_location["id"]: new_location["id"]}
    policy = _create(graph, "entra.conditional_access_policy", stored_policy, ids)
    assert policy["conditions"]["locations"]["excludeLocations"] == [new_location["id"]]
    assert policy["conditions"]["users"]["excludeUsers"] == [user["id"]]
    gone = remove_request(RESOURCE_TYPES["entra.conditional_access_policy"], policy)
    graph.send(gone)


def test_a_group_is_created_anew_with_its_members_and_patched_back(graph: Graph) -> None:
    group_type = RESOURCE_TYPES["entra.group"]
    users = graph.get("users")["value"][:3]
    stored = {
        "id": "0f9e8d7c-6b5a-4948-8372-615a4b3c2d1e",
        "displayName": "Finance approvers",
        "description": "Approve invoices",
        "mailEnabled": False,
        "mailNickname": "finance-approvers",
        "securityEnabled": True,
        "groupTypes": [],
        "createdDateTime": "2026-01-01T00:00:00Z",
        "members": [u["id"] for u in users],
        "owners": [users[0]["id"]],
    }
    group = _create(graph, group_type.key, stored, {})
    members = {m["id"] for m in graph.get(f"groups/{group['id']}/members")["value"]}
    assert members == {u["id"] for u in users}
    current = {**group, "members": sorted(members), "owners": [users[0]["id"]]}
    target = {**current, "description": "Approve invoices over 10k", "members": [users[0]["id"]]}
    plan = patch_plan(group_type, target, current, graph_base=graph.base)
    assert not plan.refused
    for request in plan.requests:
        graph.send(request)
    read = graph.get(f"groups/{group['id']}")
    assert read["description"] == "Approve invoices over 10k"
    members = {m["id"] for m in graph.get(f"groups/{group['id']}/members")["value"]}
    assert members == {users[0]["id"]}


def test_a_user_is_patched_back_with_manager_and_licenses(graph: Graph) -> None:
    user_type = RESOURCE_TYPES["entra.user"]
    users = graph.get("users")["value"]
    current = graph.get(f"users/{users[1]['id']}?$select={','.join(src(user_type).select)}")
    current = {k: v for k, v in current.items() if not k.startswith("@")}
    skus = graph.get("subscribedSkus")["value"]
    license = [{"skuId": skus[0]["skuId"], "disabledPlans": []}] if skus else []
    target = {
        **current,
        "jobTitle": "Auditor",
        "accountEnabled": not current["accountEnabled"],
        "manager": users[2]["id"],
        "assignedLicenses": license,
    }
    current = {**current, "manager": None}
    plan = patch_plan(user_type, target, current, graph_base=graph.base)
    assert not plan.refused, plan.refused
    for request in plan.requests:
        graph.send(request)
    read = graph.get(f"users/{users[1]['id']}?$select={','.join(src(user_type).select)}")
    _same(
        user_type, {k: target[k] for k in ("jobTitle", "accountEnabled", "assignedLicenses")}, read
    )
    assert graph.get(f"users/{users[1]['id']}/manager")["id"] == users[2]["id"]


def test_assignments_grants_and_units_are_created_anew(graph: Graph) -> None:
    user = graph.first(RESOURCE_TYPES["entra.user"])
    unit = _create(
        graph,
        "entra.administrative_unit",
        {"id": "x", "displayName": "Lyon", "description": "Lyon staff", "visibility": None},
        {},
    )
    role = _create(
        graph,
        "entra.directory_role_assignment",
        {
            "id": "old",
            "roleDefinitionId": "fe930be7-5e62-47db-91af-98c3a49a38b1",
            "directoryScopeId": "/",
            "principalId": "old-user",
        },
        {"old-user": user["id"]},
    )
    assert role["principalId"] == user["id"] and unit["displayName"] == "Lyon"
    graph.send(remove_request(RESOURCE_TYPES["entra.directory_role_assignment"], role))
    assignment = graph.first(RESOURCE_TYPES["entra.app_role_assignment"])
    resource = assignment["resourceId"]
    graph.send(remove_request(RESOURCE_TYPES["entra.app_role_assignment"], assignment))
    again = _create(graph, "entra.app_role_assignment", assignment, {})
    assert (again["principalId"], again["appRoleId"]) == (
        assignment["principalId"],
        assignment["appRoleId"],
    )
    assert again["resourceId"] == resource


def test_a_pim_eligibility_is_requested_anew_and_removed(graph: Graph) -> None:
    schedule_type = RESOURCE_TYPES["entra.pim_eligible_schedule"]
    user = graph.first(RESOURCE_TYPES["entra.user"])
    stored = {
        "id": "gone",
        "principalId": user["id"],
        "roleDefinitionId": "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "directoryScopeId": "/",
        "memberType": "Direct",
        "status": "Provisioned",
        "scheduleInfo": {
            "startDateTime": "2026-01-01T00:00:00Z",
            "expiration": {"type": "noExpiration"},
        },
    }
    made = create_request(schedule_type, stored)
    graph.send(made.request)
    schedules = graph.get("roleManagement/directory/roleEligibilitySchedules")["value"]
    mine = [s for s in schedules if s["principalId"] == user["id"]]
    assert len(mine) == 1
    assert mine[0]["roleDefinitionId"] == stored["roleDefinitionId"]
    assert mine[0]["scheduleInfo"]["expiration"]["type"] == "noExpiration"
    graph.send(remove_request(schedule_type, mine[0]))
    schedules = graph.get("roleManagement/directory/roleEligibilitySchedules")["value"]
    assert not [s for s in schedules if s["principalId"] == user["id"]]
    assert link_ids(None) == []


def test_a_partner_and_a_delegated_grant_are_created_anew_and_patched(graph: Graph) -> None:
    partner_type = RESOURCE_TYPES["entra.cross_tenant_access_partner"]
    stored = {
        "tenantId": "123f4846-ba00-4fd7-ba43-dac1f8f63013",
        "isInMultiTenantOrganization": False,
        "inboundTrust": {
            "isMfaAccepted": True,
            "isCompliantDeviceAccepted": False,
            "isHybridAzureADJoinedDeviceAccepted": False,
        },
    }
    made = create_request(partner_type, stored)
    assert made.request.body is not None and made.request.body["tenantId"] == stored["tenantId"]
    graph.send(made.request)
    read = graph.get(item_path(partner_type, stored))
    _same(partner_type, {"inboundTrust": stored["inboundTrust"]}, read)
    target = {**read, "inboundTrust": {**stored["inboundTrust"], "isMfaAccepted": False}}
    for request in patch_plan(partner_type, target, read, graph_base=graph.base).requests:
        graph.send(request)
    assert graph.get(item_path(partner_type, stored))["inboundTrust"]["isMfaAccepted"] is False

    grant_type = RESOURCE_TYPES["entra.oauth2_permission_grant"]
    client = graph.first(RESOURCE_TYPES["entra.service_principal"])
    resource = next(
        sp
        for sp in graph.get("servicePrincipals")["value"]
        if sp["appId"] == "00000003-0000-0000-c000-000000000000"
    )
    stored_grant = {
        "id": "gone",
        "clientId": "old-client",
        "consentType": "AllPrincipals",
        "resourceId": resource["id"],
        "scope": "User.Read",
    }
    grant = _create(graph, grant_type.key, stored_grant, {"old-client": client["id"]})
    assert grant["clientId"] == client["id"]
    plan = patch_plan(grant_type, {**grant, "scope": "User.Read Mail.Read"}, grant)
    assert [r.body for r in plan.requests] == [{"scope": "User.Read Mail.Read"}]
    graph.send(plan.requests[0])
    assert graph.get(f"oauth2PermissionGrants/{grant['id']}")["scope"] == "User.Read Mail.Read"
    graph.send(remove_request(grant_type, grant))
