"""Entra's audit trail, ``auditLogs/directoryAudits``, read from a stored position.

Entra writes a directoryAudit for every directory write, naming who made it (``initiatedBy``:
a signed-in user with their UPN and IP address, or an application), its ``correlationId`` and,
per target, the ``modifiedProperties`` with old and new values as JSON text. The records appear
late: Microsoft gives the audit log a latency of 2 minutes at the 95th percentile and 5 at the
99th ("Log latency in Microsoft Entra ID",
https://learn.microsoft.com/entra/identity/monitoring-health/reference-log-latency), and a late
record carries its true ``activityDateTime``. So a read asks for everything from a moment
``OVERLAP`` before the newest record already read (``$filter=activityDateTime ge ...``, paged
through ``@odata.nextLink``) and drops the records it has seen by id: a record that appears
late, behind newer ones, is still read, and none is read twice.

Each record becomes the :class:`~dirguard.core.audit_record.AuditRecord` every source produces
(:mod:`dirguard.providers.entra.audit_records`), which the source-neutral correlation
(:mod:`dirguard.core.actor_correlation`) matches to change events by target id, property,
value and time.

A position is JSON text: ``{"since": <ISO time>, "seen": [<ids of records at or after it>]}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from dirguard.core.audit_record import AuditBatch, AuditRecord, AuditSourceError, PositionedRecord
from dirguard.providers.entra.audit_records import SOURCE_NAME, activity_time, records_of
from dirguard.providers.entra.graph_client import GraphClient, GraphError

OVERLAP = timedelta(minutes=15)
"""How far before the newest record read a read starts again: beyond Microsoft's 99th
percentile of audit latency (5 minutes), with room."""
FIRST_READ = timedelta(days=1)
"""How far back the first read (no stored position) reaches."""
PAGE_SIZE = 500
"""``$top`` of each page (Graph's largest for directoryAudits is 999)."""


def _graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _position(since: datetime, seen: Iterable[str]) -> str:
    return json.dumps({"since": since.astimezone(UTC).isoformat(), "seen": sorted(set(seen))})


def parse_position(text: str) -> tuple[datetime, frozenset[str]]:
    """The moment a read starts from and the ids already read (:class:`AuditSourceError` when
    ``text`` is not a position of this source)."""
    try:
        held = json.loads(text)
        since = datetime.fromisoformat(held["since"])
        seen = frozenset(str(item) for item in held["seen"])
    except (ValueError, KeyError, TypeError) as error:
        raise AuditSourceError(f"not a directoryAudits position: {text[:80]!r}") from error
    if since.tzinfo is None:
        raise AuditSourceError(f"directoryAudits position without a time zone: {text[:80]!r}")
    return since, seen


def positioned(
    entries: list[dict[str, Any]], seen: frozenset[str], since: datetime
) -> list[PositionedRecord]:
    """The records of ``entries`` (everything from ``since``) not in ``seen``, oldest first,
    each with the position just after it: from ``OVERLAP`` before the newest record read by
    then (never before ``since``), with the ids read by then that lie at or after that."""
    known = {str(e.get("id")): activity_time(e) for e in entries if str(e.get("id")) in seen}
    fresh = sorted(
        (e for e in entries if str(e.get("id")) not in seen),
        key=lambda e: (activity_time(e), str(e.get("id"))),
    )
    out: list[PositionedRecord] = []
    for entry in fresh:
        known[str(entry["id"])] = activity_time(entry)
        start = max(since, max(known.values()) - OVERLAP)
        position = _position(start, (i for i, t in known.items() if t >= start))
        out.extend(PositionedRecord(record=r, position=position) for r in records_of(entry))
    return out


class DirectoryAuditSource:
    """``auditLogs/directoryAudits`` of one tenant (permission ``AuditLog.Read.All``)."""

    def __init__(self, graph: GraphClient, *, now: datetime | None = None) -> None:
        self._graph = graph
        self._now = now

    @property
    def name(self) -> str:
        return SOURCE_NAME

    def _entries(self, since: datetime) -> list[dict[str, Any]]:
        try:
            return list(
                self._graph.pages(
                    "auditLogs/directoryAudits",
                    **{"$filter": f"activityDateTime ge {_graph_time(since)}"},
                    **{"$top": str(PAGE_SIZE)},
                )
            )
        except GraphError as error:
            raise AuditSourceError(f"reading auditLogs/directoryAudits: {error}") from None

    def read_after(self, position: str | None) -> AuditBatch:
        """The records not read yet (oldest first), from ``OVERLAP`` before the newest one read
        (no position: from ``FIRST_READ`` ago)."""
        if position is None:
            since, seen = (self._now or datetime.now(UTC)) - FIRST_READ, frozenset[str]()
        else:
            since, seen = parse_position(position)
        records = positioned(self._entries(since), seen, since)
        after = records[-1].position if records else position or _position(since, seen)
        return AuditBatch(records=tuple(records), position=after)


def read_all(graph: GraphClient, position: str | None) -> list[AuditRecord]:
    """Every record after ``position`` (a convenience for one-off reads and tests)."""
    return [p.record for p in DirectoryAuditSource(graph).read_after(position).records]
