"""Directory roles: directoryRoles (activated roles and their members), directoryRoleTemplates,
and roleManagement/directory (roleDefinitions, roleAssignments, and the PIM schedules created by
schedule requests).

``DirectoryState.role_assignments`` is the one record of who holds which role: a directory role's
members, a roleAssignment and a token's ``wids`` are all read from it.
"""

from __future__ import annotations

import base64
import secrets

from starlette.responses import Response

from dirguard_sandbox.directory_state import DirectoryState, Json, new_id
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.identity_answers import (
    audit_change,
    collection_answer,
    directory_object,
    entity_answer,
    require,
    required_fields,
)
from dirguard_sandbox.odata_query import QueryOptions, context_url, list_page, parse_query, project
from dirguard_sandbox.role_catalog import (
    BUILT_IN_ROLES,
    GLOBAL_ADMINISTRATOR,
    ROLES_BY_TEMPLATE,
    role_definition_record,
    role_template_record,
)

_RM = "/roleManagement/directory"
_ASSIGNMENT_TEMPLATE: Json = dict.fromkeys(
    ("id", "principalId", "roleDefinitionId", "directoryScopeId", "appScopeId")
)


def activate_role(state: DirectoryState, template_id: str) -> Json:
    """The directoryRole of a built-in role, activated (created) on first use as Entra does."""
    for role in state.directory_roles.values():
        if role["roleTemplateId"] == template_id:
            return role
    template = ROLES_BY_TEMPLATE[template_id]
    role_id = new_id()
    record: Json = {
        "id": role_id,
        "deletedDateTime": None,
        "description": template.description,
        "displayName": template.display_name,
        "roleTemplateId": template_id,
    }
    state.directory_roles[role_id] = record
    state.bump(role_id)
    return record


def assign_role(state: DirectoryState, principal_id: str, template_id: str) -> Json:
    """Add a tenant-wide role assignment (no audit; callers record one)."""
    if template_id not in ROLES_BY_TEMPLATE:
        raise bad_request(f"The role definition '{template_id}' does not exist.")
    if state.lookup(principal_id) is None:
        raise bad_request(f"The principal '{principal_id}' does not exist in the directory.")
    for existing in state.role_assignments.values():
        if (existing["principalId"], existing["roleDefinitionId"]) == (principal_id, template_id):
            raise bad_request(
                "A conflicting object with one or more of the specified property values is "
                "present in the directory.",
                code="Request_BadRequest",
            )
    role = activate_role(state, template_id)
    token = base64.urlsafe_b64encode(secrets.token_bytes(24)).rstrip(b"=").decode()
    record: Json = {
        "id": f"{token}-1",
        "principalId": principal_id,
        "roleDefinitionId": template_id,
        "directoryScopeId": "/",
        "appScopeId": None,
    }
    state.role_assignments[record["id"]] = record
    state.bump(principal_id)
    state.record_member_change(role["id"], principal_id, added=True)
    return record


def unassign_role(state: DirectoryState, assignment_id: str) -> Json:
    """Remove a role assignment; the role's delta reports the member removed."""
    record = state.role_assignments.pop(assignment_id)
    state.bump(record["principalId"])
    role = activate_role(state, record["roleDefinitionId"])
    state.record_member_change(role["id"], record["principalId"], added=False)
    return role


def directory_role_ids(state: DirectoryState, user_id: str) -> list[str]:
    """The template ids of the roles a user holds directly or through a role-assignable group
    (a signed-in user's ``wids``)."""
    holders = {user_id, *state.groups_of(user_id)}
    return sorted(
        {
            a["roleDefinitionId"]
            for a in state.role_assignments.values()
            if a["principalId"] in holders
        }
    )


def _role_property(name: str, value: str | None, *, added: bool) -> Json:
    text = None if value is None else f'"{value}"'
    return {
        "displayName": name,
        "oldValue": None if added else text,
        "newValue": text if added else None,
    }


