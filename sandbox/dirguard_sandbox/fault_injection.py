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
  ``syncStateNotFound`` on its next use), to test a resync in the middle of a capture; with
  ``{"after_pages": n}`` it is armed instead and fires just before the (n+1)-th request that
  continues a delta round (a ``$skiptoken`` or a ``$deltatoken`` other than ``latest``), which
  then answers 410: the middle of a client's capture, whatever else it sends first;
- ``GET``/``PUT /_sandbox/faults/audit-latency`` reads or sets how late new directoryAudits
  appear (``{"audit_latency": "realistic"}`` or seconds).

``rate`` is the share of matching requests that fail (drawn from a seeded generator so a run
repeats); ``path_pattern`` is a shell-style pattern on the request path and ``user_agent`` one
on the ``User-Agent`` header (``"dirguard/*"``: only dirguard's own requests fail, not a test's
setup); an error storm's ``status`` may be a list (``[429, 503]``: each failure one of them,
drawn from the same generator). ``GET`` shows per storm how many requests it ``matched`` and how
many it ``injected``. The requests of a ``$batch`` carry the batch's ``User-Agent`` and are
matched one by one, as Graph throttles each request of a batch on its own. Time is the tenant's
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
from urllib.parse import parse_qsl

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
    statuses: tuple[int, ...] = ()
    """An error storm's statuses, one drawn per failure (``status`` alone when empty)."""
    user_agent: str = "*"
    matched: int = 0
    injected: int = 0

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": list(self.statuses) if self.statuses else self.status,
            "rate": self.rate,
            "until": self.until.isoformat(),
            "path_pattern": self.path_pattern,
            "user_agent": self.user_agent,
            "retry_after": self.retry_after,
            "matched": self.matched,
            "injected": self.injected,
            **({"delay_seconds": self.delay_seconds} if self.kind == "slow" else {}),
        }

    def strikes(self, path: str, user_agent: str) -> bool:
        """Whether this request is one the storm fails (counted either way)."""
        if not fnmatch.fnmatchcase(path, self.path_pattern):
            return False
        if not fnmatch.fnmatchcase(user_agent, self.user_agent):
            return False
        self.matched += 1
        if self.rng.random() >= self.rate:
            return False
        self.injected += 1
        return True

    def error_status(self) -> int:
        return self.rng.choice(self.statuses) if self.statuses else self.status


@dataclass(kw_only=True)
class ArmedExpiry:
    """Delta tokens to expire once ``after_pages`` round continuations have been let through."""

    after_pages: int
    seen: int = 0
    fired_on: str | None = None
    rounds_after: int = 0
    """Full delta rounds started (no token at all) once it fired: the client's resyncs."""

    def describe(self) -> dict[str, Any]:
        return {
            "after_pages": self.after_pages,
            "seen": self.seen,
            "fired_on": self.fired_on,
            "rounds_after": self.rounds_after,
        }


def continues_delta_round(path: str, query: str) -> bool:
    """A request that carries a delta round's state: a page link (``$skiptoken``) or a delta
    link (a ``$deltatoken`` other than ``latest``)."""
    if not path.rstrip("/").endswith("/delta"):
        return False
    params = dict(parse_qsl(query, keep_blank_values=True))
    if "$skiptoken" in params:
        return True
    return params.get("$deltatoken", "latest") != "latest"


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
        "user_agent",
        "retry_after",
        "seed",
        "delay_seconds",
    }
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    kind = _field(body, "kind", str, "error")
    if kind not in KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    statuses: tuple[int, ...] = ()
    if kind == "error" and isinstance(body.get("status"), list):
        given = body["status"]
        if not given or not all(isinstance(s, int) and not isinstance(s, bool) for s in given):
            raise ValueError("'status' must be a status or a non-empty list of statuses")
        statuses = tuple(given)
        wrong = [s for s in statuses if s not in STATUSES]
        if wrong:
            raise ValueError(f"'status' must be among {sorted(STATUSES)}, not {wrong[0]}")
        status = statuses[0]
    else:
        status = _field(body, "status", int, 503 if kind == "error" else 200)
    if kind != "error":
        if status != 200:
            raise ValueError(f"'status' of a {kind} storm must be 200")
    elif status not in STATUSES:
        raise ValueError(f"'status' must be one of {sorted(STATUSES)}, not {status}")
    user_agent = _field(body, "user_agent", str, "*")
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
        statuses=statuses,
        user_agent=user_agent,
    )


@dataclass
class FaultInjector:
    state: DirectoryState
    admin_key: str | None = None
    storms: list[Storm] = field(default_factory=list)
    armed: ArmedExpiry | None = None

    def active(self) -> list[Storm]:
        now = self.state.now()
        self.storms = [storm for storm in self.storms if storm.until > now]
        return self.storms

    def expire(self) -> str:
        """Orphan every delta token issued so far (see :meth:`expire_delta_tokens`)."""
        self.state.epoch = new_id()
        self.state.delta_sessions.clear()
        return self.state.epoch

    def _armed_expiry(self, path: str, query: str) -> None:
        armed = self.armed
        if armed is None or not path.rstrip("/").endswith("/delta"):
            return
        if armed.fired_on is not None:
            if "$skiptoken" not in query and "$deltatoken" not in query:
                armed.rounds_after += 1
            return
        if not continues_delta_round(path, query):
            return
        if armed.seen >= armed.after_pages:
            armed.fired_on = f"{path}?{query}"
            self.expire()
            return
        armed.seen += 1

    def check(self, path: str, *, user_agent: str = "", query: str = "") -> Response | None:
        """The injected answer when a storm covering ``path`` (and ``user_agent``) strikes this
        request (an error is raised as a GraphError), else None; an armed delta-token expiry
        fires first when this request is the one it waits for."""
        if _STOOD_ASIDE.get():
            return None
        self._armed_expiry(path, query)
        for storm in self.active():
            if storm.strikes(path, user_agent):
                if storm.kind == "malformed_json":
                    return Response(MALFORMED_BODY, media_type="application/json")
                if storm.kind == "slow":
                    return SlowAnswer(storm.delay_seconds)
                if storm.kind == "drop":
                    return DroppedConnection()
                status = storm.error_status()
                code, message = STATUSES[status]
                headers = {}
                if storm.retry_after is not None:
                    headers["Retry-After"] = f"{storm.retry_after:g}"
                raise GraphError(status, code, message, headers=headers)
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
            self.armed = None
            return Response(status_code=204)
        if request.method == "POST":
            try:
                storm = parse_storm(json.loads(await request.body() or b"null"), self.state.now())
            except (ValueError, json.JSONDecodeError) as error:
                return JSONResponse({"error": f"invalid storm: {error}"}, status_code=400)
            self.storms.append(storm)
            return JSONResponse(storm.describe(), status_code=201)
        armed = None if self.armed is None else self.armed.describe()
        return JSONResponse(
            {"storms": [storm.describe() for storm in self.active()], "delta_expiry": armed}
        )

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
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict) or set(body) - {"after_pages"}:
                raise ValueError('the body must be empty or {"after_pages": n}')
            after = body.get("after_pages")
            if after is not None and (
                not isinstance(after, int) or isinstance(after, bool) or after < 0
            ):
                raise ValueError("'after_pages' must be a whole number, 0 or more")
        except (ValueError, json.JSONDecodeError) as error:
            return JSONResponse({"error": f"invalid expiry: {error}"}, status_code=400)
        if after is not None:
            self.armed = ArmedExpiry(after_pages=after)
            return JSONResponse({"armed": self.armed.describe()}, status_code=201)
        return JSONResponse({"epoch": self.expire()}, status_code=201)

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
