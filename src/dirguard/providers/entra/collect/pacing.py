"""How fast dirguard may ask one tenant: a concurrency limit, a resource-unit budget, the
conditional-access budget, and the waits Graph asks for.

Microsoft's "Microsoft Graph throttling guidance" (https://learn.microsoft.com/graph/throttling)
and its "service-specific limits" section say what a client must honour:

- a refused request (429, or 503/504 under load) names in ``Retry-After`` how many seconds to
  wait (fractions too); every request of the same scope waits that long, not only the refused
  one (:meth:`Pacer.refused` holds the whole scope back until then);
- the identity and access service meters resource units (RU) per application and tenant in a
  10-second window (3,500 / 5,000 / 8,000 for tenants of <50, 50-500, >500 users); each answer
  says what it cost in ``x-ms-resource-unit``, and ``x-ms-throttle-limit-percentage`` (sent above
  80 % of the budget) how close the app is. The pacer keeps the RU spent in the window from those
  headers and waits before a request that would not fit, instead of being refused;
- conditional access policies and named locations: one request per second per tenant, and a
  refusal there carries *no* ``Retry-After``. Requests under ``identity/conditionalAccess`` are
  sent a second after the one before was sent *and* answered, and such a refusal waits a second
  (then backs off);
- without a ``Retry-After`` the guidance asks for an exponential backoff.

A pacer is per tenant and shared by the threads that read it concurrently (``max_concurrency``
requests in flight at once). Time and sleeping are injected for tests.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from dirguard.providers.entra.graph_client import retry_after

log = logging.getLogger(__name__)

RESOURCE_UNIT_WINDOW = 10.0
"""Seconds of the identity service's resource-unit window."""
DEFAULT_RESOURCE_UNITS = 3500
"""RU per window assumed until Graph says more: the smallest tenant's budget."""
CONDITIONAL_ACCESS_INTERVAL = 1.0
"""Seconds between requests on conditional access (1 request per second per tenant)."""
NEAR_LIMIT = 0.8
"""``x-ms-throttle-limit-percentage`` from which the pacer slows down."""
MAX_CONCURRENCY = 4
"""Requests in flight to one tenant at once, by default."""


def is_conditional_access(url: str) -> bool:
    """A request on the conditional-access budget (policies, named locations, ...)."""
    return "/identity/conditionalAccess" in urlsplit(url).path


def _scope(url: str) -> str:
    return "ca" if is_conditional_access(url) else "graph"


@dataclass
class Pacer:
    """One tenant's pace (thread-safe)."""

    max_concurrency: int = MAX_CONCURRENCY
    resource_units: int = DEFAULT_RESOURCE_UNITS
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _spent: deque[tuple[float, int]] = field(default_factory=deque)
    _blocked_until: dict[str, float] = field(default_factory=dict)
    _next_ca: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    waited: float = 0.0
    """Seconds spent waiting for the budget or a Retry-After (what the bench reports)."""
    refusals: int = 0

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError("max_concurrency: at least 1")
        self._slots = threading.BoundedSemaphore(self.max_concurrency)

    def _used(self, now: float) -> int:
        while self._spent and self._spent[0][0] <= now - RESOURCE_UNIT_WINDOW:
            self._spent.popleft()
        return sum(cost for _, cost in self._spent)

    def _wait_needed(self, url: str, now: float) -> float:
        """Seconds before a request to ``url`` may go (0: now); reserves it when 0."""
        scope = _scope(url)
        wait = self._blocked_until.get(scope, 0.0) - now
        if self._used(now) + 1 > self.resource_units and self._spent:
            wait = max(wait, self._spent[0][0] + RESOURCE_UNIT_WINDOW - now)
        if scope == "ca":
            wait = max(wait, self._next_ca - now)
        if wait <= 0 and scope == "ca":
            self._next_ca = now + CONDITIONAL_ACCESS_INTERVAL
        return max(wait, 0.0)

    def _pause(self, seconds: float) -> None:
        self.waited += seconds
        self.sleep(seconds)

    @contextlib.contextmanager
    def slot(self, url: str) -> Iterator[None]:
        """Held while one request to ``url`` is in flight: waits for a free slot and for the
        budget first."""
        with self._slots:
            while True:
                with self._lock:
                    wait = self._wait_needed(url, self.clock())
                if wait <= 0:
                    break
                self._pause(wait)
            yield

    def answered(self, url: str, answer: httpx.Response) -> None:
        """Book what the answer says it cost (``x-ms-resource-unit``, 1 when unsaid) and
        slow down when Graph says the app is near its limit."""
        try:
            cost = int(answer.headers.get("x-ms-resource-unit", "1"))
        except ValueError:
            cost = 1
        now = self.clock()
        with self._lock:
            self._spent.append((now, max(cost, 0)))
            if is_conditional_access(url):
                # Graph counts a request when it arrives, which is some time after it was sent
                # and before it was answered: a second after the answer is a second after the
                # arrival, whatever the delay (spacing from the sending time alone was refused
                # when the first request took longer to arrive than the second)
                self._next_ca = max(self._next_ca, now + CONDITIONAL_ACCESS_INTERVAL)
        raw = answer.headers.get("x-ms-throttle-limit-percentage")
        if raw is not None:
            try:
                share = float(raw)
            except ValueError:
                return
            if share >= NEAR_LIMIT:
                with self._lock:
                    scope = _scope(url)
                    pause = RESOURCE_UNIT_WINDOW * (share - NEAR_LIMIT)
                    self._blocked_until[scope] = max(
                        self._blocked_until.get(scope, 0.0), now + pause
                    )

    def refused(self, url: str, answer: httpx.Response, attempt: int) -> None:
        """A 429/503/504: hold every request of the scope back for its ``Retry-After`` (a
        conditional-access refusal, which has none: the budget's second, then backing off), then
        return so the caller repeats the request."""
        self.refusals += 1
        if "Retry-After" in answer.headers:
            wait = retry_after(answer, attempt)
        elif is_conditional_access(url):
            wait = CONDITIONAL_ACCESS_INTERVAL * 2.0**attempt
        else:
            wait = retry_after(answer, attempt)
        scope = _scope(url)
        log.info(
            "Graph refused a request (HTTP %d, scope %s, request-id %s): waiting %.3f s",
            answer.status_code,
            answer.headers.get("x-ms-throttle-scope", scope),
            answer.headers.get("request-id", "-"),
            wait,
        )
        with self._lock:
            until = self.clock() + wait
            self._blocked_until[scope] = max(self._blocked_until.get(scope, 0.0), until)
        self._pause(wait)