def _audit_member(call: Call, role: Json, principal_id: str, *, added: bool) -> None:
    """ "Add member to role" / "Remove member from role" (Core Directory, category
    RoleManagement), the role first and the principal second, as the "Microsoft Entra audit log
    activity reference" lists them
    (https://learn.microsoft.com/entra/identity/monitoring-health/reference-audit-activities).
    The role target's modified properties name the role as Entra logs it: ``Role.ObjectID``,
    ``Role.DisplayName``, ``Role.TemplateId`` and, for the Global Administrator,
    ``Role.WellKnownObjectName`` ``TenantAdmins`` — so an assignment is known by its role
    template and its principal (a directory role's object id differs from its template id)."""
    principal = call.state.lookup(principal_id) or {"id": principal_id}
    template = role.get("roleTemplateId")
    properties = [
        _role_property("Role.ObjectID", role["id"], added=added),
        _role_property("Role.DisplayName", role["displayName"], added=added),
        _role_property("Role.TemplateId", template, added=added),
    ]
    if template == GLOBAL_ADMINISTRATOR:
        properties.append(_role_property("Role.WellKnownObjectName", "TenantAdmins", added=added))
    audit_change(
        call,
        activity="Add member to role" if added else "Remove member from role",
        category="RoleManagement",
        operation_type="Assign" if added else "Unassign",
        object_type="Role",
        record=role,
        modified=properties,
        extra_targets=[
            {
                "id": principal_id,
                "displayName": principal.get("displayName"),
                "type": "User" if principal_id in call.state.users else "ServicePrincipal",
                "userPrincipalName": principal.get("userPrincipalName"),
                "groupType": None,
                "modifiedProperties": [],
            }
        ],
    )


# ------------------------------------------------------------------ directoryRoles
def _role(call: Call) -> Json:
    """The role by object id, or by ``roleTemplateId=…`` (the key form Graph's pages use)."""
    key = call.param("directoryRole_id")
    name, _, template_id = key.partition("=")
    if name == "roleTemplateId":
        for role in call.state.directory_roles.values():
            if role["roleTemplateId"] == template_id:
                return role
        raise not_found(template_id)
    return require(call.state.directory_roles, key)


@handles("GET", "/directoryRoles")
async def list_directory_roles(call: Call) -> Response:
    records = list(call.state.directory_roles.values())
    return collection_answer(call, records, "directoryRoles", "directoryRole")


@handles("GET", "/directoryRoles/{directoryRole-id}")
async def get_directory_role(call: Call) -> Response:
    return entity_answer(call, _role(call), "directoryRoles")


@handles("GET", "/directoryRoles(roleTemplateId='{roleTemplateId}')")
async def get_directory_role_by_template(call: Call) -> Response:
    wanted = call.param("roleTemplateId")
    for role in call.state.directory_roles.values():
        if role["roleTemplateId"] == wanted:
            return entity_answer(call, role, "directoryRoles")
    raise not_found(wanted)


@handles("POST", "/directoryRoles")
async def activate_directory_role(call: Call) -> Response:
    body = await call.body()
    required_fields(body, ("roleTemplateId",), "directoryRole")
    if body["roleTemplateId"] not in ROLES_BY_TEMPLATE:
        raise bad_request(f"The role template '{body['roleTemplateId']}' does not exist.")
    record = activate_role(call.state, str(body["roleTemplateId"]))
    return entity_answer(call, record, "directoryRoles", 201)


@handles("GET", "/directoryRoles/{directoryRole-id}/members")
async def list_role_members(call: Call) -> Response:
    role = _role(call)
    state = call.state
    members = [
        directory_object(state, a["principalId"])
        for a in state.role_assignments.values()
        if a["roleDefinitionId"] == role["roleTemplateId"] and a["directoryScopeId"] == "/"
    ]
    body = {
        "@odata.context": f"{call.graph_base}/$metadata#directoryObjects",
        "value": [member for member in members if member is not None],
    }
    return graph_json(body)


@handles("POST", "/directoryRoles/{directoryRole-id}/members/$ref")
async def add_role_member(call: Call) -> Response:
    role = _role(call)
    reference = (await call.body()).get("@odata.id")
    if not isinstance(reference, str) or "/" not in reference:
        raise bad_request("The request body needs '@odata.id' naming a directory object.")
    principal_id = reference.rstrip("/").rsplit("/", 1)[1]
    if principal_id.startswith("directoryObjects(") or "'" in principal_id:
        principal_id = principal_id.split("'")[1]
    assign_role(call.state, principal_id, role["roleTemplateId"])
    _audit_member(call, role, principal_id, added=True)
    return no_content()


@handles("DELETE", "/directoryRoles/{directoryRole-id}/members/{directoryObject-id}/$ref")
async def remove_role_member(call: Call) -> Response:
    role = _role(call)
    principal_id = call.param("directoryObject_id")
    for assignment_id, assignment in list(call.state.role_assignments.items()):
        if (assignment["principalId"], assignment["roleDefinitionId"]) == (
            principal_id,
            role["roleTemplateId"],
        ):
            unassign_role(call.state, assignment_id)
            _audit_member(call, role, principal_id, added=False)
            return no_content()
    raise not_found(principal_id)


