"""The realistic tenant generator (``SeedOptions(realistic=True)``), read back through Graph as a
person inspecting the tenant would: a reporting tree, groups of every kind with nested
membership, apps with credentials and consent, conditional access referring to named locations,
groups and roles, role and PIM assignments, soft-deleted items — the same for the same seed, and
every entity valid against Microsoft's CSDL."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dirguard_sandbox.first_party_apps import GRAPH_COMMAND_LINE_TOOLS_APP_ID, RESOURCE_APPS
from dirguard_sandbox.role_catalog import ROLES_BY_TEMPLATE
from dirguard_sandbox.seed_data import SeedOptions, generate_tenant
from dirguard_sandbox.server import BackgroundSandbox
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.test_fidelity import _problems

CA = "/identity/conditionalAccess"


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    state = generate_tenant(SeedOptions(users=400, seed=9, realistic=True))
    server = BackgroundSandbox(state, Path(tmp_path_factory.mktemp("realistic")), throttling=False)
    server.start()
    try:
        yield RunningSandbox(info=server.info, state=server.state)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def graph(tenant: RunningSandbox) -> Iterator[httpx.Client]:
    with tenant.client(read_only=True) as client:
        yield client


def _get(graph: httpx.Client, path: str, **params: str) -> Any:
    answer = graph.get(path, params=params)
    assert answer.status_code == 200, f"{path}: {answer.text}"
    return answer.json()


def _all(graph: httpx.Client, path: str) -> list[dict[str, Any]]:
    return list(_get(graph, path, **{"$top": "999"})["value"])


def _timeless(value: Any) -> Any:
    """``value`` without its timestamps (two generations can straddle a second)."""
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items() if not k.endswith("DateTime")}
    if isinstance(value, list):
        return [_timeless(item) for item in value]
    return value


def test_the_same_seed_gives_the_same_tenant() -> None:
    first, second = (
        generate_tenant(SeedOptions(users=120, seed=4, realistic=True)) for _ in range(2)
    )
    for table in ("users", "groups", "service_principals", "members"):
        assert _timeless(getattr(first, table)) == _timeless(getattr(second, table)), table
    # Applications differ only in the ready apps' secrets, which are random on purpose.
    assert {i: a["appId"] for i, a in first.application_objects.items()} == {
        i: a["appId"] for i, a in second.application_objects.items()
    }
    assert first.managers == second.managers
    assert _timeless(first.policies) == _timeless(second.policies)
    assert list(first.role_schedules) == list(second.role_schedules)
    other = generate_tenant(SeedOptions(users=120, seed=5, realistic=True))
    assert set(other.users).isdisjoint(first.users)


def test_people_report_up_a_tree_to_the_administrator(
    tenant: RunningSandbox, graph: httpx.Client
) -> None:
    admin = tenant.info.admin_user_principal_name
    heads = _all(graph, f"/users/{admin}/directReports")
    departments = {
        _get(graph, f"/users/{head['id']}", **{"$select": "department"})["department"]
        for head in heads
    }
    assert len(departments) == len(heads) == 6
    chain = [list(tenant.state.users)[-1]]
    while (answer := graph.get(f"/users/{chain[-1]}/manager")).status_code == 200:
        assert answer.json()["@odata.type"] == "#microsoft.graph.user"
        chain.append(answer.json()["id"])
        assert len(chain) < 10, "the tree is a few levels deep, without loops"
    assert answer.status_code == 404
    assert len(chain) >= 3
    assert _get(graph, f"/users/{chain[-1]}")["userPrincipalName"] == admin


def test_groups_of_every_kind_with_nested_membership(graph: httpx.Client) -> None:
    groups = _all(graph, "/groups")
    unified = [g for g in groups if "Unified" in g["groupTypes"]]
    dynamic = [g for g in groups if "DynamicMembership" in g["groupTypes"]]
    distribution = [
        g for g in groups if g["mailEnabled"] and not g["securityEnabled"] and not g["groupTypes"]
    ]
    mail_security = [g for g in groups if g["mailEnabled"] and g["securityEnabled"]]
    security = [g for g in groups if not g["mailEnabled"] and g["securityEnabled"]]
    assignable = [g for g in groups if g["isAssignableToRole"]]
    assert unified and dynamic and distribution and mail_security and security and assignable
    assert dynamic[0]["membershipRule"] and dynamic[0]["membershipRuleProcessingState"] == "On"
    nested = {
        group["displayName"]: [
            m["@odata.type"] for m in _all(graph, f"/groups/{group['id']}/members")
        ]
        for group in groups
        if group["displayName"] in {"EMEA Staff", "Company Announcements"}
    }
    assert set(nested) == {"EMEA Staff", "Company Announcements"}
    assert all(kinds and set(kinds) == {"#microsoft.graph.group"} for kinds in nested.values())


def test_apps_hold_permissions_credentials_and_consent(graph: httpx.Client) -> None:
    apps = [
        a for a in _all(graph, "/applications") if a["displayName"].startswith("Line-of-business")
    ]
    assert len(apps) >= 6
    now = datetime.datetime.now(datetime.UTC)
    ends = [
        datetime.datetime.fromisoformat(c["endDateTime"])
        for app in apps
        for c in app["passwordCredentials"]
    ]
    assert any(end < now for end in ends), "an expired secret"
    assert any(now < end < now + datetime.timedelta(days=30) for end in ends), "one expiring soon"
    assert all(app["requiredResourceAccess"] for app in apps)
    principal = _get(graph, f"/servicePrincipals(appId='{apps[0]['appId']}')")
    assert _all(graph, f"/servicePrincipals/{principal['id']}/appRoleAssignments")
    grants = _all(graph, f"/servicePrincipals/{principal['id']}/oauth2PermissionGrants")
    assert grants and grants[0]["consentType"] == "AllPrincipals"


def test_conditional_access_refers_to_real_locations_groups_and_roles(
    graph: httpx.Client,
) -> None:
    assert not _get(graph, "/policies/identitySecurityDefaultsEnforcementPolicy")["isEnabled"]
    policies = _all(graph, f"{CA}/policies")
    assert {p["state"] for p in policies} == {
        "enabled",
        "disabled",
        "enabledForReportingButNotEnforced",
    }
    locations, groups, roles = set(), set(), set()
    for policy in policies:
        where = policy["conditions"]["locations"] or {}
        locations |= {
            item
            for item in where.get("includeLocations", []) + where.get("excludeLocations", [])
            if item not in {"All", "AllTrusted"}
        }
        users = policy["conditions"]["users"]
        groups |= set(users["includeGroups"] + users["excludeGroups"])
        roles |= set(users["includeRoles"])
    assert locations and groups and roles
    for location in locations:
        _get(graph, f"{CA}/namedLocations/{location}")
    for group in groups:
        _get(graph, f"/groups/{group}")
    assert roles <= set(ROLES_BY_TEMPLATE)


def test_role_and_pim_assignments(tenant: RunningSandbox, graph: httpx.Client) -> None:
    assignments = _all(graph, "/roleManagement/directory/roleAssignments")
    assignable = next(g for g, group in tenant.state.groups.items() if group["isAssignableToRole"])
    assert assignable in {a["principalId"] for a in assignments}
    assert len({a["roleDefinitionId"] for a in assignments}) >= 4
    eligible = _all(graph, "/roleManagement/directory/roleEligibilitySchedules")
    assert len(eligible) == 2
    for schedule in eligible:
        _get(graph, f"/users/{schedule['principalId']}")
        assert schedule["roleDefinitionId"] in ROLES_BY_TEMPLATE
    requests = _all(graph, "/roleManagement/directory/roleEligibilityScheduleRequests")
    assert {r["targetScheduleId"] for r in requests} == {s["id"] for s in eligible}


def test_soft_deleted_users_and_group_can_be_listed(graph: httpx.Client) -> None:
    users = _all(graph, "/directory/deletedItems/microsoft.graph.user")
    groups = _all(graph, "/directory/deletedItems/microsoft.graph.group")
    assert len(users) == 2 and len(groups) == 1
    assert all(item["deletedDateTime"] for item in users + groups)


def test_every_generated_entity_is_valid_against_the_csdl(graph: httpx.Client) -> None:
    collections = {
        "/groups": "group",
        f"{CA}/policies": "conditionalAccessPolicy",
        f"{CA}/namedLocations": "namedLocation",
        "/applications": "application",
        "/servicePrincipals": "servicePrincipal",
        "/oauth2PermissionGrants": "oAuth2PermissionGrant",
        "/roleManagement/directory/roleEligibilitySchedules": "unifiedRoleEligibilitySchedule",
        "/roleManagement/directory/roleEligibilityScheduleRequests": (
            "unifiedRoleEligibilityScheduleRequest"
        ),
        "/directory/deletedItems/microsoft.graph.user": "user",
    }
    problems = []
    for path, type_name in collections.items():
        for item in _all(graph, path):
            problems += _problems(item, f"microsoft.graph.{type_name}", path)
    assert sorted(set(problems)) == []


def test_the_lived_in_tenant_also_has_microsofts_apps_and_the_device_code_client(
    tenant: RunningSandbox, graph: httpx.Client
) -> None:
    """One tenant for connection set-up and for capture: Microsoft's first-party service
    principals, the Microsoft Graph Command Line Tools device-code client the administrator signs
    in through, an Azure subscription, and data and audit history."""
    app_ids = {sp["appId"] for sp in graph.get("/servicePrincipals?$top=999").json()["value"]}
    assert {app.app_id for app in RESOURCE_APPS} | {GRAPH_COMMAND_LINE_TOOLS_APP_ID} <= app_ids
    info = tenant.info
    base = f"{info.login_base}/{info.tenant_id}/oauth2/v2.0"
    verify = tenant.tls()
    flow = httpx.post(
        f"{base}/devicecode",
        data={
            "client_id": GRAPH_COMMAND_LINE_TOOLS_APP_ID,
            "scope": "https://graph.microsoft.com/AuditLog.Read.All",
        },
        verify=verify,
    ).json()
    approved = httpx.post(
        f"{info.login_base}/devicelogin",
        data={
            "user_code": flow["user_code"],
            "username": info.admin_user_principal_name,
            "password": info.admin_password,
        },
        verify=verify,
    )
    assert "You have signed in" in approved.text
    token = httpx.post(
        f"{base}/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": GRAPH_COMMAND_LINE_TOOLS_APP_ID,
            "device_code": flow["device_code"],
        },
        verify=verify,
    )
    assert token.status_code == 200, token.text
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    with httpx.Client(base_url=info.graph_base, verify=verify, headers=headers) as admin:
        audits = admin.get("/auditLogs/directoryAudits").json()["value"]
    assert len(audits) >= 20
    assert len(tenant.state.groups) > 10 and tenant.state.subscriptions


def test_graph_permissions_carry_microsofts_published_ids(graph: httpx.Client) -> None:
    """Microsoft Graph permissions reference (https://learn.microsoft.com/graph/permissions-reference):
    a few application permissions' ids, which clients may have hard-coded."""
    graph_sp = graph.get("/servicePrincipals(appId='00000003-0000-0000-c000-000000000000')")
    roles = {role["value"]: role["id"] for role in graph_sp.json()["appRoles"]}
    assert roles["Device.Read.All"] == "7438b122-aefc-4978-80ed-43db9fcc7715"
    assert roles["Reports.Read.All"] == "230c1aed-a721-4c5d-9cb4-a90514e508ef"
    assert roles["RoleEligibilitySchedule.Read.Directory"] == "ff278e11-4a33-4d0c-83d2-d01dc58929a5"
    assert roles["RoleManagementPolicy.Read.Directory"] == "fdc4c997-9942-4479-bfcb-75a36d1138df"
    assert len(set(roles.values())) == len(roles)
