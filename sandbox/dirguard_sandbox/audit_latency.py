"""How late a directoryAudit appears in ``auditLogs/directoryAudits``.

Microsoft's "Microsoft Entra reporting latencies" page
(https://learn.microsoft.com/azure/active-directory/reports-monitoring/reference-reports-latencies,
now folded into "Log latency in Microsoft Entra ID",
https://learn.microsoft.com/entra/identity/monitoring-health/reference-log-latency) gives the audit
log a latency of 2 minutes at the 95th percentile and 5 minutes at the 99th. A tenant's
``audit_latency`` chooses the delay of each new entry:

- ``0`` (the default of every tenant built in-process, as the tests build them): at once;
- a number of seconds: exactly that long;
- ``"realistic"`` (what ``serve`` uses unless told otherwise): drawn from a log-normal
  distribution whose 95th and 99th percentiles are Microsoft's 120 s and 300 s (median ≈ 13 s),
  seeded by the entry's id so a run repeats.

An entry is written at once with its real ``activityDateTime``; it is only hidden from the audit
log's list and item reads until its time has come, so a late reader sees it with its true time.
"""

from __future__ import annotations

import datetime
import math
import random

from dirguard_sandbox.directory_state import DirectoryState, Json

REALISTIC = "realistic"
P95_SECONDS = 120.0
P99_SECONDS = 300.0
MAX_SECONDS = 3600.0
"""No realistic delay is longer than an hour (the distribution's far tail is cut)."""
_Z95 = 1.6448536269514722
_Z99 = 2.3263478740408408
_SIGMA = (math.log(P99_SECONDS) - math.log(P95_SECONDS)) / (_Z99 - _Z95)
_MU = math.log(P95_SECONDS) - _Z95 * _SIGMA


def parse_latency(text: str) -> float | str:
    """``"realistic"`` or a non-negative number of seconds; ValueError naming what is wrong."""
    if text.strip().lower() == REALISTIC:
        return REALISTIC
    try:
        seconds = float(text)
    except ValueError:
        raise ValueError(
            f"audit latency must be 'realistic' or a number of seconds, not {text!r}"
        ) from None
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"audit latency must be 0 or more seconds, not {text!r}")
    return seconds


def realistic_delay(seed: str) -> float:
    """One draw of Microsoft's audit latency distribution, repeatable for the same seed."""
    rng = random.Random(seed)  # noqa: S311 - a simulated delay, not a secret
    return min(MAX_SECONDS, math.exp(rng.gauss(_MU, _SIGMA)))


def delay_of(state: DirectoryState, entry_id: str) -> float:
    latency = state.audit_latency
    if latency == REALISTIC:
        return realistic_delay(entry_id)
    return float(latency)


def hold_back(state: DirectoryState, entry: Json) -> None:
    """Hide a new entry until its delay has passed (nothing to do when there is none)."""
    delay = delay_of(state, entry["id"])
    if delay > 0:
        visible = state.now() + datetime.timedelta(seconds=delay)
        state.audit_visible_at[entry["id"]] = visible.isoformat()


def visible_audits(state: DirectoryState) -> list[Json]:
    """The entries a reader sees now, oldest first; entries whose time has come are released."""
    if not state.audit_visible_at:
        return state.audits
    now = state.now()
    for entry_id, moment in list(state.audit_visible_at.items()):
        if datetime.datetime.fromisoformat(moment) <= now:
            del state.audit_visible_at[entry_id]
    held = state.audit_visible_at
    return [entry for entry in state.audits if entry["id"] not in held]
