"""Consent: app role assignments (application permissions, which become a token's ``roles``) and
oauth2PermissionGrants (delegated permissions, which become a token's ``scp``).

Each write leaves the directoryAudit Core Directory writes ("Microsoft Entra audit log activity
reference", https://learn.microsoft.com/entra/identity/monitoring-health/reference-audit-activities:
"Add app role assignment to service principal", "Add app role assignment grant to user", "Add
delegated permission grant"…). Neither names the assignment's or the grant's own id: the target
is the resource — the API — ("Security operations for applications",
https://learn.microsoft.com/entra/architecture/security-operations-applications: "Target(s)
identifies an API"), with the app role (``AppRole.Id``) and the principal
(``ServicePrincipal.ObjectID``, ``User.ObjectID``, ``Group.ObjectID``), or the grant's
``DelegatedPermissionGrant.Scope`` and ``DelegatedPermissionGrant.ConsentType`` and the client
(``ServicePrincipal.ObjectID``) as modified properties."""

from __future__ import annotations

import base64
import json
import secrets

from starlette.responses import Response

from dirguard_sandbox.audit import Actor, record_audit
from dirguard_sandbox.directory_state import Application, DirectoryState, Json, graph_time, new_id
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, handles, no_content
from dirguard_sandbox.identity_answers import (
    collection_answer,
    entity_answer,
    graph_service_principal,
    require,
    required_fields,
)

_NO_ROLE = "00000000-0000-0000-0000-000000000000"
GRANT_TEMPLATE: Json = dict.fromkeys(
    ("id", "clientId", "consentType", "principalId", "resourceId", "scope")
)
_ASSIGNMENT_TEMPLATE: Json = dict.fromkeys(
    (
        "id",
        "appRoleId",
        "createdDateTime",
        "deletedDateTime",
        "principalDisplayName",
        "principalId",
        "principalType",
        "resourceDisplayName",
        "resourceId",
    )
)


_ASSIGNED = {
    "ServicePrincipal": ("Add app role assignment to service principal", "ApplicationManagement"),
    "User": ("Add app role assignment grant to user", "UserManagement"),
    "Group": ("Add app role assignment to group", "GroupManagement"),
}
_UNASSIGNED = {
    "ServicePrincipal": "Remove app role assignment from service principal",
    "User": "Remove app role assignment from user",
    "Group": "Remove app role assignment from group",
}


def _named(name: str, value: object, *, removed: bool = False) -> Json:
    text = json.dumps(value)
    return {
        "displayName": name,
        "oldValue": text if removed else None,
        "newValue": None if removed else text,
    }


def _assignment_audit(call: Call, record: Json, *, removed: bool) -> None:
    """The resource as target, naming the app role and the principal."""
    kind = str(record["principalType"])
    activity, category = _ASSIGNED[kind]
    resource = call.state.service_principals.get(record["resourceId"], {})
    record_audit(
        call.state,
        actor=call.actor,
        activity=_UNASSIGNED[kind] if removed else activity,
        category=category,
        operation_type="Unassign" if removed else "Assign",
        targets=[
            {
                "id": record["resourceId"],
                "displayName": resource.get("displayName") or record.get("resourceDisplayName"),
                "type": "ServicePrincipal",
                "userPrincipalName": None,
                "groupType": None,
                "modifiedProperties": [
                    _named("AppRole.Id", record["appRoleId"], removed=removed),
                    _named(f"{kind}.ObjectID", record["principalId"], removed=removed),
                    _named(
                        f"{kind}.DisplayName", record.get("principalDisplayName"), removed=removed
                    ),
                ],
            }
        ],
    )


def _grant_audit(call: Call, activity: str, operation: str, old: Json, new: Json) -> None:
    grant_audit(call.state, call.actor, activity, operation, old, new)


