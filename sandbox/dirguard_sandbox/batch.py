"""JSON batching: ``POST /v1.0/$batch`` with at most 20 requests.

Each request is run through the same app as a request of its own (the batch's bearer token, its
own permission check, throttling and faults), and answered with its own ``id``, ``status``,
``headers`` and ``body``. ``dependsOn`` orders requests; a request whose dependency failed is not
run and answers 424 Failed Dependency. URLs are relative to the version (``/users/{id}`` or
``users/{id}``); an absolute URL, a duplicate or unknown id, a dependency cycle, a write without a
body, a nested ``$batch`` or more than 20 requests make the whole batch a 400, as Graph does.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message

from dirguard_sandbox.errors import GraphError, bad_request, error_body
from dirguard_sandbox.graph_routing import graph_json

MAX_REQUESTS = 20
Json = dict[str, Any]
_KEPT_HEADERS = {"content-type", "location", "retry-after", "x-ms-resource-unit", "odata-version"}


def _invalid(message: str) -> GraphError:
    return bad_request(message, code="BadRequest")


def _checked(payload: Any) -> list[Json]:
    """The batch's requests in an order that honours ``dependsOn``; a 400 for a bad batch."""
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise _invalid("Invalid batch payload format: expected an object with a 'requests' array.")
    requests: list[Any] = payload["requests"]
    if not requests:
        raise _invalid("Invalid batch payload format: the 'requests' array is empty.")
    if len(requests) > MAX_REQUESTS:
        raise _invalid(
            f"Number of requests in the batch ({len(requests)}) exceeds the limit of "
            f"{MAX_REQUESTS}."
        )
    by_id: dict[str, Json] = {}
    for item in requests:
        if not isinstance(item, dict):
            raise _invalid("Invalid batch payload format: each request must be an object.")
        request_id, method, url = item.get("id"), item.get("method"), item.get("url")
        if not isinstance(request_id, str) or not request_id:
            raise _invalid("Invalid batch payload format: every request needs a string 'id'.")
        if request_id in by_id:
            raise _invalid(f"Request id '{request_id}' is used more than once in the batch.")
        if not isinstance(method, str) or not isinstance(url, str) or not url:
            raise _invalid(f"Request id '{request_id}' needs a 'method' and a 'url'.")
        if urlsplit(url).scheme or url.startswith("//"):
            raise _invalid(f"Request id '{request_id}': the url must be relative, not '{url}'.")
        if urlsplit(url).path.lstrip("/").startswith("$batch"):
            raise _invalid(f"Request id '{request_id}': a batch cannot contain another $batch.")
        if method.upper() in {"POST", "PATCH", "PUT"} and "body" in item:
            headers = {key.lower() for key in (item.get("headers") or {})}
            if "content-type" not in headers:
                raise _invalid(
                    f"Write request id : {request_id} does not contain Content-Type header."
                )
        depends = item.get("dependsOn", [])
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise _invalid(f"Request id '{request_id}': 'dependsOn' must be a list of ids.")
        by_id[request_id] = item
    ordered: list[Json] = []
    placed: set[str] = set()
    visiting: set[str] = set()

    def place(request_id: str, needed_by: str) -> None:
        if request_id in placed:
            return
        if request_id not in by_id:
            raise _invalid(f"Request id '{needed_by}' depends on unknown id '{request_id}'.")
        if request_id in visiting:
            raise _invalid(f"Request id '{request_id}' is part of a dependsOn cycle.")
        visiting.add(request_id)
        for dependency in by_id[request_id].get("dependsOn", []):
            place(dependency, request_id)
        visiting.discard(request_id)
        placed.add(request_id)
        ordered.append(by_id[request_id])

    for request_id in by_id:
        place(request_id, request_id)
    return ordered


async def _run_one(app: ASGIApp, outer: Request, item: Json) -> Json:
    split = urlsplit(item["url"])
    path = "/v1.0/" + split.path.lstrip("/")
    headers = [
        (b"authorization", outer.headers.get("authorization", "").encode("latin-1")),
        # the batch's client: fault storms aimed at one client reach its batched requests too
        (b"user-agent", outer.headers.get("user-agent", "").encode("latin-1")),
    ]
    for name, value in (item.get("headers") or {}).items():
        headers.append((str(name).lower().encode("latin-1"), str(value).encode("latin-1")))
    body = b""
    if "body" in item:
        body = json.dumps(item["body"]).encode()
    scope = {
        **outer.scope,
        "method": item["method"].upper(),
        "path": path,
        "raw_path": path.encode(),
        "query_string": split.query.encode(),
        "headers": headers,
    }
    scope.pop("router", None)
    scope.pop("endpoint", None)
    scope["path_params"] = {}
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 500
    answer_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            for name, value in message.get("headers", []):
                key = name.decode("latin-1").lower()
                if key in _KEPT_HEADERS:
                    answer_headers[key] = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    result: Json = {"id": item["id"], "status": status, "headers": answer_headers}
    raw = b"".join(chunks)
    if raw:
        try:
            result["body"] = json.loads(raw)
        except ValueError:
            result["body"] = raw.decode("utf-8", "replace")
    return result


def _failed_dependency(item: Json, request: Request) -> Json:
    state: Any = request.scope.get("state", {})
    return {
        "id": item["id"],
        "status": 424,
        "headers": {"content-type": "application/json"},
        "body": error_body(
            "FailedDependency",
            "The request could not be run because a request it depends on failed.",
            request_id=state.get("request_id", ""),
            client_request_id=state.get("client_request_id", ""),
        ),
    }


def _relative_to_own_base(payload: Any, base: str) -> None:
    """Microsoft's SDKs send each request's absolute URL on the service's own base, which Graph
    accepts: such URLs become relative (any other absolute URL stays, and is refused)."""
    requests = payload.get("requests") if isinstance(payload, dict) else None
    for item in requests if isinstance(requests, list) else []:
        url = item.get("url") if isinstance(item, dict) else None
        if isinstance(url, str) and url.startswith(base):
            item["url"] = url[len(base) - 1 :]


async def run_batch(request: Request) -> Response:
    try:
        payload = json.loads(await request.body() or b"null")
    except ValueError as error:
        raise _invalid("Invalid batch payload format: the body is not JSON.") from error
    _relative_to_own_base(payload, f"{request.url.scheme}://{request.url.netloc}/v1.0/")
    ordered = _checked(payload)
    app: ASGIApp = request.scope["app"]
    statuses: dict[str, int] = {}
    responses: list[Json] = []
    for item in ordered:
        if any(statuses[dep] >= 400 for dep in item.get("dependsOn", [])):
            answer = _failed_dependency(item, request)
        else:
            answer = await _run_one(app, request, item)
        statuses[item["id"]] = answer["status"]
        responses.append(answer)
    return graph_json({"responses": responses})


def batch_route() -> Route:
    return Route("/v1.0/$batch", run_batch, methods=["POST"])
