"""Azure Resource Manager's access management, as much as connection setup needs (2022-04-01).

Tokens: an app-only or delegated token whose ``aud`` is ``https://management.azure.com`` (the
token endpoint issues them for ``https://management.azure.com/.default`` and, signed in, for
``https://management.azure.com/user_impersonation``). Routes:

- ``GET /subscriptions/{id}/providers/Microsoft.Authorization/roleDefinitions`` (``$filter=roleName
  eq '...'``) and ``GET .../roleDefinitions/{roleDefinitionId}``;
- ``GET /subscriptions/{id}/providers/Microsoft.Authorization/roleAssignments`` (``$filter=
  atScope()`` or ``principalId eq '...'``), ``GET``/``PUT``/``DELETE .../roleAssignments/{name}``.

Each call is authorized as ARM does: the caller (``oid``) needs a role at the subscription whose
actions cover ``Microsoft.Authorization/role{Assignments,Definitions}/{read,write,delete}``.
Errors use ARM's envelope ``{"error": {"code", "message"}}`` with ARM's codes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dirguard_sandbox.arm_access import (
    ArmError,
    arm_authorize,
    arm_caller,
    arm_subscription,
    principal_type,
)
from dirguard_sandbox.arm_catalog import (
    BUILT_IN_RBAC_ROLES,
    RBAC_ROLES_BY_ID,
    assignment_record,
    definition_id,
    definition_record,
)
from dirguard_sandbox.directory_state import Application, Json
from dirguard_sandbox.graph_routing import Runtime
from dirguard_sandbox.tokens import TOKEN_LIFETIME_SECONDS

ARM_AUDIENCE = "https://management.azure.com"
_PROVIDER = "/subscriptions/{subscription_id}/providers/Microsoft.Authorization"
_PRINCIPAL_FILTER = re.compile(r"^\s*principalId\s+eq\s+'([0-9a-fA-F-]{36})'\s*$")
_ROLE_NAME_FILTER = re.compile(r"^\s*roleName\s+eq\s+'([^']+)'\s*$")


def _answer(body: Any, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status, headers={"x-ms-request-id": str(uuid.uuid4())})


# ------------------------------------------------------------------------- tokens
def arm_app_token(runtime: Runtime, app: Application, *, certificate: bool) -> Json:
    """The token endpoint's answer for a client-credentials request for Resource Manager."""
    state = runtime.state
    now = int(time.time())
    claims: Json = {
        "aud": ARM_AUDIENCE,
        "iss": f"https://sts.windows.net/{state.tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "appid": app.app_id,
        "appidacr": "2" if certificate else "1",
        "idtyp": "app",
        "oid": app.service_principal_id,
        "sub": app.service_principal_id,
        "tid": state.tenant_id,
        "ver": "1.0",
    }
    return {
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECONDS,
        "ext_expires_in": TOKEN_LIFETIME_SECONDS,
        "access_token": runtime.signer.sign(claims),
    }


def wants_arm(requested: str) -> bool:
    """Whether a delegated request asks for Resource Manager (``.../user_impersonation``)."""
    return any(
        scope.startswith(("https://management.azure.com/", "https://management.core.windows.net/"))
        for scope in requested.split()
    )


def arm_delegated_token(
    runtime: Runtime, app: Application, user_id: str, *, issuer: str, nonce: str
) -> Json:
    """A signed-in user's Resource Manager token (``scp`` user_impersonation), with the ID
    token and ``client_info`` the client's account cache needs, as for Graph."""
    state = runtime.state
    user = state.users[user_id]
    now = int(time.time())
    claims: Json = {
        "aud": ARM_AUDIENCE,
        "iss": f"https://sts.windows.net/{state.tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "appid": app.app_id,
        "idtyp": "user",
        "name": user.get("displayName"),
        "oid": user_id,
        "scp": "user_impersonation",
        "tid": state.tenant_id,
        "upn": user["userPrincipalName"],
        "ver": "1.0",
    }
    identity: Json = {
        "aud": app.app_id,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "name": user.get("displayName"),
        "oid": user_id,
        "preferred_username": user["userPrincipalName"],
        "sub": hashlib.sha256(f"{user_id}:{app.app_id}".encode()).hexdigest()[:43],
        "tid": state.tenant_id,
        "ver": "2.0",
    }
    if nonce:
        identity["nonce"] = nonce
    client_info = json.dumps({"uid": user_id, "utid": state.tenant_id}).encode()
    return {
        "token_type": "Bearer",
        "scope": f"{ARM_AUDIENCE}/user_impersonation",
        "id_token": runtime.signer.sign(identity),
        "client_info": base64.urlsafe_b64encode(client_info).rstrip(b"=").decode(),
        "expires_in": TOKEN_LIFETIME_SECONDS,
        "ext_expires_in": TOKEN_LIFETIME_SECONDS,
        "access_token": runtime.signer.sign(claims),
    }


