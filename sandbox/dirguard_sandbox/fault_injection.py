"""Fault injection, off by default: storms of 429, 503 or 504 answers, of answers whose JSON
is cut short (``"kind": "malformed_json"``), of slow answers (``"kind": "slow"``, the real answer
after ``delay_seconds``) or of dropped connections (``"kind": "drop"``: the answer's headers and
its first bytes, then the connection closes), on Graph paths.

Controlled on a separate admin path guarded by the admin key the serve JSON line prints:

- ``POST /_sandbox/faults`` ``{"status": 503, "rate": 0.5, "duration_seconds": 30,
  "path_pattern": "/v1.0/users*", "retry_after": 2.5, "seed": 1}`` starts a storm
  (``{"kind": "malformed_json", ...}`` answers 200 with a body cut mid-JSON instead);
- ``GET /_sandbox/faults`` lists the storms still running; ``DELETE /_sandbox/faults`` ends all;
- ``POST /_sandbox/faults/delta-token-expiry`` expires every delta token issued so far (410
  ``syncStateNotFound`` on its next use), to test a resync in the middle of a capture;
- ``GET``/``PUT /_sandbox/faults/audit-latency`` reads or sets how late new directoryAudits
  appear (``{"audit_latency": "realistic"}`` or seconds).

``rate`` is the share of matching requests that fail (drawn from a seeded generator so a run
repeats); ``path_pattern`` is a shell-style pattern on the request path; time is the tenant's
clock, except a slow answer's delay, which is real time (it is what a client waits).

A slow answer sleeps, then sends the request through the app again with the faults stood aside
for that one request (a context variable): throttling and the handler see it once, as usual.
"""

from __future__ import annotations

import asyncio
import datetime
import fnmatch
import hmac
import json
import random
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from dirguard_sandbox.audit_latency import parse_latency
from dirguard_sandbox.directory_state import DirectoryState, new_id
from dirguard_sandbox.errors import GraphError

ADMIN_KEY_HEADER = "x-sandbox-admin-key"
DELTA_EXPIRY_PATH = "/_sandbox/faults/delta-token-expiry"
AUDIT_LATENCY_PATH = "/_sandbox/faults/audit-latency"
STATUSES = {
    429: ("TooManyRequests", "Too many requests (injected by the sandbox)."),
    503: ("ServiceNotAvailable", "The service is temporarily unavailable (injected)."),
    504: ("GatewayTimeout", "The gateway timed out (injected by the sandbox)."),
}


KINDS = ("error", "malformed_json", "slow", "drop")
MALFORMED_BODY = b'{"@odata.context":"$metadata#users","value":[{"id":"'
MAX_DELAY_SECONDS = 300.0
_STOOD_ASIDE: ContextVar[bool] = ContextVar("sandbox_faults_stood_aside", default=False)


class SlowAnswer(Response):
    """The request's real answer, ``delay`` seconds late."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await asyncio.sleep(self.delay)
        token = _STOOD_ASIDE.set(True)
        try:
            await scope["app"](scope, receive, send)
        finally:
            _STOOD_ASIDE.reset(token)


class DroppedConnection(Response):
    """Headers promising a body, the body's first bytes, then nothing: the server closes the
    connection when the app returns without completing the answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": MALFORMED_BODY, "more_body": True})


@dataclass(kw_only=True)
class Storm:
    kind: str
    status: int
    rate: float
    until: datetime.datetime
    path_pattern: str
    retry_after: float | None
    rng: random.Random
    delay_seconds: float = 0.0

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "rate": self.rate,
            "until": self.until.isoformat(),
            "path_pattern": self.path_pattern,
            "retry_after": self.retry_after,
            **({"delay_seconds": self.delay_seconds} if self.kind == "slow" else {}),
        }


def _field(body: dict[str, Any], name: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = body.get(name, default)
    if value is None and default is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"'{name}' must be a {getattr(kind, '__name__', 'number')}")
    return value


