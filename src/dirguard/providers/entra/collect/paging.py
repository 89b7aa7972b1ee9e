"""Reading a Graph collection page by page: ``$select`` of exactly the declared fields, the
largest page Graph allows, ``@odata.nextLink`` followed until it is absent.

"Paging Microsoft Graph data in your app" (https://learn.microsoft.com/graph/paging): a
collection answers one page and an ``@odata.nextLink`` (an opaque URL, used as it is) while there
is more; ``$top`` asks for a page size (directory objects: 1-999). A page may be empty and still
carry a nextLink.

A nextLink is known only with the page before it, so one collection cannot be read in parallel
with itself; but the next page can be on the wire while the caller works on this one:
:func:`list_pages` asks for page *n + 1* (in a thread of its own, under the tenant's pacer) before
it hands page *n* over, so parsing, normalizing and storing overlap the network and the server.
Answers are parsed with orjson (the same objects as the standard library's parser, several
times faster on a 1.7 MB page of 999 users).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from dirguard.providers.entra.graph_client import GraphClient, GraphError

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


def json_of(answer: httpx.Response) -> Json:
    """An answer's JSON object (a body that is not one is a :class:`GraphError`)."""
    try:
        body = orjson.loads(answer.content)
    except orjson.JSONDecodeError as error:
        raise GraphError(
            answer.status_code, "InvalidJson", f"the answer is not JSON: {error}", answer.url.path
        ) from None
    if not isinstance(body, dict):
        raise GraphError(
            answer.status_code, "InvalidJson", "the answer is not a JSON object", answer.url.path
        )
    return body


def following(
    first: Json, fetch: Callable[[str], Json], link_of: Callable[[Json], str | None]
) -> Iterator[Json]:
    """``first``, then the body each ``link_of(body)`` names, each asked for (``fetch``, in a
    thread) before the one holding its link is handed over; a caller that stops early waits
    for at most the one request in flight."""
    body = first
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="graph-next") as ahead:
        while True:
            link = link_of(body)
            upcoming: Future[Json] | None = ahead.submit(fetch, link) if link else None
            yield body
            if upcoming is None:
                return
            body = upcoming.result()


def next_link(body: Json) -> str | None:
    link = body.get("@odata.nextLink")
    return str(link) if link else None


def list_pages(graph: GraphClient, listing: Listing) -> Iterator[list[Json]]:
    """The collection's items, one list per page (a singleton's object as a one-item page)."""
    answer = graph.request(
        "GET", listing.path, api_version=listing.api_version, params=listing.params() or None
    )
    for body in following(
        json_of(answer), lambda link: json_of(graph.request("GET", link)), next_link
    ):
        if "value" in body and isinstance(body["value"], list):
            yield [item for item in body["value"] if isinstance(item, dict)]
        else:
            yield [body]
