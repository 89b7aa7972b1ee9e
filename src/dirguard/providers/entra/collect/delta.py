"""Delta rounds: what changed in a collection since a ``@odata.deltaLink``.

"Use delta query to track changes in Microsoft Graph data"
(https://learn.microsoft.com/graph/delta-query-overview):

- ``GET {collection}/delta`` (with ``$select``) starts a round: every object present, then
  ``@odata.nextLink`` pages until one carries ``@odata.deltaLink``; the deltaLink is the state
  token for the next round (dirguard's stored cursor). ``$deltatoken=latest`` answers just a
  deltaLink for "from now on" (the cursor a snapshot takes before it reads);
- in a later round an updated object comes back with its id and *at least* its changed
  properties (others may be left out: left out is not cleared), a removed one as
  ``{"id", "@removed": {"reason": "changed" | "deleted"}}`` (``changed``: soft-deleted, restorable
  from ``directory/deletedItems``), and a group's (administrative unit's, directory role's)
  member changes as ``members@delta`` entries, a removed member carrying ``@removed``; in the
  first round ``members@delta`` lists every member, and one object may come back in several
  entries (its members spread over them);
- a token the service can no longer answer — expired (identity tokens live 7 days), or its sync
  state lost — is refused with ``410 Gone`` / ``syncStateNotFound`` (or ``resyncRequired``): the
  client must start a full round again ("Duration of change tracking tokens", Microsoft 365 dev
  blog, https://devblogs.microsoft.com/microsoft365dev/duration-of-change-tracking-tokens-for-identity-and-education-resources/).
  :func:`expired` tells such a refusal; the reader then does a full round and diffs it against
  what dirguard stored (nothing lost, nothing twice).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dirguard.providers.entra.collect.paging import json_of, next_link
from dirguard.providers.entra.graph_client import GraphClient, GraphError

Json = dict[str, Any]

RESYNC_CODES = frozenset({"syncStateNotFound", "resyncRequired", "syncStateInvalid"})


def expired(error: GraphError) -> bool:
    """Graph asks for a full round again (``410 Gone``, ``syncStateNotFound``...)."""
    return error.status == 410 or error.code in RESYNC_CODES


@dataclass(frozen=True, kw_only=True)
class DeltaPage:
    """One page of a round: its entries, and the link after it (``next`` while the round goes
    on, ``delta`` on its last page)."""

    items: list[Json]
    next_link: str | None
    delta_link: str | None


def delta_start(path: str, select: Sequence[str]) -> tuple[str, dict[str, str]]:
    """The first request of a full round: the delta function ``path`` (``users/delta``) with
    the declared ``$select``."""
    params = {"$select": ",".join(select)} if select else {}
    return path, params


def latest_link(
    graph: GraphClient, path: str, select: Sequence[str], api_version: str = "v1.0"
) -> str:
    """A deltaLink for "from now on" (``$deltatoken=latest``): one request, no objects."""
    url, params = delta_start(path, select)
    params["$deltatoken"] = "latest"
    body = json_of(graph.request("GET", url, api_version=api_version, params=params))
    link = body.get("@odata.deltaLink")
    while not link and body.get("@odata.nextLink"):
        body = json_of(graph.request("GET", str(body["@odata.nextLink"])))
        link = body.get("@odata.deltaLink")
    if not link:
        raise GraphError(200, "NoDeltaLink", "the delta answer holds no @odata.deltaLink", url)
    return str(link)


def delta_pages(
    graph: GraphClient,
    path: str,
    select: Sequence[str],
    link: str | None,
    api_version: str = "v1.0",
) -> Iterator[DeltaPage]:
    """The pages of one round: from ``link`` (a stored deltaLink or nextLink), or a full round
    when ``link`` is ``None``. A 410 raises :class:`GraphError` (see :func:`expired`)."""
    if link is None:
        url, params = delta_start(path, select)
        first = json_of(graph.request("GET", url, api_version=api_version, params=params))
    else:
        first = json_of(graph.request("GET", link))
    body = first
    while True:  # no read-ahead: a page is asked for once the one before is stored
        items = [item for item in body.get("value", []) if isinstance(item, dict)]
        found_next = next_link(body)
        delta_link = body.get("@odata.deltaLink")
        yield DeltaPage(
            items=items,
            next_link=found_next,
            delta_link=str(delta_link) if delta_link else None,
        )
        if found_next is None:
            return
        body = json_of(graph.request("GET", found_next))
