"""Signing people in: the OpenID Connect authorization-code flow with PKCE and the device-code
flow, and the delegated tokens both end in.

A delegated Graph token carries ``scp`` (the delegated permissions consented for the client
through oauth2PermissionGrants), ``wids`` (the template ids of the user's directory roles),
``upn``, ``oid`` and ``name``; an ID token for the client comes with it, and ``client_info`` for
MSAL's account cache. A Global Administrator who asks for delegated permissions the client lacks
consents to them for the organization, as the consent prompt lets one; anyone else gets
AADSTS65001.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dirguard_sandbox.directory_state import Application, DirectoryState, Json
from dirguard_sandbox.graph_routing import Runtime
from dirguard_sandbox.id_token_claims import membership_claims
from dirguard_sandbox.role_catalog import GLOBAL_ADMINISTRATOR
from dirguard_sandbox.routes_arm import arm_delegated_token, wants_arm
from dirguard_sandbox.routes_consent import admin_consent, delegated_scopes
from dirguard_sandbox.routes_roles import directory_role_ids
from dirguard_sandbox.tokens import GRAPH_AUDIENCE, TOKEN_LIFETIME_SECONDS

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_CODE_LIFETIME = 900
_OIDC_SCOPES = {"openid", "profile", "email", "offline_access"}
_GRAPH_PREFIXES = ("https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000/")

OAuthFailure = tuple[int, str, int, str]
"""(HTTP status, OAuth error, AADSTS code, description) for routes_auth to render."""


def find_user(state: DirectoryState, user_name: str) -> str | None:
    wanted = user_name.strip().lower()
    for user_id, user in state.users.items():
        if user["userPrincipalName"].lower() == wanted:
            return user_id
    return None


def check_password(state: DirectoryState, user_name: str, password: str) -> str | None:
    """The user's id when ``password`` is theirs and the account is enabled."""
    user_id = find_user(state, user_name)
    if user_id is None or not state.users[user_id].get("accountEnabled", True):
        return None
    known = state.passwords.get(user_id)
    if known is None or not hmac.compare_digest(known, password):
        return None
    return user_id


def _graph_scopes(requested: str) -> tuple[list[str], bool]:
    """Requested Graph permission names, and whether ``.default`` was asked for."""
    names: list[str] = []
    default = False
    for scope in requested.split():
        if scope in _OIDC_SCOPES:
            continue
        name = scope
        for prefix in _GRAPH_PREFIXES:
            name = name.removeprefix(prefix)
        if name in (".default", "/.default"):
            default = True
        else:
            names.append(name)
    return names, default


def delegated_tokens(
    runtime: Runtime, app: Application, user_id: str, requested: str, *, issuer: str, nonce: str
) -> Json | OAuthFailure:
    """The token response for ``user_id`` signed in to ``app``, or why it cannot have one."""
    state = runtime.state
    if not app.service_principal_id:
        return (
            400,
            "invalid_client",
            7000229,
            f"The client application {app.app_id} is missing service principal in the tenant.",
        )
    if wants_arm(requested):
        return arm_delegated_token(runtime, app, user_id, issuer=issuer, nonce=nonce)
    granted = delegated_scopes(state, app.service_principal_id, user_id)
    wanted, _default = _graph_scopes(requested)
    missing = [name for name in wanted if name not in granted]
    if missing and GLOBAL_ADMINISTRATOR in directory_role_ids(state, user_id):
        # A Global Administrator at the consent prompt consents for the whole organization.
        admin_consent(state, app, user_id, missing)
        granted = delegated_scopes(state, app.service_principal_id, user_id)
        missing = []
    if missing:
        return (
            400,
            "invalid_grant",
            65001,
            f"The user or administrator has not consented to use the application with ID "
            f"'{app.app_id}' named '{app.display_name}' for {', '.join(missing)}. Send an "
            "interactive authorization request for this user and resource.",
        )
    user = state.users[user_id]
    now = int(time.time())
    access: Json = {
        "aud": GRAPH_AUDIENCE,
        "iss": f"https://sts.windows.net/{state.tenant_id}/",
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "acr": "1",
        "amr": ["pwd"],
        "app_displayname": app.display_name,
        "appid": app.app_id,
        "appidacr": "0",
        "idtyp": "user",
        "name": user.get("displayName"),
        "oid": user_id,
        "scp": " ".join(granted),
        "sub": hashlib.sha256(f"{user_id}:{app.app_id}".encode()).hexdigest()[:43],
        "tid": state.tenant_id,
        "unique_name": user["userPrincipalName"],
        "upn": user["userPrincipalName"],
        "uti": uuid.uuid4().hex[:22],
        "ver": "1.0",
        "wids": directory_role_ids(state, user_id),
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
        "sub": access["sub"],
        "tid": state.tenant_id,
        "ver": "2.0",
    }
    if nonce:
        identity["nonce"] = nonce
    identity.update(membership_claims(state, app, user_id))
    client_info = json.dumps({"uid": user_id, "utid": state.tenant_id}).encode()
    return {
        "token_type": "Bearer",
        "scope": " ".join(f"https://graph.microsoft.com/{name}" for name in granted),
        "expires_in": TOKEN_LIFETIME_SECONDS,
        "ext_expires_in": TOKEN_LIFETIME_SECONDS,
        "access_token": runtime.signer.sign(access),
        "id_token": runtime.signer.sign(identity),
        "client_info": base64.urlsafe_b64encode(client_info).rstrip(b"=").decode(),
    }


