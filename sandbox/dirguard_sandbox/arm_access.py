"""Who calls the sandbox's Resource Manager, and whether Azure RBAC lets them.

A caller presents a token the sandbox issued with a Resource Manager audience; a call is allowed
when a role assigned to the caller (``oid``) at the subscription (or the root scope) has an
action covering it, as ARM decides. Failures are ARM's: ``AuthenticationFailed``,
``InvalidAuthenticationTokenAudience``, ``AuthorizationFailed``, ``SubscriptionNotFound``,
``MissingApiVersionParameter``/``InvalidApiVersionParameter``, ``PrincipalNotFound``.
"""

from __future__ import annotations

import json

import jwt
from jwt.algorithms import RSAAlgorithm
from starlette.requests import Request

from dirguard_sandbox.arm_catalog import ARM_AUDIENCES, RBAC_ROLES_BY_ID, allows
from dirguard_sandbox.directory_state import Json
from dirguard_sandbox.graph_routing import Runtime

API_VERSION = "2022-04-01"


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def arm_caller(runtime: Runtime, request: Request) -> Json:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise ArmError(
            401,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is not 'Bearer <token>'.",
        )
    key = RSAAlgorithm.from_jwk(json.dumps(runtime.signer.jwks()["keys"][0]))
    try:
        claims: Json = jwt.decode(
            token.strip(),
            key,  # type: ignore[arg-type]
            algorithms=["RS256"],
            audience=list(ARM_AUDIENCES),
            issuer=f"https://sts.windows.net/{runtime.state.tenant_id}/",
            options={"require": ["exp", "aud", "iss", "oid"]},
        )
    except jwt.InvalidAudienceError:
        allowed = "','".join(ARM_AUDIENCES)
        raise ArmError(
            401,
            "InvalidAuthenticationTokenAudience",
            "The access token has been obtained for wrong audience or resource. It should "
            f"exactly match with one of the allowed audiences '{allowed}'.",
        ) from None
    except jwt.ExpiredSignatureError:
        raise ArmError(
            401, "ExpiredAuthenticationToken", "The access token expiry UTC time is in the past."
        ) from None
    except jwt.PyJWTError:
        raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.") from None
    return claims


def arm_subscription(runtime: Runtime, request: Request) -> str:
    subscription_id = str(request.path_params["subscription_id"]).lower()
    if subscription_id not in runtime.state.subscriptions:
        raise ArmError(
            404, "SubscriptionNotFound", f"The subscription '{subscription_id}' could not be found."
        )
    version = request.query_params.get("api-version")
    if version is None:
        raise ArmError(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    if version != API_VERSION:
        raise ArmError(
            400,
            "InvalidApiVersionParameter",
            f"The api-version '{version}' is invalid. The supported versions are '{API_VERSION}'.",
        )
    return subscription_id


def arm_authorize(runtime: Runtime, claims: Json, subscription_id: str, action: str) -> None:
    scope = f"/subscriptions/{subscription_id}"
    for record in runtime.state.rbac_assignments.values():
        properties = record["properties"]
        if properties["principalId"] != claims["oid"] or properties["scope"] not in ("/", scope):
            continue
        role = RBAC_ROLES_BY_ID.get(properties["roleDefinitionId"].rsplit("/", 1)[-1])
        if role is not None and allows(role, action):
            return
    who = claims.get("upn") or claims.get("appid")
    raise ArmError(
        403,
        "AuthorizationFailed",
        f"The client '{who}' with object id '{claims['oid']}' does not have authorization to "
        f"perform action '{action}' over scope '{scope}' or the scope is invalid. If access was "
        "recently granted, please refresh your credentials.",
    )


def principal_type(runtime: Runtime, principal_id: str) -> str:
    state = runtime.state
    if principal_id in state.users:
        return "User"
    if principal_id in state.groups:
        return "Group"
    if principal_id in state.service_principals:
        return "ServicePrincipal"
    raise ArmError(
        400,
        "PrincipalNotFound",
        f"Principal {principal_id.replace('-', '')} does not exist in the directory "
        f"{state.tenant_id}. Check that you have the correct principal ID.",
    )