def grant_audit(
    state: DirectoryState, actor: Actor, activity: str, operation: str, old: Json, new: Json
) -> None:
    """The grant's resource as target, naming the scope, consent type and client."""
    record = new or old
    resource = state.service_principals.get(record["resourceId"], {"id": record["resourceId"]})
    modified = [
        {
            "displayName": "DelegatedPermissionGrant.Scope",
            "oldValue": json.dumps(old["scope"]) if old else None,
            "newValue": json.dumps(new["scope"]) if new else None,
        },
        _named("DelegatedPermissionGrant.ConsentType", record["consentType"], removed=not new),
        _named("ServicePrincipal.ObjectID", record["clientId"], removed=not new),
    ]
    record_audit(
        state,
        actor=actor,
        activity=activity,
        category="ApplicationManagement",
        operation_type=operation,
        targets=[
            {
                "id": resource["id"],
                "displayName": resource.get("displayName"),
                "type": "ServicePrincipal",
                "userPrincipalName": None,
                "groupType": None,
                "modifiedProperties": modified,
            }
        ],
    )


def _principal(call: Call, principal_id: str) -> tuple[Json, str]:
    state = call.state
    for table, kind in (
        (state.service_principals, "ServicePrincipal"),
        (state.users, "User"),
        (state.groups, "Group"),
    ):
        if principal_id in table:
            return table[principal_id], kind
    raise bad_request(f"The principal '{principal_id}' does not exist in the directory.")


async def _assign(call: Call, *, principal_from_path: bool) -> Response:
    state = call.state
    sp_id = call.param("servicePrincipal_id")
    require(state.service_principals, sp_id)
    body = await call.body()
    required_fields(body, ("principalId", "resourceId", "appRoleId"), "appRoleAssignment")
    if principal_from_path and body["principalId"] != sp_id:
        raise bad_request("principalId must be the service principal named in the URL.")
    if not principal_from_path and body["resourceId"] != sp_id:
        raise bad_request("resourceId must be the service principal named in the URL.")
    principal, kind = _principal(call, str(body["principalId"]))
    resource = state.service_principals.get(str(body["resourceId"]))
    if resource is None:
        raise bad_request(f"The resource '{body['resourceId']}' is not a service principal.")
    role_ids = {role["id"] for role in resource.get("appRoles", [])}
    if body["appRoleId"] != _NO_ROLE and body["appRoleId"] not in role_ids:
        raise bad_request(
            f"Permission entry '{body['appRoleId']}' does not exist on the resource "
            f"'{resource['displayName']}'.",
            code="Request_BadRequest",
        )
    for existing in state.app_role_assignments.values():
        if (existing["principalId"], existing["resourceId"], existing["appRoleId"]) == (
            body["principalId"],
            body["resourceId"],
            body["appRoleId"],
        ):
            raise bad_request("Permission being assigned already exists on the object")
    record: Json = {
        "id": base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()[:43],
        "appRoleId": body["appRoleId"],
        "createdDateTime": graph_time(state.now()),
        "deletedDateTime": None,
        "principalDisplayName": principal.get("displayName"),
        "principalId": body["principalId"],
        "principalType": kind,
        "resourceDisplayName": resource.get("displayName"),
        "resourceId": resource["id"],
    }
    state.app_role_assignments[record["id"]] = record
    state.bump(str(body["principalId"]))
    _assignment_audit(call, record, removed=False)
    where = "appRoleAssignments" if principal_from_path else "appRoleAssignedTo"
    return entity_answer(call, record, f"servicePrincipals('{sp_id}')/{where}", 201)


def _unassign(call: Call, field: str) -> Response:
    state = call.state
    sp_id = call.param("servicePrincipal_id")
    record = state.app_role_assignments.get(call.param("appRoleAssignment_id"))
    if record is None or record[field] != sp_id:
        raise not_found(call.param("appRoleAssignment_id"))
    del state.app_role_assignments[record["id"]]
    state.bump(record["principalId"])
    _assignment_audit(call, record, removed=True)
    return no_content()


@handles("POST", "/servicePrincipals/{servicePrincipal-id}/appRoleAssignments")
async def assign_to_service_principal(call: Call) -> Response:
    return await _assign(call, principal_from_path=True)


@handles(
    "DELETE", "/servicePrincipals/{servicePrincipal-id}/appRoleAssignments/{appRoleAssignment-id}"
)
async def remove_assignment(call: Call) -> Response:
    return _unassign(call, "principalId")


@handles("GET", "/servicePrincipals/{servicePrincipal-id}/appRoleAssignedTo")
async def list_assigned_to(call: Call) -> Response:
    sp_id = call.param("servicePrincipal_id")
    require(call.state.service_principals, sp_id)
    records = [a for a in call.state.app_role_assignments.values() if a["resourceId"] == sp_id]
    return collection_answer(
        call,
        records,
        f"servicePrincipals('{sp_id}')/appRoleAssignedTo",
        "appRoleAssignment",
        _ASSIGNMENT_TEMPLATE,
    )


