"""Throttling as Microsoft Graph's identity and access service does it.

- Resource units (RU) per application and tenant in a sliding 10-second window: 3,500, 5,000 or
  8,000 for tenants of under 50, 50 to 500, or over 500 users. A GET on users costs 2, on members
  3, on transitive members 5; ``$select`` takes 1 off, ``$expand`` adds 1 (never below 1). Every
  answer says what it cost in ``x-ms-resource-unit``.
- Writes: 3,000 per 150 seconds per application and tenant.
- Audit logs: 5 requests per 10 seconds per application and tenant.
- Conditional access policies and named locations: 1 request per second per tenant, refused with
  429 and *no* ``Retry-After`` (as Graph does).

Refusals are 429 ``TooManyRequests`` in Graph's envelope with a (fractional) ``Retry-After`` and
``x-ms-throttle-scope``. Time comes from the tenant's clock (``DirectoryState.clock``), so tests
advance a ``ManualClock`` instead of sleeping.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

from dirguard_sandbox.directory_state import DirectoryState
from dirguard_sandbox.errors import GraphError

RESOURCE_UNIT_WINDOW = 10.0
WRITE_WINDOW = 150.0
WRITE_LIMIT = 3000
AUDIT_WINDOW = 10.0
AUDIT_LIMIT = 5
CONDITIONAL_ACCESS_WINDOW = 1.0
CONDITIONAL_ACCESS_LIMIT = 1


class ManualClock:
    """A clock tests move by hand: ``state.clock = ManualClock(); state.clock.advance(2.5)``."""

    def __init__(self, start: datetime.datetime | None = None) -> None:
        self.moment = start or datetime.datetime(2026, 1, 5, 9, 0, tzinfo=datetime.UTC)

    def __call__(self) -> datetime.datetime:
        return self.moment

    def advance(self, seconds: float) -> None:
        self.moment += datetime.timedelta(seconds=seconds)


def resource_unit_limit(user_count: int) -> int:
    """RU per application per 10 seconds for a tenant of ``user_count`` users."""
    if user_count < 50:
        return 3500
    if user_count <= 500:
        return 5000
    return 8000


def request_cost(method: str, template: str, params: Mapping[str, str]) -> int:
    """The resource units one request costs."""
    if method != "GET":
        base = 1
    elif "transitiveMembers" in template or "transitiveMemberOf" in template:
        base = 5
    elif template.endswith(("/members", "/owners", "/memberOf")):
        base = 3
    elif template.startswith(("/users", "/groups", "/servicePrincipals", "/applications")):
        base = 2
    else:
        base = 1
    if "$select" in params:
        base -= 1
    if "$expand" in params:
        base += 1
    return max(base, 1)


def _is_conditional_access(template: str) -> bool:
    return template.startswith("/identity/conditionalAccess")


def app_id_of(authorization: str) -> str | None:
    """The ``appid`` claim of a bearer token, read without verifying it.

    Only used to pick the throttling bucket; the route itself verifies the token and answers 401
    for a bad one, so a forged claim gains nothing but a bucket of its own."""
    scheme, _, token = authorization.partition(" ")
    parts = token.strip().split(".")
    if scheme.lower() != "bearer" or len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    app_id = claims.get("appid") if isinstance(claims, dict) else None
    return app_id if isinstance(app_id, str) else None


@dataclass
class _Window:
    """Costs spent in a sliding window: ``(time in seconds, cost)``, oldest first."""

    length: float
    spent: deque[tuple[float, int]] = field(default_factory=deque)

    def used(self, now: float) -> int:
        while self.spent and self.spent[0][0] <= now - self.length:
            self.spent.popleft()
        return sum(cost for _, cost in self.spent)

    def wait_for(self, now: float, cost: int, limit: int) -> float:
        """Seconds until ``cost`` more fits under ``limit`` (0 when it fits now)."""
        used = self.used(now)
        if used + cost <= limit:
            return 0.0
        for moment, spent in self.spent:
            used -= spent
            if used + cost <= limit:
                return max(moment + self.length - now, 0.001)
        return self.length

    def spend(self, now: float, cost: int) -> None:
        self.spent.append((now, cost))


def _too_many(scope: str, retry_after: float | None, cost: int) -> GraphError:
    headers = {"x-ms-throttle-scope": scope, "x-ms-resource-unit": str(cost)}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:.3f}".rstrip("0").rstrip(".")
    return GraphError(
        429,
        "TooManyRequests",
        "Too many requests. The application or tenant exceeded its request limit; retry later.",
        headers=headers,
    )


@dataclass
class Throttle:
    """The throttling state of one running sandbox (in memory only)."""

    state: DirectoryState
    enabled: bool = True
    _windows: dict[tuple[str, str], _Window] = field(default_factory=dict)

    def _window(self, kind: str, key: str, length: float) -> _Window:
        return self._windows.setdefault((kind, key), _Window(length))

    def admit(
        self, *, app_id: str | None, method: str, template: str, params: Mapping[str, str]
    ) -> int:
        """Charge one request; return its cost, or raise a 429 GraphError when over a limit."""
        cost = request_cost(method, template, params)
        if not self.enabled or app_id is None:
            return cost
        now = self.state.now().timestamp()
        tenant = self.state.tenant_id
        checks: list[tuple[_Window, int, int, str, bool]] = []
        if _is_conditional_access(template):
            window = self._window("ca", tenant, CONDITIONAL_ACCESS_WINDOW)
            checks.append((window, 1, CONDITIONAL_ACCESS_LIMIT, f"Tenant/{tenant}", False))
        if template.startswith("/auditLogs"):
            window = self._window("audit", app_id, AUDIT_WINDOW)
            scope = f"Tenant_Application/AuditLog/{tenant}/{app_id}"
            checks.append((window, 1, AUDIT_LIMIT, scope, True))
        if method != "GET":
            window = self._window("write", app_id, WRITE_WINDOW)
            scope = f"Tenant_Application/Write/{tenant}/{app_id}"
            checks.append((window, 1, WRITE_LIMIT, scope, True))
        limit = resource_unit_limit(len(self.state.users))
        window = self._window("ru", app_id, RESOURCE_UNIT_WINDOW)
        scope = f"Tenant_Application/ReadWrite/{tenant}/{app_id}"
        checks.append((window, cost, limit, scope, True))
        for window, amount, ceiling, scope, tells_when in checks:
            wait = window.wait_for(now, amount, ceiling)
            if wait > 0:
                raise _too_many(scope, wait if tells_when else None, cost)
        for window, amount, _, _, _ in checks:
            window.spend(now, amount)
        return cost
