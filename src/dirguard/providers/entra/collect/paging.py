"""Reading a Graph collection page by page: ``$select`` of exactly the declared fields, the
largest page Graph allows, ``@odata.nextLink`` followed until it is absent.

"Paging Microsoft Graph data in your app" (https://learn.microsoft.com/graph/paging): a
collection answers one page and an ``@odata.nextLink`` (an opaque URL, used as it is) while there
is more; ``$top`` asks for a page size (directory objects: 1-999). A page may be empty and still
carry a nextLink.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dirguard.providers.entra.graph_client import GraphClient

PAGE_SIZE = 999
"""``$top`` of a directory collection read (Graph's maximum for users, groups, ...)."""

Json = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Listing:
    """What to read: a collection path (under the API version), its ``$select`` and
    ``$expand``, and whether it takes ``$top`` (a singleton such as
    ``policies/authorizationPolicy`` answers one object, not a page)."""

    path: str
    select: Sequence[str] = ()
    expand: str | None = None
    api_version: str = "v1.0"
    page_size: int | None = PAGE_SIZE

    def params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.select:
            params["$select"] = ",".join(self.select)
        if self.expand:
            params["$expand"] = self.expand
        if self.page_size:
            params["$top"] = str(self.page_size)
        return params


def list_pages(graph: GraphClient, listing: Listing) -> Iterator[list[Json]]:
    """The collection's items, one list per page (a singleton's object as a one-item page)."""
    answer = graph.request(
        "GET", listing.path, api_version=listing.api_version, params=listing.params() or None
    )
    body: Json = answer.json()
    while True:
        if "value" in body and isinstance(body["value"], list):
            yield [item for item in body["value"] if isinstance(item, dict)]
        else:
            yield [body]
        link = body.get("@odata.nextLink")
        if not link:
            return
        body = graph.request("GET", str(link)).json()