@handles("POST", "/servicePrincipals/{servicePrincipal-id}/appRoleAssignedTo")
async def assign_on_resource(call: Call) -> Response:
    return await _assign(call, principal_from_path=False)


@handles("GET", "/servicePrincipals/{servicePrincipal-id}/appRoleAssignedTo/{appRoleAssignment-id}")
async def get_assigned_to(call: Call) -> Response:
    """One assignment granted on the resource ("Get appRoleAssignedTo",
    https://learn.microsoft.com/graph/api/serviceprincipal-list-approleassignedto lists them;
    Graph's path also answers one by id); 404 when it is not one of the resource's."""
    sp_id = call.param("servicePrincipal_id")
    require(call.state.service_principals, sp_id)
    record = call.state.app_role_assignments.get(call.param("appRoleAssignment_id"))
    if record is None or record["resourceId"] != sp_id:
        raise not_found(call.param("appRoleAssignment_id"))
    return entity_answer(
        call,
        record,
        f"servicePrincipals('{sp_id}')/appRoleAssignedTo",
        type_name="appRoleAssignment",
    )


@handles(
    "DELETE", "/servicePrincipals/{servicePrincipal-id}/appRoleAssignedTo/{appRoleAssignment-id}"
)
async def remove_assigned_to(call: Call) -> Response:
    return _unassign(call, "resourceId")


# ------------------------------------------------------------ oauth2PermissionGrants
def _grants(call: Call) -> list[Json]:
    return list(call.state.oauth2_grants.values())


@handles("GET", "/oauth2PermissionGrants")
async def list_grants(call: Call) -> Response:
    return collection_answer(
        call, _grants(call), "oauth2PermissionGrants", "oAuth2PermissionGrant", GRANT_TEMPLATE
    )


@handles("GET", "/servicePrincipals/{servicePrincipal-id}/oauth2PermissionGrants")
async def list_client_grants(call: Call) -> Response:
    sp_id = call.param("servicePrincipal_id")
    require(call.state.service_principals, sp_id)
    records = [grant for grant in _grants(call) if grant["clientId"] == sp_id]
    return collection_answer(
        call, records, "oauth2PermissionGrants", "oAuth2PermissionGrant", GRANT_TEMPLATE
    )


@handles("GET", "/oauth2PermissionGrants/{oAuth2PermissionGrant-id}")
async def get_grant(call: Call) -> Response:
    record = require(call.state.oauth2_grants, call.param("oAuth2PermissionGrant_id"))
    return entity_answer(call, record, "oauth2PermissionGrants")


def _scope(value: object) -> str:
    if not isinstance(value, str):
        raise bad_request("scope must be a space-separated string of delegated permissions.")
    return " ".join(value.split())


@handles("POST", "/oauth2PermissionGrants")
async def create_grant(call: Call) -> Response:
    state = call.state
    body = await call.body()
    required_fields(body, ("clientId", "consentType", "resourceId"), "oAuth2PermissionGrant")
    for name in ("clientId", "resourceId"):
        if body[name] not in state.service_principals:
            raise bad_request(f"{name} '{body[name]}' is not a service principal in the tenant.")
    if body["consentType"] not in ("AllPrincipals", "Principal"):
        raise bad_request("consentType must be 'AllPrincipals' or 'Principal'.")
    principal_id = body.get("principalId")
    if (body["consentType"] == "Principal") != bool(principal_id):
        raise bad_request("principalId is required with consentType 'Principal' and only then.")
    if principal_id and principal_id not in state.users:
        raise bad_request(f"principalId '{principal_id}' is not a user in the tenant.")
    for existing in state.oauth2_grants.values():
        if (existing["clientId"], existing["resourceId"], existing["principalId"]) == (
            body["clientId"],
            body["resourceId"],
            principal_id,
        ):
            raise bad_request(
                "Permission entry already exists.", code="Request_MultipleObjectsWithSameKeyValue"
            )
    grant_id = base64.urlsafe_b64encode(new_id().encode()).rstrip(b"=").decode()
    record: Json = {
        "id": grant_id,
        "clientId": body["clientId"],
        "consentType": body["consentType"],
        "principalId": principal_id,
        "resourceId": body["resourceId"],
        "scope": _scope(body.get("scope", "")),
    }
    state.oauth2_grants[grant_id] = record
    state.bump(grant_id)
    _grant_audit(call, "Add delegated permission grant", "Assign", {}, record)
    return entity_answer(call, record, "oauth2PermissionGrants", 201)


