"""The relationships of users, groups and service principals that are read from links the tenant
already holds, each as its Microsoft page describes it:

- ``users/{id}/memberOf`` ("List a user's direct memberships",
  https://learn.microsoft.com/graph/api/user-list-memberof): groups, directory roles and
  administrative units the user is a direct member of;
- ``users/{id}/transitiveMemberOf`` ("List a user's memberships (direct and transitive)",
  https://learn.microsoft.com/graph/api/user-list-transitivememberof): groups through nesting,
  directory roles and administrative units;
- ``users/{id}/ownedObjects`` (https://learn.microsoft.com/graph/api/user-list-ownedobjects):
  groups, applications and service principals the user owns;
- ``users/{id}/appRoleAssignments`` and ``groups/{id}/appRoleAssignments``
  (https://learn.microsoft.com/graph/api/user-list-approleassignments,
  https://learn.microsoft.com/graph/api/group-list-approleassignments);
- ``users/{id}/oauth2PermissionGrants``
  (https://learn.microsoft.com/graph/api/user-list-oauth2permissiongrants): the grants made for
  that user (``consentType`` ``Principal``);
- ``groups/{id}/memberOf`` (https://learn.microsoft.com/graph/api/group-list-memberof): groups
  and administrative units the group is a direct member of (and roles of a role-assignable group);
- ``groups/{id}/transitiveMembers`` (https://learn.microsoft.com/graph/api/group-list-transitivemembers):
  every member through nested groups, each once;
- ``servicePrincipals/{id}/memberOf`` (https://learn.microsoft.com/graph/api/serviceprincipal-list-memberof):
  groups and directory roles.
"""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.directory_state import DirectoryState, Json
from dirguard_sandbox.graph_routing import Call, handles
from dirguard_sandbox.identity_answers import (
    collection_answer,
    directory_object,
    require,
)
from dirguard_sandbox.object_lists import object_list_answer
from dirguard_sandbox.routes_groups import find_group
from dirguard_sandbox.routes_users import find_user


def _typed(record: Json, type_name: str) -> Json:
    return {"@odata.type": f"#microsoft.graph.{type_name}", **record}


def _groups_of(state: DirectoryState, object_id: str) -> list[str]:
    return [g for g in state.groups_of(object_id) if g in state.groups]


def transitive_groups(state: DirectoryState, object_id: str) -> list[str]:
    """Every group ``object_id`` belongs to directly or through nested groups, nearest first."""
    found: list[str] = []
    pending = _groups_of(state, object_id)
    while pending:
        group_id = pending.pop(0)
        if group_id in found:
            continue
        found.append(group_id)
        pending += _groups_of(state, group_id)
    return found


def _roles_of(state: DirectoryState, principal_ids: list[str]) -> list[Json]:
    templates = {
        a["roleDefinitionId"]
        for a in state.role_assignments.values()
        if a["principalId"] in principal_ids and a["directoryScopeId"] == "/"
    }
    return [
        _typed(role, "directoryRole")
        for role in state.directory_roles.values()
        if role["roleTemplateId"] in templates
    ]


def _units_of(state: DirectoryState, object_id: str) -> list[Json]:
    return [
        _typed(state.administrative_units[unit_id], "administrativeUnit")
        for unit_id, members in state.unit_members.items()
        if object_id in members and unit_id in state.administrative_units
    ]


def _group_objects(state: DirectoryState, ids: list[str]) -> list[Json]:
    return [_typed(state.groups[group_id], "group") for group_id in ids]


@handles("GET", "/users/{user-id}/memberOf")
async def user_member_of(call: Call) -> Response:
    state = call.state
    user = find_user(state, call.param("user_id"))
    objects = _group_objects(state, _groups_of(state, user["id"]))
    objects += _roles_of(state, [user["id"]])
    objects += _units_of(state, user["id"])
    return object_list_answer(call, objects)


