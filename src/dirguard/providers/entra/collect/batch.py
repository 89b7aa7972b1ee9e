"""JSON batching: up to 20 requests in one ``POST $batch``.

"Combine multiple HTTP requests using JSON batching" (https://learn.microsoft.com/graph/json-batching):
a batch holds at most 20 requests, each with its own ``id``, relative ``url`` and optional
``dependsOn`` (the ids it must run after); each answer comes back with its own ``status``,
``headers`` and ``body``, in any order. A request refused inside a batch (429, 503) carries its own
``Retry-After`` and is sent again in a later batch; the batch itself counts as one HTTP request
but every request in it is metered (resource units) on its own.

dirguard batches what costs one call per object otherwise: the relationship reads of a snapshot
(a group's ``members`` and ``owners``, an application's ``owners``), 20 objects per call instead
of one; each relationship's further pages (``@odata.nextLink``) are followed in later batches.
The batches of one round go out concurrently, as many at once as the tenant's pacer allows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from dirguard.providers.entra.collect.paging import json_of
from dirguard.providers.entra.graph_client import GraphClient, retry_after

log = logging.getLogger(__name__)

MAX_BATCH = 20
"""Requests per ``$batch`` (Graph's limit)."""
MAX_ROUNDS = 8
"""Times one request is sent again after a refusal inside a batch."""
_RETRY = frozenset({429, 503, 504})

Json = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class BatchRequest:
    """One request of a batch: ``url`` relative to the API version (``groups/{id}/members``)."""

    id: str
    url: str
    method: str = "GET"
    depends_on: tuple[str, ...] = ()
    body: Json | None = None

    def as_json(self) -> Json:
        found: Json = {"id": self.id, "method": self.method, "url": "/" + self.url.lstrip("/")}
        if self.depends_on:
            found["dependsOn"] = list(self.depends_on)
        if self.body is not None:
            found["body"] = self.body
            found["headers"] = {"Content-Type": "application/json"}
        return found


@dataclass(kw_only=True)
class BatchAnswer:
    status: int
    body: Json = field(default_factory=dict)


def _relative(link: str, api_version: str) -> str:
    """A nextLink as a URL relative to the version root (what a batch request names)."""
    marker = f"/{api_version}/"
    return link.split(marker, 1)[1] if marker in link else link


def send_batches(
    graph: GraphClient,
    requests: Sequence[BatchRequest],
    *,
    api_version: str = "v1.0",
) -> dict[str, BatchAnswer]:
    """Every request's answer by id, in batches of 20 (``dependsOn`` kept within a batch: a
    request is put in the batch of what it depends on). Refused ones are sent again after the
    longest ``Retry-After`` of the batch."""
    answers: dict[str, BatchAnswer] = {}
    pending = list(requests)
    for attempt in range(MAX_ROUNDS + 1):
        if not pending:
            break
        refused: list[BatchRequest] = []
        wait = 0.0
        chunks = list(_chunks(pending))
        for chunk, reply in zip(chunks, _sent(graph, chunks, api_version), strict=True):
            by_id = {r.id: r for r in chunk}
            for item in reply.get("responses", []):
                request = by_id.get(str(item.get("id")))
                if request is None:
                    continue
                status = int(item.get("status", 0))
                if status in _RETRY and attempt < MAX_ROUNDS:
                    refused.append(request)
                    headers = httpx.Headers(item.get("headers") or {})
                    wait = max(wait, retry_after(httpx.Response(status, headers=headers), attempt))
                    continue
                body = item.get("body")
                answers[request.id] = BatchAnswer(
                    status=status, body=body if isinstance(body, dict) else {}
                )
        pending = refused
        if pending:
            log.info("%d request(s) refused inside $batch: again in %.3f s", len(pending), wait)
            graph.pause(wait)
    return answers


def _sent(graph: GraphClient, chunks: Sequence[list[BatchRequest]], api_version: str) -> list[Json]:
    """Each chunk's ``$batch`` answer, in the chunks' order; several chunks in flight at once
    (as many as the tenant's pacer lets go: its concurrency limit and budget still hold)."""

    def send(chunk: list[BatchRequest]) -> Json:
        reply = graph.request(
            "POST",
            "$batch",
            api_version=api_version,
            json={"requests": [r.as_json() for r in chunk]},
        )
        return json_of(reply)

    workers = min(len(chunks), graph.pacer.max_concurrency if graph.pacer is not None else 1)
    if workers <= 1:
        return [send(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="graph-batch") as pool:
        return list(pool.map(send, chunks))


def _chunks(requests: Sequence[BatchRequest]) -> Iterable[list[BatchRequest]]:
    """Batches of at most 20, a request never separated from those it depends on."""
    chunk: list[BatchRequest] = []
    ids: set[str] = set()
    for request in requests:
        if chunk and len(chunk) >= MAX_BATCH and not set(request.depends_on) & ids:
            yield chunk
            chunk, ids = [], set()
        chunk.append(request)
        ids.add(request.id)
    if chunk:
        yield chunk


def related_items(
    graph: GraphClient,
    urls: dict[str, str],
    *,
    api_version: str = "v1.0",
    keep: Callable[[str, Json], Any] | None = None,
) -> dict[str, list[Any] | None]:
    """The objects each URL lists (``{key: url}`` in, ``{key: [object, ...]}`` out), every page
    of it; a single-valued relationship (``users/{id}/manager``) gives its one object and a 404
    none. ``None`` for a URL answered with another error (the account may not read it, the
    tenant does not offer it): the caller keeps what it knew. ``keep(key, object)`` maps each
    object as its page arrives (a member's id instead of its JSON: 50,000 members held as
    50,000 short texts, each page's objects let go), dropping those it maps to ``None``."""
    found: dict[str, list[Any] | None] = {key: [] for key in urls}
    todo = dict(urls)
    while todo:
        keys = list(todo)
        requests = [BatchRequest(id=str(n), url=todo[key]) for n, key in enumerate(keys)]
        answers = send_batches(graph, requests, api_version=api_version)
        todo = {}
        for n, key in enumerate(keys):
            answer = answers.get(str(n))
            if answer is None or answer.status == 404:
                continue
            if answer.status >= 400:
                error = answer.body.get("error", {})
                log.info(
                    "Graph %s (in $batch): HTTP %d %s",
                    urls[key].split("?")[0],
                    answer.status,
                    error.get("code", "") if isinstance(error, dict) else "",
                )
                found[key] = None
                continue
            body = answer.body
            values = body.get("value") if "value" in body else [body]
            held = found[key]
            if held is None:
                continue
            objects = (v for v in values or [] if isinstance(v, dict))
            if keep is None:
                held.extend(objects)
            else:
                held.extend(k for k in (keep(key, v) for v in objects) if k is not None)
            link = body.get("@odata.nextLink")
            if link:
                todo[key] = _relative(str(link), api_version)
    return found
