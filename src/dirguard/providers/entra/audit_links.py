"""Owner and manager changes, which delta does not report, found through the directory audit.

A delta round reports an object whose properties or reported links (``members@delta``) changed;
adding an owner to an application or a group, or setting a user's manager, changes neither, so
the object does not appear ("Use delta query to track changes in Microsoft Graph data",
https://learn.microsoft.com/graph/delta-query-overview, lists per resource what is tracked; the
owners and manager relationships are read on their own, ``GET {item}/owners``,
``GET users/{id}/manager``). Reading those relationships of every object on every pass would
cost one request per object. Entra logs each of these writes instead ("Add owner to
application", "Remove owner from group", "Set user manager"…, "Microsoft Entra audit log
activity reference",
https://learn.microsoft.com/entra/identity/monitoring-health/reference-audit-activities), naming
the objects as its targets. So each change read of a delta collection with such links also
reads the audit records since its last read (``OVERLAP`` earlier, as records come late) and
reads the relationships of the collection's objects that an owner or manager record names.
Re-reading an object whose links did not change stores nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from dirguard.providers.entra.directory_audit import OVERLAP
from dirguard.providers.entra.graph_client import GraphClient, GraphError

log = logging.getLogger(__name__)

LINK_WORDS = ("owner", "manager")
"""Activities naming these change a relationship delta does not report."""
TARGET_COLLECTIONS = {
    "user": "users",
    "group": "groups",
    "application": "applications",
    "serviceprincipal": "servicePrincipals",
    "contact": "contacts",
}
"""The collection a directoryAudit target of this ``type`` lives in."""

Json = dict[str, Any]


def graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def since_mark(audited: str | None, now: datetime) -> datetime:
    """Where an audit read starts: ``OVERLAP`` before the previous read (records appear
    late); ``OVERLAP`` before now when nothing was read yet."""
    if audited:
        try:
            then = datetime.fromisoformat(audited)
        except ValueError:
            then = now
        if then.tzinfo is None:
            then = then.replace(tzinfo=UTC)
        return min(then, now) - OVERLAP
    return now - OVERLAP


def is_link_activity(activity: str) -> bool:
    words = activity.lower().split()
    return bool(words) and any(word in words for word in LINK_WORDS)


def named_objects(entries: list[Json], collection: str) -> set[str]:
    """The ids of ``collection``'s objects that owner and manager records name."""
    found: set[str] = set()
    for entry in entries:
        if str(entry.get("result") or "success").lower() != "success":
            continue
        if not is_link_activity(str(entry.get("activityDisplayName") or "")):
            continue
        for target in entry.get("targetResources") or []:
            kind = str(target.get("type") or "").lower().replace(" ", "")
            if target.get("id") and TARGET_COLLECTIONS.get(kind) == collection:
                found.add(str(target["id"]))
    return found


class LinkAudit:
    """The directoryAudits of one tenant read for owner and manager changes, once per start
    moment (the collections of one pass share it)."""

    def __init__(self, graph: GraphClient, name: str) -> None:
        self._graph = graph
        self._name = name
        self._read: tuple[str, list[Json]] | None = None
        self._refused = False

    def entries(self, since: datetime) -> list[Json]:
        """The records from ``since`` on (none when the account may not read the audit)."""
        start = graph_time(since)
        if self._read is not None and self._read[0] == start:
            return self._read[1]
        if self._refused:
            return []
        try:
            read = list(
                self._graph.pages(
                    "auditLogs/directoryAudits",
                    **{"$filter": f"activityDateTime ge {start}"},
                    **{"$top": "500"},
                )
            )
        except GraphError as error:
            if error.status not in (400, 403, 404):
                raise
            log.warning(
                "%s: owner and manager changes are not followed: directoryAudits: %s",
                self._name,
                error,
            )
            self._refused = True
            return []
        self._read = (start, read)
        return read