@handles("GET", "/users/{user-id}/transitiveMemberOf")
async def user_transitive_member_of(call: Call) -> Response:
    state = call.state
    user = find_user(state, call.param("user_id"))
    groups = transitive_groups(state, user["id"])
    objects = _group_objects(state, groups)
    objects += _roles_of(state, [user["id"], *groups])
    objects += _units_of(state, user["id"])
    return object_list_answer(call, objects)


@handles("GET", "/users/{user-id}/ownedObjects")
async def user_owned_objects(call: Call) -> Response:
    state = call.state
    user = find_user(state, call.param("user_id"))
    objects: list[Json] = []
    for owned_id, owners in state.owners.items():
        if user["id"] not in owners:
            continue
        if owned_id in state.groups:
            objects.append(_typed(state.groups[owned_id], "group"))
        elif owned_id in state.application_objects:
            objects.append(_typed(state.application_objects[owned_id], "application"))
        elif owned_id in state.service_principals:
            objects.append(_typed(state.service_principals[owned_id], "servicePrincipal"))
    return object_list_answer(call, objects)


def _assignments_of(call: Call, principal_id: str, entity_set: str) -> Response:
    records = [
        a for a in call.state.app_role_assignments.values() if a["principalId"] == principal_id
    ]
    template = next(iter(call.state.app_role_assignments.values()), {"id": None})
    return collection_answer(
        call, records, entity_set, "appRoleAssignment", dict.fromkeys(template)
    )


@handles("GET", "/users/{user-id}/appRoleAssignments")
async def user_app_role_assignments(call: Call) -> Response:
    user = find_user(call.state, call.param("user_id"))
    return _assignments_of(call, user["id"], f"users('{user['id']}')/appRoleAssignments")


@handles("GET", "/groups/{group-id}/appRoleAssignments")
async def group_app_role_assignments(call: Call) -> Response:
    group = find_group(call.state, call.param("group_id"))
    return _assignments_of(call, group["id"], f"groups('{group['id']}')/appRoleAssignments")


@handles("GET", "/users/{user-id}/oauth2PermissionGrants")
async def user_grants(call: Call) -> Response:
    user = find_user(call.state, call.param("user_id"))
    records = [g for g in call.state.oauth2_grants.values() if g.get("principalId") == user["id"]]
    template = next(iter(call.state.oauth2_grants.values()), {"id": None})
    return collection_answer(
        call, records, "oauth2PermissionGrants", "oAuth2PermissionGrant", dict.fromkeys(template)
    )


@handles("GET", "/groups/{group-id}/memberOf")
async def group_member_of(call: Call) -> Response:
    state = call.state
    group = find_group(state, call.param("group_id"))
    objects = _group_objects(state, _groups_of(state, group["id"]))
    objects += _units_of(state, group["id"])
    if group.get("isAssignableToRole"):
        objects += _roles_of(state, [group["id"]])
    return object_list_answer(call, objects)


@handles("GET", "/groups/{group-id}/transitiveMembers")
async def group_transitive_members(call: Call) -> Response:
    state = call.state
    group = find_group(state, call.param("group_id"))
    seen: list[str] = []
    pending = list(state.members.get(group["id"], []))
    while pending:
        member_id = pending.pop(0)
        if member_id in seen or member_id == group["id"]:
            continue
        seen.append(member_id)
        if member_id in state.groups:
            pending += state.members.get(member_id, [])
    objects = [found for m in seen if (found := directory_object(state, m)) is not None]
    return object_list_answer(call, objects)


@handles("GET", "/servicePrincipals/{servicePrincipal-id}/memberOf")
async def service_principal_member_of(call: Call) -> Response:
    state = call.state
    sp = require(state.service_principals, call.param("servicePrincipal_id"))
    objects = _group_objects(state, _groups_of(state, sp["id"]))
    objects += _roles_of(state, [sp["id"]])
    return object_list_answer(call, objects)
