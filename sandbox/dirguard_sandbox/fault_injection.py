"""Fault injection, off by default: storms of 429, 503 or 504 answers, or of answers whose JSON
is cut short (``"kind": "malformed_json"``), on Graph paths.

Controlled on a separate admin path guarded by the admin key the serve JSON line prints:

- ``POST /_sandbox/faults`` ``{"status": 503, "rate": 0.5, "duration_seconds": 30,
  "path_pattern": "/v1.0/users*", "retry_after": 2.5, "seed": 1}`` starts a storm
  (``{"kind": "malformed_json", ...}`` answers 200 with a body cut mid-JSON instead);
- ``GET /_sandbox/faults`` lists the storms still running; ``DELETE /_sandbox/faults`` ends all.

``rate`` is the share of matching requests that fail (drawn from a seeded generator so a run
repeats); ``path_pattern`` is a shell-style pattern on the request path; time is the tenant's
clock.
"""

from __future__ import annotations

import datetime
import fnmatch
import hmac
import json
import random
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dirguard_sandbox.directory_state import DirectoryState
from dirguard_sandbox.errors import GraphError

ADMIN_KEY_HEADER = "x-sandbox-admin-key"
STATUSES = {
    429: ("TooManyRequests", "Too many requests (injected by the sandbox)."),
    503: ("ServiceNotAvailable", "The service is temporarily unavailable (injected)."),
    504: ("GatewayTimeout", "The gateway timed out (injected by the sandbox)."),
}


KINDS = ("error", "malformed_json")
MALFORMED_BODY = b'{"@odata.context":"$metadata#users","value":[{"id":"'


@dataclass(kw_only=True)
class Storm:
    kind: str
    status: int
    rate: float
    until: datetime.datetime
    path_pattern: str
    retry_after: float | None
    rng: random.Random

    def describe(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "status": self.status,
            "rate": self.rate,
            "until": self.until.isoformat(),
            "path_pattern": self.path_pattern,
            "retry_after": self.retry_after,
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
    }
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(sorted(unknown))}")
    kind = _field(body, "kind", str, "error")
    if kind not in KINDS:
        raise ValueError(f"'kind' must be one of {', '.join(KINDS)}, not {kind!r}")
    status = _field(body, "status", int, 503 if kind == "error" else 200)
    if kind == "malformed_json":
        if status != 200:
            raise ValueError("'status' of a malformed_json storm must be 200")
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
    return Storm(
        kind=kind,
        status=status,
        rate=rate,
        until=now + datetime.timedelta(seconds=duration),
        path_pattern=pattern,
        retry_after=None if retry_after is None else float(retry_after),
        rng=random.Random(seed),  # noqa: S311 - a repeatable storm, not a secret
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
        for storm in self.active():
            if fnmatch.fnmatchcase(path, storm.path_pattern) and storm.rng.random() < storm.rate:
                if storm.kind == "malformed_json":
                    return Response(MALFORMED_BODY, media_type="application/json")
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

    def routes(self) -> list[Route]:
        return [Route("/_sandbox/faults", self.control, methods=["GET", "POST", "DELETE"])]