# ------------------------------------------------------------------------ device code
def start_device_code(state: DirectoryState, app: Application, scope: str, base: str) -> Json:
    device_code = secrets.token_urlsafe(32)
    user_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
    state.sign_ins[device_code] = {
        "kind": "device_code",
        "client_id": app.app_id,
        "scope": scope,
        "user_code": user_code,
        "user_id": None,
        "expires": time.time() + DEVICE_CODE_LIFETIME,
    }
    verification = f"{base}/devicelogin"
    return {
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": verification,
        "expires_in": DEVICE_CODE_LIFETIME,
        "interval": 1,
        "message": f"To sign in, use a web browser to open the page {verification} and enter "
        f"the code {user_code} to authenticate.",
    }


def approve_device_code(state: DirectoryState, user_code: str, user_id: str) -> bool:
    """Mark the pending device code ``user_code`` as signed in by ``user_id``."""
    for entry in state.sign_ins.values():
        if entry["kind"] == "device_code" and entry["user_code"] == user_code.strip().upper():
            entry["user_id"] = user_id
            return True
    return False


def redeem_device_code(state: DirectoryState, fields: dict[str, str]) -> str | OAuthFailure:
    """The signed-in user's id, or the polling answer (pending, expired, unknown)."""
    entry = state.sign_ins.get(fields.get("device_code", ""))
    if entry is None or entry["kind"] != "device_code":
        return (400, "invalid_grant", 70000, "The provided device code is not valid.")
    if entry["client_id"] != fields.get("client_id"):
        return (400, "invalid_grant", 70000, "The device code was issued to another client.")
    if entry["expires"] < time.time():
        del state.sign_ins[fields["device_code"]]
        return (
            400,
            "expired_token",
            70020,
            "The provided value for the input parameter "
            "'device_code' is not valid. This device code has expired.",
        )
    if entry["user_id"] is None:
        return (
            400,
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )
    del state.sign_ins[fields["device_code"]]
    if not fields.get("scope"):
        # The scope is bound to the device code when it is issued; MSAL does not repeat it.
        fields["scope"] = entry["scope"]
    user_id: str = entry["user_id"]
    return user_id


def device_login_page(message: str = "") -> HTMLResponse:
    note = f"<p>{html.escape(message)}</p>" if message else ""
    return HTMLResponse(
        "<!doctype html><title>Sign in — sandbox tenant</title>"
        f"<h1>Enter code</h1>{note}<form method=post>"
        "<label>Code <input name=user_code></label>"
        "<label>User <input name=username></label>"
        "<label>Password <input name=password type=password></label>"
        "<button>Sign in</button></form>"
    )


