"""How a Graph request reaches its handler: bearer validation, the endpoint's permission check,
and the call context handlers receive. Handlers register with ``@handles(method, template)``
using the templates of ``permissions_table.ENDPOINTS``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from dirguard_sandbox.audit import Actor
from dirguard_sandbox.delegated_access import user_may
from dirguard_sandbox.directory_state import DirectoryState
from dirguard_sandbox.errors import bad_request, insufficient_privileges, invalid_token
from dirguard_sandbox.permissions_table import Endpoint
from dirguard_sandbox.tokens import TokenRejected, TokenSigner

Json = dict[str, Any]
GRAPH_VERSIONS = ("v1.0", "beta")
"""The base paths Graph answers on; ``/beta`` also serves the beta-only ``BETA_ENDPOINTS``."""
GRAPH_CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)


@dataclass(kw_only=True)
class Runtime:
    """What every handler shares: the tenant and the token signer."""

    state: DirectoryState
    signer: TokenSigner


@dataclass(kw_only=True)
class Call:
    """One authorized Graph request."""

    request: Request
    state: DirectoryState
    claims: Json
    actor: Actor
    graph_base: str

    def param(self, name: str) -> str:
        value: str = self.request.path_params[name]
        return value

    @property
    def path(self) -> str:
        """The request path below its version (``/v1.0`` or ``/beta``)."""
        return "/" + self.request.url.path.lstrip("/").partition("/")[2]

    async def body(self) -> Json:
        raw = await self.request.body()
        try:
            parsed = json.loads(raw or b"null")
        except json.JSONDecodeError as error:
            raise bad_request(f"Invalid JSON in the request body: {error.msg}.") from error
        if not isinstance(parsed, dict):
            raise bad_request("The request body must be a JSON object.")
        return parsed


Handler = Callable[[Call], Awaitable[Response]]
HANDLERS: dict[tuple[str, str], Handler] = {}


def handles(method: str, template: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        HANDLERS[(method, template)] = handler
        return handler

    return register


def graph_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    content = json.dumps(body, ensure_ascii=False).encode()
    return Response(content, status_code=status, media_type=GRAPH_CONTENT_TYPE, headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


def _caller(claims: Json, state: DirectoryState, request: Request) -> Actor:
    """Who calls: a signed-in user (delegated token, ``scp``) or an application. A user's audit
    entries carry "the client IP address associated with the user performing the activity"
    (userIdentity.ipAddress, https://learn.microsoft.com/graph/api/resources/useridentity): the
    token's ``ipaddr`` claim when it has one, else the address the request came from."""
    if "scp" in claims:
        client = request.client.host if request.client is not None else None
        return Actor(
            app_id=claims.get("appid"),
            user_id=claims.get("oid"),
            user_principal_name=claims.get("upn"),
            display_name=claims.get("name"),
            ip_address=claims.get("ipaddr") or client,
        )
    return Actor(
        app_id=claims.get("appid"),
        service_principal_id=claims.get("oid"),
        display_name=claims.get("app_displayname"),
    )


def authorize(runtime: Runtime, endpoint: Endpoint, request: Request) -> Json:
    """The token's claims if it may call ``endpoint``; else a 401 or 403 GraphError."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise invalid_token("Access token is empty.")
    try:
        claims = runtime.signer.verify(token.strip(), tenant_id=runtime.state.tenant_id)
    except TokenRejected as error:
        raise invalid_token(str(error)) from error
    # A delegated token's permissions are its space-separated ``scp``; an app-only token's are
    # its ``roles``.
    roles = str(claims["scp"]).split() if "scp" in claims else claims.get("roles") or []
    if endpoint.delegated_only and "scp" not in claims:
        raise insufficient_privileges()
    if not isinstance(roles, list) or not endpoint.allowed(str(role) for role in roles):
        raise insufficient_privileges()
    if "scp" in claims and not user_may(
        endpoint.method, endpoint.template, [str(w) for w in claims.get("wids") or []]
    ):
        raise insufficient_privileges()
    return claims


def endpoint_handler(
    runtime: Runtime, endpoint: Endpoint
) -> Callable[[Request], Awaitable[Response]]:
    handler = HANDLERS.get((endpoint.method, endpoint.template))
    if handler is None:
        raise LookupError(f"no handler for {endpoint.method} {endpoint.template}")

    async def run(request: Request) -> Response:
        claims = authorize(runtime, endpoint, request)
        version = request.url.path.lstrip("/").partition("/")[0]
        base = f"{request.url.scheme}://{request.url.netloc}/{version}"
        call = Call(
            request=request,
            state=runtime.state,
            claims=claims,
            actor=_caller(claims, runtime.state, request),
            graph_base=base,
        )
        return await handler(call)

    return run


def starlette_paths(template: str, version: str = "v1.0") -> list[str]:
    """The URL paths (below ``/{version}``) that answer one OpenAPI template, with Graph's
    aliases."""
    path = template
    for part in path.split("/"):
        if part.startswith("{") and part.endswith("}"):
            path = path.replace(part, "{" + part[1:-1].replace("-", "_") + "}")
    variants = [path]
    if path.endswith("/delta()"):
        stem = path.removesuffix("/delta()")
        variants = [
            f"{stem}/delta",
            f"{stem}/delta()",
            f"{stem}/microsoft.graph.delta",
            f"{stem}/microsoft.graph.delta()",
        ]
    if "/graph." in path:
        # Both forms of a type cast: msgraph-sdk's own request builders send the short alias
        # (``deletedItems/graph.user``), Microsoft's pages the full namespace
        # (``deletedItems/microsoft.graph.user``); Graph accepts either.
        variants = [path.replace("/graph.", "/microsoft.graph."), path]
    if "/deletedItems" in path:
        # "List deletedItems" (https://learn.microsoft.com/graph/api/directory-deleteditems-list)
        # writes ``/directory/deleteditems/microsoft.graph.user``: the segment answers in lower
        # case too.
        variants += [variant.replace("/deletedItems", "/deleteditems") for variant in variants]
    return [f"/{version}{variant}" for variant in variants]
