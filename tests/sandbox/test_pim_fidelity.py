"""Privileged Identity Management as Microsoft documents it, through msgraph-sdk and httpx.

- "List roleAssignmentScheduleInstances"
  (https://learn.microsoft.com/graph/api/rbacapplication-list-roleassignmentscheduleinstances):
  active assignments "include those made through assignments and activation requests, and
  directly through the role assignments API"; least privilege RoleAssignmentSchedule.Read.Directory.
- "List roleManagementPolicyAssignments"
  (https://learn.microsoft.com/graph/api/policyroot-list-rolemanagementpolicyassignments) and
  "List roleManagementPolicies" (https://learn.microsoft.com/graph/api/policyroot-list-rolemanagementpolicies):
  the ``$filter`` on scopeId and scopeType is required; ``$expand=policy($expand=rules)``.
- "List unifiedRoleAssignments" (https://learn.microsoft.com/graph/api/rbacapplication-list-roleassignments):
  ``$expand=principal`` and ``roleDefinition``.
"""

from __future__ import annotations

import warnings

import httpx
import pytest

from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.identity_helpers import register_app

pytest.importorskip("msgraph", reason="msgraph-sdk is a test dependency ([test] extra)")

from tests.sandbox.sdk_client import Sdk, sdk

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.policies.role_management_policy_assignments.role_management_policy_assignments_request_builder import (  # noqa: E501
        RoleManagementPolicyAssignmentsRequestBuilder,
    )
    from msgraph.generated.role_management.directory.role_assignments.role_assignments_request_builder import (  # noqa: E501
        RoleAssignmentsRequestBuilder,
    )

__all__ = ["sdk"]  # the module's SDK client fixture

pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]
RM = "/roleManagement/directory"
SCOPED = "scopeId eq '/' and scopeType eq 'DirectoryRole'"
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"


