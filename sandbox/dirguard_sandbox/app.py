"""The ASGI application: Entra token endpoints at the root, Microsoft Graph under ``/v1.0``.

Every answer carries ``request-id`` and ``client-request-id`` headers (the client's own id echoed
when it sent one), and every Graph error uses Graph's envelope.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dirguard_sandbox import (
    routes_admin_units,
    routes_agreements,
    routes_auth_methods,
    routes_calendar,
    routes_contacts_invitations,
    routes_deleted_items,
    routes_delta_extras,
    routes_devices,
    routes_directory,
    routes_group_licenses,
    routes_groups,
    routes_licenses,
    routes_mail_signins,
    routes_manager,
    routes_mfa_requirements,
    routes_owners,
    routes_people,
    routes_pim_policies,
    routes_policies,
    routes_relationships,
    routes_reports,
    routes_tenant_settings,
    routes_users,
)
from dirguard_sandbox.batch import batch_route
from dirguard_sandbox.directory_state import DirectoryState
from dirguard_sandbox.errors import GraphError, error_body
from dirguard_sandbox.fault_injection import FaultInjector
from dirguard_sandbox.graph_routing import (
    GRAPH_VERSIONS,
    Runtime,
    endpoint_handler,
    graph_json,
    starlette_paths,
)
from dirguard_sandbox.permissions_table import BETA_ENDPOINTS, ENDPOINTS, Endpoint
from dirguard_sandbox.request_guard import RequestGuard
from dirguard_sandbox.routes_arm import arm_routes
from dirguard_sandbox.routes_auth import auth_routes
from dirguard_sandbox.throttling import Throttle
from dirguard_sandbox.tokens import TokenSigner

ROUTE_MODULES = (
    routes_users,
    routes_groups,
    routes_directory,
    routes_deleted_items,
    routes_manager,
    routes_policies,
    routes_pim_policies,
    routes_relationships,
    routes_owners,
    routes_tenant_settings,
    routes_auth_methods,
    routes_mfa_requirements,
    routes_licenses,
    routes_group_licenses,
    routes_admin_units,
    routes_agreements,
    routes_contacts_invitations,
    routes_delta_extras,
    routes_mail_signins,
    routes_people,
    routes_reports,
    routes_devices,
    routes_calendar,
)
"""Imported for their ``@handles`` registrations."""


class RequestIds:
    """ASGI middleware: give each request a request-id and echo the client's id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        client_id = request_id
        for name, value in scope.get("headers", []):
            if name.lower() == b"client-request-id":
                client_id = value.decode("latin-1")
        scope.setdefault("state", {})
        scope["state"]["request_id"] = request_id
        scope["state"]["client_request_id"] = client_id

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"request-id", request_id.encode()))
                headers.append((b"client-request-id", client_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_ids)


def _ids(request: Request) -> tuple[str, str]:
    state: Any = request.scope.get("state", {})
    return state.get("request_id", ""), state.get("client_request_id", "")


async def _graph_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, GraphError)
    request_id, client_id = _ids(request)
    body = error_body(error.code, error.message, request_id=request_id, client_request_id=client_id)
    return graph_json(body, error.status, headers=error.headers)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    request_id, client_id = _ids(request)
    if error.status_code == 405:
        code, message = (
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request target.",
        )
    else:
        segments = [part for part in request.url.path.split("/") if part]
        versioned = len(segments) > 1 and segments[0] in GRAPH_VERSIONS
        segment = segments[1] if versioned else request.url.path
        code, message = "BadRequest", f"Resource not found for the segment '{segment}'."
    status = 405 if error.status_code == 405 else 400
    body = error_body(code, message, request_id=request_id, client_request_id=client_id)
    return graph_json(body, status)


def _variable_segment_last(served: tuple[Endpoint, str]) -> bool:
    """Fixed segments first: ``/users/$count``, ``/applications/delta`` and
    ``/directory/deletedItems/graph.user`` must not reach ``/users/{user-id}``,
    ``/applications/{application-id}`` or ``/directory/deletedItems/{directoryObject-id}``."""
    template = served[0].template
    return not any(fixed in template for fixed in ("$count", "/delta()", "/graph."))


def build_app(
    state: DirectoryState,
    signer: TokenSigner | None = None,
    *,
    throttling: bool = True,
    admin_key: str | None = None,
) -> ASGIApp:
    """The sandbox app; ``throttling`` applies Graph's limits, ``admin_key`` opens the fault
    injection control (closed when None)."""
    runtime = Runtime(state=state, signer=signer or TokenSigner())
    routes = auth_routes(runtime) + arm_routes(runtime)
    guard = RequestGuard(
        throttle=Throttle(state, enabled=throttling),
        faults=FaultInjector(state, admin_key=admin_key),
    )
    routes += guard.faults.routes()
    routes += routes_mail_signins.outbox_routes(state, admin_key)
    routes += routes_reports.download_routes(state)
    routes += routes_contacts_invitations.redemption_routes(state, admin_key)
    served = [(e, version) for e in ENDPOINTS for version in GRAPH_VERSIONS]
    served += [(endpoint, "beta") for endpoint in BETA_ENDPOINTS]
    for endpoint, version in sorted(served, key=_variable_segment_last):
        handler = guard.wrap(endpoint, endpoint_handler(runtime, endpoint))
        for path in starlette_paths(endpoint.template, version):
            routes.append(Route(path, handler, methods=[endpoint.method]))
    routes.append(batch_route())
    app = Starlette(
        routes=routes,
        exception_handlers={GraphError: _graph_error, HTTPException: _http_error},
    )
    return RequestIds(app)