async def device_login(runtime: Runtime, request: Request) -> Response:
    if request.method == "GET":
        return device_login_page()
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    user_id = check_password(runtime.state, form.get("username", ""), form.get("password", ""))
    if user_id is None:
        return device_login_page("The user name or password is incorrect.")
    if not approve_device_code(runtime.state, form.get("user_code", ""), user_id):
        return device_login_page("That code is not valid or has expired.")
    return HTMLResponse("<p>You have signed in. You may now close this window.</p>")


# ------------------------------------------------------------- authorization code
def _registered_redirects(state: DirectoryState, app: Application) -> list[str]:
    record = state.application_objects.get(app.object_id, {})
    web = record.get("web") or {}
    public = record.get("publicClient") or {}
    return [*web.get("redirectUris", []), *public.get("redirectUris", [])]


async def authorize(runtime: Runtime, request: Request) -> Response:
    """GET shows a sign-in form; POST checks the password and redirects with a code."""
    state = runtime.state
    params: dict[str, Any] = dict(request.query_params)
    if request.method == "POST":
        params.update(parse_qsl((await request.body()).decode("utf-8", "replace")))
    app = state.applications.get(params.get("client_id", ""))
    if app is None:
        return HTMLResponse("AADSTS700016: Application not found in the directory.", 400)
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in _registered_redirects(state, app):
        return HTMLResponse(
            "AADSTS50011: The redirect URI specified in the request does not match the redirect "
            "URIs configured for the application.",
            400,
        )
    if params.get("response_type") != "code":
        return HTMLResponse("AADSTS900144: response_type must be 'code'.", 400)
    if params.get("code_challenge_method", "S256") != "S256" or not params.get("code_challenge"):
        return HTMLResponse("AADSTS9002325: PKCE with code_challenge_method S256 is required.", 400)
    if request.method == "GET":
        hidden = "".join(
            f'<input type=hidden name="{html.escape(k)}" value="{html.escape(str(v))}">'
            for k, v in params.items()
        )
        hint = html.escape(params.get("login_hint", ""))
        return HTMLResponse(
            "<!doctype html><title>Sign in — sandbox tenant</title><form method=post>"
            f'{hidden}<label>User <input name=username value="{hint}">'
            "</label><label>Password <input name=password type=password></label>"
            "<button>Sign in</button></form>"
        )
    user_id = check_password(state, params.get("username", ""), params.get("password", ""))
    if user_id is None:
        return HTMLResponse("AADSTS50126: Invalid username or password.", 400)
    code = secrets.token_urlsafe(32)
    state.sign_ins[code] = {
        "kind": "authorization_code",
        "client_id": app.app_id,
        "scope": params.get("scope", ""),
        "user_id": user_id,
        "redirect_uri": redirect_uri,
        "challenge": params["code_challenge"],
        "nonce": params.get("nonce", ""),
        "expires": time.time() + 600,
    }
    answer = {"code": code}
    if "state" in params:
        answer["state"] = params["state"]
    return RedirectResponse(f"{redirect_uri}?{urlencode(answer)}", status_code=302)


def redeem_code(state: DirectoryState, fields: dict[str, str]) -> Json | OAuthFailure:
    """The pending sign-in of an authorization code once its PKCE verifier matches."""
    entry = state.sign_ins.pop(fields.get("code", ""), None)
    if entry is None or entry["kind"] != "authorization_code" or entry["expires"] < time.time():
        return (
            400,
            "invalid_grant",
            70008,
            "The provided authorization code or refresh token has expired or is not valid.",
        )
    if entry["client_id"] != fields.get("client_id") or entry["redirect_uri"] != fields.get(
        "redirect_uri"
    ):
        return (
            400,
            "invalid_grant",
            70000,
            "The code was issued to another client or redirect URI.",
        )
    verifier = fields.get("code_verifier", "")
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if not verifier or not hmac.compare_digest(challenge, entry["challenge"]):
        return (
            400,
            "invalid_grant",
            501481,
            "The Code_Verifier does not match the "
            "code_challenge supplied in the authorization request.",
        )
    return entry