def test_instances_and_schedules_include_direct_role_assignments(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    state = graph_sandbox.state
    user_ids = list(state.users)
    with graph_sandbox.client() as client:
        for user_id in user_ids[10:14]:
            made = client.post(
                f"{RM}/roleAssignments",
                json={
                    "principalId": user_id,
                    "roleDefinitionId": GLOBAL_READER,
                    "directoryScopeId": "/",
                },
            )
            assert made.status_code == 201, made.text
    direct = list(state.role_assignments.values())
    assert len(direct) >= 4
    directory = sdk.client.role_management.directory
    instances = sdk.run(directory.role_assignment_schedule_instances.get())
    schedules = sdk.run(directory.role_assignment_schedules.get())
    assert instances is not None and instances.value is not None
    assert schedules is not None and schedules.value is not None
    by_principal = {(i.principal_id, i.role_definition_id) for i in instances.value}
    assert {(a["principalId"], a["roleDefinitionId"]) for a in direct} <= by_principal
    assert len(instances.value) == len(direct)
    assert len(schedules.value) == len(direct)
    sample = direct[-1]
    one = sdk.run(
        directory.role_assignment_schedule_instances.by_unified_role_assignment_schedule_instance_id(
            sample["id"]
        ).get()
    )
    assert one is not None
    assert (one.member_type, one.assignment_type) == ("Direct", "Assigned")
    assert one.role_assignment_origin_id == sample["id"] and one.end_date_time is None
    with graph_sandbox.client() as client:
        assert client.delete(f"{RM}/roleAssignments/{sample['id']}").status_code == 204
        after = client.get(f"{RM}/roleAssignmentScheduleInstances").json()["value"]
    assert sample["id"] not in {item["id"] for item in after}


def _policy_assignments(sdk: Sdk, filter_: str, expand: list[str] | None = None) -> list[object]:
    builder = RoleManagementPolicyAssignmentsRequestBuilder
    query = builder.RoleManagementPolicyAssignmentsRequestBuilderGetQueryParameters(
        filter=filter_, expand=expand
    )
    page = sdk.run(
        sdk.client.policies.role_management_policy_assignments.get(
            RequestConfiguration(query_parameters=query)
        )
    )
    assert page is not None and page.value is not None
    return list(page.value)


def test_policy_assignments_with_their_required_filter_and_rules(sdk: Sdk) -> None:
    everything = _policy_assignments(sdk, SCOPED)
    assert len(everything) >= 10
    (helpdesk,) = _policy_assignments(
        sdk, f"{SCOPED} and roleDefinitionId eq '{HELPDESK}'", expand=["policy($expand=rules)"]
    )
    assert helpdesk.role_definition_id == HELPDESK  # type: ignore[attr-defined]
    policy = helpdesk.policy  # type: ignore[attr-defined]
    assert policy.id == helpdesk.policy_id and policy.scope_type == "DirectoryRole"  # type: ignore[attr-defined]
    rules = {rule.id: rule for rule in policy.rules}
    assert rules["Expiration_EndUser_Assignment"].maximum_duration.total_seconds() == 8 * 3600
    assert rules["Expiration_EndUser_Assignment"].is_expiration_required is True
    assert set(rules["Enablement_EndUser_Assignment"].enabled_rules) == {
        "MultiFactorAuthentication",
        "Justification",
    }
    assert rules["Approval_EndUser_Assignment"].setting.is_approval_required is False


def test_policy_reads_refuse_an_unscoped_or_unknown_filter(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as client:
        for path in (
            "/policies/roleManagementPolicies",
            "/policies/roleManagementPolicyAssignments",
        ):
            unscoped = client.get(path)
            assert unscoped.status_code == 400
            assert "scopeType eq 'DirectoryRole'" in unscoped.json()["error"]["message"]
            odd = client.get(path, params={"$filter": f"{SCOPED} and displayName eq 'x'"})
            assert odd.status_code == 400 and "displayName" in odd.json()["error"]["message"]
        policies = client.get("/policies/roleManagementPolicies", params={"$filter": SCOPED})
        assert policies.status_code == 200
        first = policies.json()["value"][0]
        assert "rules" not in first
        rules = client.get(f"/policies/roleManagementPolicies/{first['id']}/rules").json()["value"]
        expanded = client.get(
            f"/policies/roleManagementPolicies/{first['id']}", params={"$expand": "rules"}
        ).json()
        missing = client.get("/policies/roleManagementPolicies/DirectoryRole_x_y")
    assert [r["id"] for r in expanded["rules"]] == [r["id"] for r in rules]
    assert missing.status_code == 404


def test_role_assignments_expand_principal_and_role_definition(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    assignments = sdk.client.role_management.directory.role_assignments
    query = RoleAssignmentsRequestBuilder.RoleAssignmentsRequestBuilderGetQueryParameters(
        expand=["principal"]
    )
    page = sdk.run(assignments.get(RequestConfiguration(query_parameters=query)))
    assert page is not None and page.value
    state = graph_sandbox.state
    for assignment in page.value:
        assert assignment.principal is not None
        assert assignment.principal.id == assignment.principal_id
        expected = state.object_type(assignment.principal_id or "")
        assert assignment.principal.odata_type == expected
    with graph_sandbox.client() as client:
        one = next(iter(state.role_assignments))
        answer = client.get(f"{RM}/roleAssignments/{one}", params={"$expand": "roleDefinition"})
        bad = client.get(f"{RM}/roleAssignments", params={"$expand": "members"})
    assert answer.json()["roleDefinition"]["id"] == state.role_assignments[one]["roleDefinitionId"]
    assert bad.status_code == 400


def _token_for(sandbox: RunningSandbox, *permissions: str) -> httpx.Client:
    with sandbox.client() as admin:
        app, _ = register_app(
            admin, f"PIM least privilege {len(permissions)}", permissions=permissions
        )
        secret = admin.post(f"/applications/{app['id']}/addPassword", json={}).json()["secretText"]
    info = sandbox.info
    token = httpx.post(
        f"{info.login_base}/{info.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app["appId"],
            "client_secret": secret,
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=sandbox.tls(),
    )
    assert token.status_code == 200, token.text
    return httpx.Client(
        base_url=info.graph_base,
        verify=sandbox.tls(),
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    )


def _eligibility(principal: str) -> dict[str, object]:
    return {
        "action": "adminAssign",
        "principalId": principal,
        "roleDefinitionId": HELPDESK,
        "directoryScopeId": "/",
        "scheduleInfo": {"expiration": {"type": "afterDuration", "duration": "P90D"}},
    }


def test_least_privilege_pim_permissions_are_honoured(graph_sandbox: RunningSandbox) -> None:
    principal = list(graph_sandbox.state.users)[15]
    reader = _token_for(
        graph_sandbox,
        "RoleAssignmentSchedule.Read.Directory",
        "RoleEligibilitySchedule.ReadWrite.Directory",
        "RoleManagementPolicy.Read.Directory",
    )
    directory_reader = _token_for(graph_sandbox, "Directory.Read.All")
    with reader, directory_reader:
        assert reader.get(f"{RM}/roleAssignmentScheduleInstances").status_code == 200
        assert reader.get(f"{RM}/roleEligibilitySchedules").status_code == 200
        policies = reader.get(
            "/policies/roleManagementPolicyAssignments", params={"$filter": SCOPED}
        )
        assert policies.status_code == 200
        eligible = reader.post(
            f"{RM}/roleEligibilityScheduleRequests", json=_eligibility(principal)
        )
        assert eligible.status_code == 201, eligible.text
        active = reader.post(f"{RM}/roleAssignmentScheduleRequests", json=_eligibility(principal))
        assert active.status_code == 403
        assert reader.get(f"{RM}/roleAssignments").status_code == 403
        # Directory.Read.All is not among the PIM pages' permissions.
        for path in ("roleAssignmentScheduleInstances", "roleEligibilityScheduleInstances"):
            denied = directory_reader.get(f"{RM}/{path}")
            assert denied.status_code == 403
            assert denied.json()["error"]["code"] == "Authorization_RequestDenied"
        assert directory_reader.get(f"{RM}/roleAssignments").status_code == 200
