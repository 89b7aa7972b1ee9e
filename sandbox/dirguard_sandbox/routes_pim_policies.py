"""``/policies/roleManagementPolicies`` and ``/policies/roleManagementPolicyAssignments``: the
PIM settings of each built-in directory role, read with the ``$filter`` Graph requires.

"List roleManagementPolicyAssignments"
(https://learn.microsoft.com/graph/api/policyroot-list-rolemanagementpolicyassignments) and "List
roleManagementPolicies" (https://learn.microsoft.com/graph/api/policyroot-list-rolemanagementpolicies):
the request must filter on ``scopeId eq '/'`` and ``scopeType eq 'DirectoryRole'`` (or
``'Directory'``), may add ``roleDefinitionId eq '…'`` (assignments), and may ``$expand=policy`` or
``policy($expand=rules)`` (assignments) and ``rules`` (policies). Ids follow the documented form
``DirectoryRole_{tenantId}_{policyGuid}`` and ``…_{roleDefinitionId}``. Each role's rules are the
page's example defaults: eligibility up to a year, active assignment up to 180 days, activation up
to 8 hours with MFA and justification, no approval (the notification rules are left out).
"""

from __future__ import annotations

import re
import uuid

from starlette.responses import Response

from dirguard_sandbox.directory_state import DirectoryState, Json
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles
from dirguard_sandbox.role_catalog import BUILT_IN_ROLES

_POLICIES = "/policies/roleManagementPolicies"
_ASSIGNMENTS = "/policies/roleManagementPolicyAssignments"
_CLAUSE = re.compile(r"\s*(scopeId|scopeType|roleDefinitionId)\s+eq\s+'([^']*)'\s*")
_SCOPE_TYPES = ("DirectoryRole", "Directory")


def _target(caller: str, level: str) -> Json:
    return {
        "caller": caller,
        "operations": ["all"],
        "level": level,
        "inheritableSettings": [],
        "enforcedSettings": [],
    }


def _expiration(rule_id: str, required: bool, maximum: str, caller: str, level: str) -> Json:
    return {
        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyExpirationRule",
        "id": rule_id,
        "isExpirationRequired": required,
        "maximumDuration": maximum,
        "target": _target(caller, level),
    }


def _enablement(rule_id: str, enabled: list[str], caller: str, level: str) -> Json:
    return {
        "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyEnablementRule",
        "id": rule_id,
        "enabledRules": enabled,
        "target": _target(caller, level),
    }


def default_rules() -> list[Json]:
    return [
        _expiration("Expiration_Admin_Eligibility", False, "P365D", "Admin", "Eligibility"),
        _enablement("Enablement_Admin_Eligibility", [], "Admin", "Eligibility"),
        _expiration("Expiration_Admin_Assignment", False, "P180D", "Admin", "Assignment"),
        _enablement("Enablement_Admin_Assignment", ["Justification"], "Admin", "Assignment"),
        _expiration("Expiration_EndUser_Assignment", True, "PT8H", "EndUser", "Assignment"),
        _enablement(
            "Enablement_EndUser_Assignment",
            ["MultiFactorAuthentication", "Justification"],
            "EndUser",
            "Assignment",
        ),
        {
            "@odata.type": "#microsoft.graph.unifiedRoleManagementPolicyApprovalRule",
            "id": "Approval_EndUser_Assignment",
            "setting": {
                "isApprovalRequired": False,
                "isApprovalRequiredForExtension": False,
                "isRequestorJustificationRequired": True,
                "approvalMode": "SingleStage",
                "approvalStages": [],
            },
            "target": _target("EndUser", "Assignment"),
        },
    ]


def _policy_guid(state: DirectoryState, template_id: str) -> str:
    return str(uuid.uuid5(uuid.UUID(state.tenant_id), f"pim-policy-{template_id}"))


def _policies(state: DirectoryState) -> list[tuple[Json, Json]]:
    """Each built-in role's (policy, policy assignment), the same ids for the same tenant."""
    pairs = []
    for role in BUILT_IN_ROLES:
        policy_id = f"DirectoryRole_{state.tenant_id}_{_policy_guid(state, role.template_id)}"
        policy: Json = {
            "id": policy_id,
            "displayName": "DirectoryRole",
            "description": "DirectoryRole",
            "isOrganizationDefault": False,
            "scopeId": "/",
            "scopeType": "DirectoryRole",
            "lastModifiedDateTime": None,
            "lastModifiedBy": {"displayName": None, "id": None},
        }
        assignment: Json = {
            "id": f"{policy_id}_{role.template_id}",
            "policyId": policy_id,
            "scopeId": "/",
            "scopeType": "DirectoryRole",
            "roleDefinitionId": role.template_id,
        }
        pairs.append((policy, assignment))
    return pairs


