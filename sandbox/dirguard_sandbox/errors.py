"""Graph's error envelope: ``{"error": {"code", "message", "innerError": {...}}}``."""

from __future__ import annotations

import datetime
from typing import Any


class GraphError(Exception):
    """An answer in Graph's error envelope; raised by handlers, rendered by the app."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def error_body(code: str, message: str, *, request_id: str, client_request_id: str) -> Any:
    """The JSON body Graph sends with an error (``date`` without fractional seconds, as Graph)."""
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": now.strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }


def not_found(resource_id: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{resource_id}' does not exist or one of its queried reference-property "
        "objects are not present.",
    )


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def insufficient_privileges() -> GraphError:
    return GraphError(
        403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
    )


def invalid_token(message: str) -> GraphError:
    return GraphError(401, "InvalidAuthenticationToken", message)
