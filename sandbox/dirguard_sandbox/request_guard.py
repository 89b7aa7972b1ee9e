"""What stands in front of every Graph route: injected faults first, then throttling; every answer
(errors included) carries the ``x-ms-resource-unit`` the request cost."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from dirguard_sandbox.errors import GraphError
from dirguard_sandbox.fault_injection import FaultInjector
from dirguard_sandbox.permissions_table import Endpoint
from dirguard_sandbox.throttling import Throttle, app_id_of

RouteHandler = Callable[[Request], Awaitable[Response]]
RESOURCE_UNIT_HEADER = "x-ms-resource-unit"


@dataclass(frozen=True, kw_only=True)
class RequestGuard:
    throttle: Throttle
    faults: FaultInjector

    def wrap(self, endpoint: Endpoint, handler: RouteHandler) -> RouteHandler:
        async def guarded(request: Request) -> Response:
            injected = self.faults.check(
                request.url.path,
                user_agent=request.headers.get("user-agent", ""),
                query=request.url.query,
            )
            if injected is not None:
                return injected
            cost = self.throttle.admit(
                app_id=app_id_of(request.headers.get("authorization", "")),
                method=endpoint.method,
                template=endpoint.template,
                params=request.query_params,
            )
            try:
                response = await handler(request)
            except GraphError as error:
                error.headers.setdefault(RESOURCE_UNIT_HEADER, str(cost))
                raise
            response.headers[RESOURCE_UNIT_HEADER] = str(cost)
            return response

        return guarded