def parse_storm(body: Any, now: datetime.datetime) -> Storm:
    """A storm from the admin request's JSON; ValueError naming the bad field."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    unknown = set(body) - {
        "kind",
        "status",
        "rate",
        "duration_seconds",
        "path_pattern",
        "retry_after",
        "seed",
        "delay_seconds",
    }
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    kind = _field(body, "kind", str, "error")
    if kind not in KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    status = _field(body, "status", int, 503 if kind == "error" else 200)
    if kind != "error":
        if status != 200:
            raise ValueError(f"'status' of a {kind} storm must be 200")
    elif status not in STATUSES:
        raise ValueError(f"'status' must be one of {sorted(STATUSES)}, not {status}")
    rate = float(_field(body, "rate", (int, float), 1.0))
    if not 0.0 < rate <= 1.0:
        raise ValueError("'rate' must be above 0 and at most 1")
    duration = float(_field(body, "duration_seconds", (int, float), 60))
    if duration <= 0:
        raise ValueError("'duration_seconds' must be positive")
    pattern = _field(body, "path_pattern", str, "*")
    retry_after = _field(body, "retry_after", (int, float), None)
    seed = _field(body, "seed", int, 0)
    if "delay_seconds" in body and kind != "slow":
        raise ValueError("'delay_seconds' is for a slow storm only")
    delay = float(_field(body, "delay_seconds", (int, float), 5.0))
    if not 0.0 < delay <= MAX_DELAY_SECONDS:
        raise ValueError(f"'delay_seconds' must be above 0 and at most {MAX_DELAY_SECONDS:g}")
    return Storm(
        kind=kind,
        status=status,
        rate=rate,
        until=now + datetime.timedelta(seconds=duration),
        path_pattern=pattern,
        retry_after=None if retry_after is None else float(retry_after),
        rng=random.Random(seed),  # noqa: S311 - a repeatable storm, not a secret
        delay_seconds=delay if kind == "slow" else 0.0,
    )


@dataclass
class FaultInjector:
    state: DirectoryState
    admin_key: str | None = None
    storms: list[Storm] = field(default_factory=list)

    def active(self) -> list[Storm]:
        now = self.state.now()
        self.storms = [storm for storm in self.storms if storm.until > now]
        return self.storms

    def check(self, path: str) -> Response | None:
        """The injected answer when a storm covering ``path`` strikes this request (an error is
        raised as a GraphError), else None."""
        if _STOOD_ASIDE.get():
            return None
        for storm in self.active():
            if fnmatch.fnmatchcase(path, storm.path_pattern) and storm.rng.random() < storm.rate:
                if storm.kind == "malformed_json":
                    return Response(MALFORMED_BODY, media_type="application/json")
                if storm.kind == "slow":
                    return SlowAnswer(storm.delay_seconds)
                if storm.kind == "drop":
                    return DroppedConnection()
                code, message = STATUSES[storm.status]
                headers = {}
                if storm.retry_after is not None:
                    headers["Retry-After"] = f"{storm.retry_after:g}"
                raise GraphError(storm.status, code, message, headers=headers)
        return None

    def _authorized(self, request: Request) -> bool:
        given = request.headers.get(ADMIN_KEY_HEADER, "")
        return self.admin_key is not None and hmac.compare_digest(given, self.admin_key)

    async def control(self, request: Request) -> Response:
        if not self._authorized(request):
            return JSONResponse(
                {"error": f"missing or wrong {ADMIN_KEY_HEADER} header"}, status_code=403
            )
        if request.method == "DELETE":
            self.storms = []
            return Response(status_code=204)
        if request.method == "POST":
            try:
                storm = parse_storm(json.loads(await request.body() or b"null"), self.state.now())
            except (ValueError, json.JSONDecodeError) as error:
                return JSONResponse({"error": f"invalid storm: {error}"}, status_code=400)
            self.storms.append(storm)
            return JSONResponse(storm.describe(), status_code=201)
        return JSONResponse({"storms": [storm.describe() for storm in self.active()]})

    async def expire_delta_tokens(self, request: Request) -> Response:
        """Make every delta token and delta page link issued so far answer 410
        ``syncStateNotFound``, as Graph does once a token has expired ("Use delta query to track
        changes", https://learn.microsoft.com/graph/delta-query-overview: a client must then
        start a new full round), without waiting the token's 7 days. Tokens are positions under
        the tenant's epoch; a new epoch orphans them all, and a new round works at once."""
        if not self._authorized(request):
            return JSONResponse(
                {"error": f"missing or wrong {ADMIN_KEY_HEADER} header"}, status_code=403
            )
        self.state.epoch = new_id()
        self.state.delta_sessions.clear()
        return JSONResponse({"epoch": self.state.epoch}, status_code=201)

    async def audit_latency(self, request: Request) -> Response:
        """Read (GET) or set (PUT ``{"audit_latency": "realistic" | seconds}``) how late new
        directoryAudits appear (``audit_latency.py``), e.g. to test late-actor reconciliation
        against a served tenant; entries already held back keep their time."""
        if not self._authorized(request):
            return JSONResponse(
                {"error": f"missing or wrong {ADMIN_KEY_HEADER} header"}, status_code=403
            )
        if request.method == "PUT":
            try:
                body = json.loads(await request.body() or b"null")
                if not isinstance(body, dict) or set(body) != {"audit_latency"}:
                    raise ValueError('the body must be {"audit_latency": ...}')
                self.state.audit_latency = parse_latency(str(body["audit_latency"]))
            except (ValueError, json.JSONDecodeError) as error:
                return JSONResponse({"error": f"invalid audit latency: {error}"}, status_code=400)
        return JSONResponse({"audit_latency": self.state.audit_latency})

    def routes(self) -> list[Route]:
        return [
            Route("/_sandbox/faults", self.control, methods=["GET", "POST", "DELETE"]),
            Route(DELTA_EXPIRY_PATH, self.expire_delta_tokens, methods=["POST"]),
            Route(AUDIT_LATENCY_PATH, self.audit_latency, methods=["GET", "PUT"]),
        ]
