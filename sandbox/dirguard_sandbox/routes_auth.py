"""Entra's token endpoints: OpenID configuration, JWKS and the OAuth 2.0 token endpoint (client
credentials with a client secret or a certificate assertion, authorization code with PKCE, device
code), the device-code endpoint and the authorize page. Errors use Entra's OAuth error form
(``error``, ``error_description`` starting with an AADSTS code, ``error_codes``)."""

from __future__ import annotations

import datetime
import hmac
import uuid
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# Imported for their @handles registrations (the Graph routes of applications, consent,
# directory roles and PIM), which app.py's route table needs before it is built.
from dirguard_sandbox import routes_applications, routes_consent, routes_pim, routes_roles
from dirguard_sandbox.arm_catalog import ARM_SCOPES
from dirguard_sandbox.client_assertion import (
    ASSERTION_TYPE,
    AssertionRejected,
    verify_client_assertion,
)
from dirguard_sandbox.directory_state import Application
from dirguard_sandbox.graph_routing import Runtime
from dirguard_sandbox.oidc_flow import (
    DEVICE_CODE_GRANT,
    authorize,
    delegated_tokens,
    device_login,
    redeem_code,
    redeem_device_code,
    start_device_code,
)
from dirguard_sandbox.routes_arm import arm_app_token
from dirguard_sandbox.routes_roles import directory_role_ids
from dirguard_sandbox.seed_data import granted_roles
from dirguard_sandbox.tokens import TOKEN_LIFETIME_SECONDS, AppTokenRequest

_GRAPH_SCOPES = {
    "https://graph.microsoft.com/.default",
    "https://graph.microsoft.com//.default",
    "00000003-0000-0000-c000-000000000000/.default",
}


def _oauth_error(status: int, error: str, code: int, description: str) -> Response:
    now = datetime.datetime.now(datetime.UTC)
    trace = str(uuid.uuid4())
    return JSONResponse(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description} Trace ID: {trace} "
            f"Correlation ID: {uuid.uuid4()} Timestamp: {now:%Y-%m-%d %H:%M:%SZ}",
            "error_codes": [code],
            "timestamp": f"{now:%Y-%m-%d %H:%M:%SZ}",
            "trace_id": trace,
            "correlation_id": str(uuid.uuid4()),
        },
        status_code=status,
        # Some clients keep a failed session's connection open forever; closing it here lets
        # the server shut down promptly.
        headers={"Connection": "close"},
    )


def _tenant_known(runtime: Runtime, tenant: str) -> bool:
    state = runtime.state
    return tenant.lower() == state.tenant_id or tenant.lower() in state.domains