@handles("PATCH", "/oauth2PermissionGrants/{oAuth2PermissionGrant-id}")
async def update_grant(call: Call) -> Response:
    state = call.state
    record = require(state.oauth2_grants, call.param("oAuth2PermissionGrant_id"))
    body = await call.body()
    unknown = sorted(set(body) - {"scope"})
    if unknown:
        raise bad_request(f"Property '{unknown[0]}' cannot be updated; only scope can.")
    before = dict(record)
    record["scope"] = _scope(body.get("scope", record["scope"]))
    state.bump(record["id"])
    _grant_audit(call, "Update delegated permission grant", "Update", before, record)
    return no_content()


@handles("DELETE", "/oauth2PermissionGrants/{oAuth2PermissionGrant-id}")
async def delete_grant(call: Call) -> Response:
    state = call.state
    record = require(state.oauth2_grants, call.param("oAuth2PermissionGrant_id"))
    state.remove_object("oauth2PermissionGrants", record["id"])
    _grant_audit(call, "Remove delegated permission grant", "Unassign", record, {})
    return no_content()


def delegated_scopes(state: DirectoryState, client_sp_id: str, user_id: str) -> list[str]:
    """The delegated permissions a user's token for a client holds (AllPrincipals + own grants)."""

    scopes: set[str] = set()
    for grant in state.oauth2_grants.values():
        if grant["clientId"] != client_sp_id:
            continue
        if grant["consentType"] == "AllPrincipals" or grant["principalId"] == user_id:
            scopes.update(grant["scope"].split())
    return sorted(scopes)


def admin_consent(state: DirectoryState, app: Application, user_id: str, scopes: list[str]) -> None:
    """Grant ``scopes`` to ``app`` for all principals, as an administrator's consent does."""
    graph = graph_service_principal(state)
    grant = next(
        (
            g
            for g in state.oauth2_grants.values()
            if g["clientId"] == app.service_principal_id
            and g["resourceId"] == graph["id"]
            and g["consentType"] == "AllPrincipals"
        ),
        None,
    )
    before = {} if grant is None else dict(grant)
    if grant is None:
        grant_id = base64.urlsafe_b64encode(new_id().encode()).rstrip(b"=").decode()
        grant = {
            "id": grant_id,
            "clientId": app.service_principal_id,
            "consentType": "AllPrincipals",
            "principalId": None,
            "resourceId": graph["id"],
            "scope": "",
        }
        state.oauth2_grants[grant_id] = grant
    old_scope = grant["scope"]
    grant["scope"] = " ".join([*old_scope.split(), *scopes])
    state.bump(grant["id"])
    user = state.users[user_id]
    actor = Actor(
        app_id=app.app_id,
        user_id=user_id,
        user_principal_name=user["userPrincipalName"],
        display_name=user.get("displayName"),
    )
    # A consent writes the grant, logged as such beside "Consent to application" ("Security
    # operations for applications",
    # https://learn.microsoft.com/entra/architecture/security-operations-applications, watches
    # "Add delegated permission grant" for consents given).
    if before:
        grant_audit(state, actor, "Update delegated permission grant", "Update", before, grant)
    else:
        grant_audit(state, actor, "Add delegated permission grant", "Assign", {}, grant)
    record_audit(
        state,
        actor=actor,
        activity="Consent to application",
        category="ApplicationManagement",
        operation_type="Assign",
        targets=[
            {
                "id": app.service_principal_id,
                "displayName": app.display_name,
                "type": "ServicePrincipal",
                "userPrincipalName": None,
                "groupType": None,
                "modifiedProperties": [
                    {
                        "displayName": "ConsentContext.IsAdminConsent",
                        "oldValue": None,
                        "newValue": '"True"',
                    },
                    {
                        "displayName": "ConsentAction.Permissions",
                        "oldValue": f'"{old_scope}"',
                        "newValue": f'"{grant["scope"]}"',
                    },
                ],
            }
        ],
    )