def _scope_filter(call: Call, allowed: tuple[str, ...]) -> dict[str, str]:
    """The ``$filter`` clauses, which must scope the request to the tenant's directory roles."""
    text = call.request.query_params.get("$filter")
    required = "$filter=scopeId eq '/' and scopeType eq 'DirectoryRole'"
    if text is None:
        raise bad_request(f"The request must be scoped: add {required}.", code="BadRequest")
    clauses: dict[str, str] = {}
    for part in re.split(r"\s+and\s+", text.strip()):
        match = _CLAUSE.fullmatch(part)
        if match is None or match.group(1) not in allowed:
            raise bad_request(
                f"Unsupported filter clause '{part.strip()}': filter with "
                f"{', '.join(allowed)} and 'eq'.",
                code="BadRequest",
            )
        clauses[match.group(1)] = match.group(2)
    if clauses.get("scopeId") != "/" or clauses.get("scopeType") not in _SCOPE_TYPES:
        raise bad_request(f"The request must be scoped: add {required}.", code="BadRequest")
    return clauses


def _expanded_policy(policy: Json, with_rules: bool) -> Json:
    return {**policy, "rules": default_rules()} if with_rules else dict(policy)


def _expand_of(call: Call, allowed: dict[str, bool]) -> bool | None:
    """None without ``$expand``; else whether the rules are asked for too."""
    expand = call.request.query_params.get("$expand")
    if expand is None:
        return None
    expand = expand.replace(" ", "")
    if expand not in allowed:
        raise bad_request(
            f"Could not find a navigation property named '{expand}' that can be expanded; "
            f"use {' or '.join(allowed)}.",
            code="BadRequest",
        )
    return allowed[expand]


@handles("GET", _POLICIES)
async def list_policies(call: Call) -> Response:
    _scope_filter(call, ("scopeId", "scopeType"))
    rules = _expand_of(call, {"rules": True})
    value = [_expanded_policy(policy, bool(rules)) for policy, _ in _policies(call.state)]
    context = f"{call.graph_base}/$metadata#policies/roleManagementPolicies"
    return graph_json({"@odata.context": context, "value": value})


def _policy(call: Call) -> Json:
    wanted = call.param("unifiedRoleManagementPolicy_id")
    for policy, _ in _policies(call.state):
        if policy["id"] == wanted:
            return policy
    raise not_found(wanted)


@handles("GET", f"{_POLICIES}/{{unifiedRoleManagementPolicy-id}}")
async def get_policy(call: Call) -> Response:
    policy = _expanded_policy(_policy(call), bool(_expand_of(call, {"rules": True})))
    context = f"{call.graph_base}/$metadata#policies/roleManagementPolicies/$entity"
    return graph_json({"@odata.context": context, **policy})


@handles("GET", f"{_POLICIES}/{{unifiedRoleManagementPolicy-id}}/rules")
async def list_policy_rules(call: Call) -> Response:
    policy = _policy(call)
    context = f"{call.graph_base}/$metadata#policies/roleManagementPolicies('{policy['id']}')/rules"
    return graph_json({"@odata.context": context, "value": default_rules()})


_ASSIGNMENT_EXPANDS = {"policy": False, "policy($expand=rules)": True}


def _with_policy(call: Call, assignment: Json, policy: Json) -> Json:
    expand = _expand_of(call, _ASSIGNMENT_EXPANDS)
    if expand is None:
        return dict(assignment)
    return {**assignment, "policy": _expanded_policy(policy, expand)}


@handles("GET", _ASSIGNMENTS)
async def list_policy_assignments(call: Call) -> Response:
    clauses = _scope_filter(call, ("scopeId", "scopeType", "roleDefinitionId"))
    wanted_role = clauses.get("roleDefinitionId")
    value = [
        _with_policy(call, assignment, policy)
        for policy, assignment in _policies(call.state)
        if wanted_role is None or assignment["roleDefinitionId"] == wanted_role
    ]
    context = f"{call.graph_base}/$metadata#policies/roleManagementPolicyAssignments"
    return graph_json({"@odata.context": context, "value": value})


@handles("GET", f"{_ASSIGNMENTS}/{{unifiedRoleManagementPolicyAssignment-id}}")
async def get_policy_assignment(call: Call) -> Response:
    wanted = call.param("unifiedRoleManagementPolicyAssignment_id")
    for policy, assignment in _policies(call.state):
        if assignment["id"] == wanted:
            context = (
                f"{call.graph_base}/$metadata#policies/roleManagementPolicyAssignments/$entity"
            )
            return graph_json({"@odata.context": context, **_with_policy(call, assignment, policy)})
    raise not_found(wanted)