# -------------------------------------------------------------------------- routes
def arm_routes(runtime: Runtime) -> list[Route]:
    state = runtime.state

    def guarded(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                claims = arm_caller(runtime, request)
                subscription_id = arm_subscription(runtime, request)
                result: Response = await handler(request, claims, subscription_id)
                return result
            except ArmError as error:
                return _answer(
                    {"error": {"code": error.code, "message": error.message}}, error.status
                )

        return run

    async def list_definitions(request: Request, claims: Json, sub: str) -> Response:
        arm_authorize(runtime, claims, sub, "Microsoft.Authorization/roleDefinitions/read")
        wanted = request.query_params.get("$filter")
        roles = list(BUILT_IN_RBAC_ROLES)
        if wanted:
            match = _ROLE_NAME_FILTER.match(wanted)
            if match is None:
                raise ArmError(
                    400, "InvalidFilterInRequest", f"The filter '{wanted}' is not supported."
                )
            roles = [r for r in roles if r.name.lower() == match.group(1).lower()]
        return _answer({"value": [definition_record(r, sub) for r in roles]})

    async def get_definition(request: Request, claims: Json, sub: str) -> Response:
        arm_authorize(runtime, claims, sub, "Microsoft.Authorization/roleDefinitions/read")
        role = RBAC_ROLES_BY_ID.get(str(request.path_params["role_id"]).lower())
        if role is None:
            raise ArmError(
                404, "RoleDefinitionDoesNotExist", "The specified role definition does not exist."
            )
        return _answer(definition_record(role, sub))

    def _in_subscription(sub: str) -> list[Json]:
        scope = f"/subscriptions/{sub}"
        return [
            r for r in state.rbac_assignments.values() if r["properties"]["scope"] in ("/", scope)
        ]

    async def list_assignments(request: Request, claims: Json, sub: str) -> Response:
        arm_authorize(runtime, claims, sub, "Microsoft.Authorization/roleAssignments/read")
        records = _in_subscription(sub)
        wanted = request.query_params.get("$filter")
        if wanted and wanted.strip() != "atScope()":
            match = _PRINCIPAL_FILTER.match(wanted)
            if match is None:
                raise ArmError(
                    400, "InvalidFilterInRequest", f"The filter '{wanted}' is not supported."
                )
            principal = match.group(1).lower()
            records = [r for r in records if r["properties"]["principalId"] == principal]
        return _answer({"value": records})

    def _name(request: Request) -> str:
        name = str(request.path_params["name"])
        try:
            return str(uuid.UUID(name))
        except ValueError:
            raise ArmError(
                400,
                "InvalidRoleAssignmentId",
                f"The role assignment ID '{name}' is not valid. The role assignment ID must be a "
                "GUID.",
            ) from None

    async def get_assignment(request: Request, claims: Json, sub: str) -> Response:
        arm_authorize(runtime, claims, sub, "Microsoft.Authorization/roleAssignments/read")
        name = _name(request)
        record = state.rbac_assignments.get(_assignment_id(sub, name))
        if record is None:
            raise ArmError(
                404, "RoleAssignmentNotFound", f"The role assignment '{name}' is not found."
            )
        return _answer(record)

    async def put_assignment(request: Request, claims: Json, sub: str) -> Response:
        arm_authorize(runtime, claims, sub, "Microsoft.Authorization/roleAssignments/write")
        name = _name(request)
        try:
            body = json.loads(await request.body() or b"{}")
        except json.JSONDecodeError:
            raise ArmError(
                400, "InvalidRequestContent", "The request content is not valid JSON."
            ) from None
        properties = body.get("properties") if isinstance(body, dict) else None
        if not isinstance(properties, dict):
            raise ArmError(
                400, "InvalidRequestContent", "The request content must hold 'properties'."
            )
        for field in ("roleDefinitionId", "principalId"):
            if not isinstance(properties.get(field), str) or not properties[field]:
                raise ArmError(
                    400, "InvalidRequestContent", f"The property 'properties.{field}' is required."
                )
        role_id = properties["roleDefinitionId"].rsplit("/", 1)[-1].lower()
        if role_id not in RBAC_ROLES_BY_ID:
            raise ArmError(
                400,
                "RoleDefinitionDoesNotExist",
                f"The specified role definition with ID '{role_id}' does not exist.",
            )
        principal_id = properties["principalId"].lower()
        kind = principal_type(runtime, principal_id)
        scope = f"/subscriptions/{sub}"
        definition = definition_id(sub, role_id)
        existing = state.rbac_assignments.get(_assignment_id(sub, name))
        for record in _in_subscription(sub):
            same = record["properties"]["principalId"] == principal_id and record["properties"][
                "roleDefinitionId"
            ].endswith(role_id)
            if same and record["name"] != name:
                raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
        if existing is not None:
            if existing["properties"]["principalId"] != principal_id or not existing["properties"][
                "roleDefinitionId"
            ].endswith(role_id):
                raise ArmError(
                    409,
                    "RoleAssignmentUpdateNotPermitted",
                    "Tenant ID, application ID, principal ID, and scope are not allowed to be "
                    "updated.",
                )
            return _answer(existing, 201)
        record = assignment_record(
            scope=scope,
            name=name,
            role_definition_id=definition,
            principal_id=principal_id,
            principal_type=kind,
            by=str(claims["oid"]),
            now=state.now(),
        )
        state.rbac_assignments[record["id"]] = record
        return _answer(record, 201)

    async def delete_assignment(request: Request, claims: Json, sub: str) -> Response:
        arm_authorize(runtime, claims, sub, "Microsoft.Authorization/roleAssignments/delete")
        record = state.rbac_assignments.pop(_assignment_id(sub, _name(request)), None)
        if record is None:
            return Response(status_code=204)
        return _answer(record)

    base = _PROVIDER
    return [
        Route(f"{base}/roleDefinitions", guarded(list_definitions), methods=["GET"]),
        Route(f"{base}/roleDefinitions/{{role_id}}", guarded(get_definition), methods=["GET"]),
        Route(f"{base}/roleAssignments", guarded(list_assignments), methods=["GET"]),
        Route(f"{base}/roleAssignments/{{name}}", guarded(get_assignment), methods=["GET"]),
        Route(f"{base}/roleAssignments/{{name}}", guarded(put_assignment), methods=["PUT"]),
        Route(f"{base}/roleAssignments/{{name}}", guarded(delete_assignment), methods=["DELETE"]),
    ]


def _assignment_id(subscription_id: str, name: str) -> str:
    return (
        f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization/roleAssignments/{name}"
    )