@handles("GET", "/directoryRoleTemplates")
async def list_role_templates(call: Call) -> Response:
    records = [role_template_record(role) for role in BUILT_IN_ROLES]
    return collection_answer(call, records, "directoryRoleTemplates", "directoryRoleTemplate")


@handles("GET", "/directoryRoleTemplates/{directoryRoleTemplate-id}")
async def get_role_template(call: Call) -> Response:
    role = ROLES_BY_TEMPLATE.get(call.param("directoryRoleTemplate_id"))
    if role is None:
        raise not_found(call.param("directoryRoleTemplate_id"))
    return entity_answer(call, role_template_record(role), "directoryRoleTemplates")


# ------------------------------------------------------ roleManagement/directory
@handles("GET", f"{_RM}/roleDefinitions")
async def list_role_definitions(call: Call) -> Response:
    records = [role_definition_record(role) for role in BUILT_IN_ROLES]
    return collection_answer(
        call, records, "roleManagement/directory/roleDefinitions", "unifiedRoleDefinition"
    )


@handles("GET", f"{_RM}/roleDefinitions/{{unifiedRoleDefinition-id}}")
async def get_role_definition(call: Call) -> Response:
    role = ROLES_BY_TEMPLATE.get(call.param("unifiedRoleDefinition_id"))
    if role is None:
        raise not_found(call.param("unifiedRoleDefinition_id"))
    return entity_answer(
        call, role_definition_record(role), "roleManagement/directory/roleDefinitions"
    )


_ASSIGNMENT_EXPANDABLE = frozenset({"principal", "roleDefinition"})
"""What "List unifiedRoleAssignments" (https://learn.microsoft.com/graph/api/rbacapplication-list-roleassignments)
expands: the principal (a directoryObject with its ``@odata.type``) and the role definition."""


def _assignment_options(call: Call) -> QueryOptions:
    return parse_query(
        call.request.query_params,
        call.request.headers,
        known=frozenset(_ASSIGNMENT_TEMPLATE),
        type_name="unifiedRoleAssignment",
        expandable=_ASSIGNMENT_EXPANDABLE,
    )


def _expanded_assignment(
    state: DirectoryState, expand: str | None, record: Json, item: Json
) -> None:
    if expand == "principal":
        principal = directory_object(state, record["principalId"])
        if principal is not None:
            item["principal"] = principal
    elif expand == "roleDefinition":
        item["roleDefinition"] = role_definition_record(
            ROLES_BY_TEMPLATE[record["roleDefinitionId"]]
        )


@handles("GET", f"{_RM}/roleAssignments")
async def list_role_assignments(call: Call) -> Response:
    options = _assignment_options(call)
    body = list_page(
        list(call.state.role_assignments.values()),
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set="roleManagement/directory/roleAssignments",
        default_select=None,
        decorate=lambda record, item: _expanded_assignment(
            call.state, options.expand, record, item
        ),
    )
    return graph_json(body)


@handles("GET", f"{_RM}/roleAssignments/{{unifiedRoleAssignment-id}}")
async def get_role_assignment(call: Call) -> Response:
    record = require(call.state.role_assignments, call.param("unifiedRoleAssignment_id"))
    options = _assignment_options(call)
    item = project(record, options.select, None)
    _expanded_assignment(call.state, options.expand, record, item)
    context = context_url(
        call.graph_base, "roleManagement/directory/roleAssignments", options.select
    )
    return graph_json({"@odata.context": f"{context}/$entity", **item})


@handles("POST", f"{_RM}/roleAssignments")
async def create_role_assignment(call: Call) -> Response:
    body = await call.body()
    required_fields(
        body, ("principalId", "roleDefinitionId", "directoryScopeId"), "unifiedRoleAssignment"
    )
    if body["directoryScopeId"] != "/":
        raise bad_request("The sandbox supports only the tenant-wide directoryScopeId '/'.")
    record = assign_role(call.state, str(body["principalId"]), str(body["roleDefinitionId"]))
    role = activate_role(call.state, record["roleDefinitionId"])
    _audit_member(call, role, record["principalId"], added=True)
    return entity_answer(call, record, "roleManagement/directory/roleAssignments", 201)


@handles("DELETE", f"{_RM}/roleAssignments/{{unifiedRoleAssignment-id}}")
async def delete_role_assignment(call: Call) -> Response:
    state = call.state
    record = require(state.role_assignments, call.param("unifiedRoleAssignment_id"))
    role = unassign_role(state, record["id"])
    _audit_member(call, role, record["principalId"], added=False)
    return no_content()