def auth_routes(runtime: Runtime) -> list[Route]:
    state = runtime.state

    def base(request: Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc}"

    async def openid_configuration(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if not _tenant_known(runtime, tenant):
            return _oauth_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        root = f"{base(request)}/{state.tenant_id}"
        document: dict[str, Any] = {
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{root}/v2.0",
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
            "code_challenge_methods_supported": ["S256"],
            "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "name", "tid", "oid"],
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
        }
        return JSONResponse(document)

    async def keys(request: Request) -> Response:
        return JSONResponse(runtime.signer.jwks())

    async def token(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if not _tenant_known(runtime, tenant):
            return _oauth_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        grant = fields.get("grant_type", "")
        if grant not in ("client_credentials", "authorization_code", DEVICE_CODE_GRANT):
            return _oauth_error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )
        client_id = fields.get("client_id", "")
        app = state.applications.get(client_id)
        if app is None:
            return _oauth_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{state.organization.get('displayName')}'.",
            )
        endpoint = f"{base(request)}/{tenant}/oauth2/v2.0/token"
        if grant == "client_credentials":
            return _client_credentials(app, fields, endpoint)
        if fields.get("client_assertion") or fields.get("client_secret"):
            failure = _authenticate_client(app, fields, endpoint)
            if failure is not None:
                return failure
        issuer = f"{base(request)}/{state.tenant_id}/v2.0"
        if grant == DEVICE_CODE_GRANT:
            signed_in = redeem_device_code(state, fields)
            if isinstance(signed_in, tuple):
                return _oauth_error(*signed_in)
            user_id, scope, nonce = signed_in, fields.get("scope", ""), ""
        else:
            redeemed = redeem_code(state, fields)
            if isinstance(redeemed, tuple):
                return _oauth_error(*redeemed)
            user_id = redeemed["user_id"]
            scope = fields.get("scope") or redeemed["scope"]
            nonce = redeemed["nonce"]
        answer = delegated_tokens(runtime, app, user_id, scope, issuer=issuer, nonce=nonce)
        if isinstance(answer, tuple):
            return _oauth_error(*answer)
        return JSONResponse(answer)

    def _authenticate_client(
        app: Application, fields: dict[str, str], endpoint: str
    ) -> Response | None:
        if fields.get("client_assertion_type") == ASSERTION_TYPE:
            try:
                verify_client_assertion(app, fields.get("client_assertion", ""), endpoint)
            except AssertionRejected as error:
                return _oauth_error(401, "invalid_client", error.code, error.description)
            return None
        if not _secret_matches(app, fields.get("client_secret", "")):
            return _oauth_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                f"the client secret value, not the client secret ID, for a secret added to app "
                f"'{app.app_id}'.",
            )
        return None

    def _client_credentials(app: Application, fields: dict[str, str], endpoint: str) -> Response:
        scopes = set(fields.get("scope", "").split())
        resource_manager = bool(scopes & ARM_SCOPES)
        if not scopes & _GRAPH_SCOPES and not resource_manager:
            return _oauth_error(
                400,
                "invalid_scope",
                1002012,
                "The provided value for scope is not valid. Client credential flows must have a "
                "scope value with /.default suffixed to the resource identifier.",
            )
        failure = _authenticate_client(app, fields, endpoint)
        if failure is not None:
            return failure
        if not app.service_principal_id:
            return _oauth_error(
                400,
                "invalid_client",
                7000229,
                f"The client application {app.app_id} is missing service principal in the "
                f"tenant {state.tenant_id}.",
            )
        certificate = fields.get("client_assertion_type") == ASSERTION_TYPE
        if resource_manager:
            return JSONResponse(arm_app_token(runtime, app, certificate=certificate))
        access_token = runtime.signer.issue_app_token(
            AppTokenRequest(
                tenant_id=state.tenant_id,
                app_id=app.app_id,
                app_display_name=app.display_name,
                service_principal_id=app.service_principal_id,
                roles=granted_roles(state, app.service_principal_id),
                credential_kind="certificate" if certificate else "secret",
                directory_roles=tuple(directory_role_ids(state, app.service_principal_id)),
            )
        )
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_SECONDS,
                "ext_expires_in": TOKEN_LIFETIME_SECONDS,
                "access_token": access_token,
            }
        )

    async def device_code(request: Request) -> Response:
        tenant = request.path_params["tenant"]
        if not _tenant_known(runtime, tenant):
            return _oauth_error(400, "invalid_request", 90002, f"Tenant '{tenant}' not found.")
        fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        app = state.applications.get(fields.get("client_id", ""))
        if app is None:
            return _oauth_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{fields.get('client_id', '')}' was not found.",
            )
        return JSONResponse(start_device_code(state, app, fields.get("scope", ""), base(request)))

    async def authorize_route(request: Request) -> Response:
        return await authorize(runtime, request)

    async def device_login_route(request: Request) -> Response:
        return await device_login(runtime, request)

    return [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration),
        Route("/{tenant}/discovery/v2.0/keys", keys),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/{tenant}/oauth2/v2.0/devicecode", device_code, methods=["POST"]),
        Route("/{tenant}/oauth2/v2.0/authorize", authorize_route, methods=["GET", "POST"]),
        Route("/devicelogin", device_login_route, methods=["GET", "POST"]),
    ]


def _secret_matches(app: Application, presented: str) -> bool:
    return any(hmac.compare_digest(secret, presented) for secret in app.secrets)


IDENTITY_ROUTE_MODULES = (routes_applications, routes_consent, routes_pim, routes_roles)
