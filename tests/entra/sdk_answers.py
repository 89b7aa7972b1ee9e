"""Recording dirguard's Graph traffic and parsing each answer with ``msgraph-sdk``'s models (the
SDK in tests only: an independent client of the sandbox).

:class:`Recorder` is an httpx transport keeping every request's method, path and answer (the
requests inside a ``$batch`` unpacked); :func:`model_table` maps each path the catalog's rows
read to the SDK entity it answers; :func:`parse_answers` parses every recorded answer with its
model and says what no model covers and which properties the SDK does not know."""

from __future__ import annotations

import importlib
import json
import re
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from dirguard.catalog.graph_rules import LinkWrite
from dirguard.catalog.resource_type import GraphSource
from dirguard.providers.registry import RESOURCE_TYPES

ModelTable = list[tuple[re.Pattern[str], str, bool]]


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    status: int
    body: Any


class Recorder(httpx.BaseTransport):
    """httpx's own transport, keeping every request's path and its answer (a ``$batch`` is
    unpacked into its requests and their answers)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.exchanges: list[Exchange] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        content = response.read()
        path = request.url.path
        body = json.loads(content) if content and b"json" in _type(response) else None
        if path.endswith("/$batch") and isinstance(body, dict):
            version = path.split("/")[1]
            asked = {r["id"]: r for r in json.loads(request.content)["requests"]}
            for answer in body.get("responses", []):
                sent = asked[answer["id"]]
                inner = f"/{version}/" + urlsplit(sent["url"]).path.lstrip("/")
                self.exchanges.append(
                    Exchange(sent["method"], inner, answer["status"], answer.get("body"))
                )
        else:
            self.exchanges.append(Exchange(request.method, path, response.status_code, body))
        return response

    def close(self) -> None:
        self.inner.close()


def _type(response: httpx.Response) -> bytes:
    return response.headers.get("content-type", "").encode()


def _pattern(template: str) -> str:
    return re.escape(template).replace(r"\{parent\}", "[^/]+").replace(r"\{id\}", "[^/]+")


def model_table() -> ModelTable:
    """(path pattern under the version, SDK entity, single object) for every Graph path the
    reader reads, from the catalog, and those the planner reads and the writer's licence step
    writes."""
    table: list[tuple[str, str, bool]] = [
        ("auditLogs/directoryAudits", "directoryAudit", False),
        # what a plan asks the live tenant (providers/entra/preflight.py): is a deleted object
        # still in deleted items, how many licence seats are free
        ("directory/deletedItems/[^/]+", "directoryObject", True),
        ("subscribedSkus", "subscribedSku", False),
        # a re-created user's licences (the writer's write-apart step): assignLicense answers
        # the user
        ("users/[^/]+/assignLicense", "user", True),
    ]
    for row in RESOURCE_TYPES.of_provider("entra"):
        source = row.source
        if not isinstance(source, GraphSource):
            continue
        collection = _pattern(source.collection)
        table.append((collection, source.entity, source.singleton))
        if source.delta:
            table.append((_pattern(source.delta), source.entity, False))
        item = _pattern(source.item.format(collection=source.collection, id="{id}"))
        table.append((item, source.entity, True))
        for link in source.links:
            target = RESOURCE_TYPES.get(link.targets[0]) if link.targets else None
            entity = "directoryObject"
            if link.write is LinkWrite.OBJECTS or target is None:
                entity = _link_entity(source.entity, link.path)
            table.append((f"{item}/{re.escape(link.path)}", entity, link.single))
    return [(re.compile(f"/(?:v1\\.0|beta)/{p}"), e, s) for p, e, s in table]


def _link_entity(entity: str, path: str) -> str:
    """A link holding objects: the SDK's type of that navigation property (its request
    builder's answer), found by name in the SDK's models."""
    last = path.rsplit("/", 1)[-1]
    singular = last[:-1] if last.endswith("s") else last
    known = {"methods": "authenticationMethod", "licenseDetails": "licenseDetails"}
    return known.get(last, singular if _model(singular) is not None else "directoryObject")


def _model(entity: str) -> Any:
    module = re.sub(r"(?<!^)(?=[A-Z])", "_", entity).lower()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            found = importlib.import_module(f"msgraph.generated.models.{module}")
    except ModuleNotFoundError:
        return None
    return getattr(found, entity[0].upper() + entity[1:], None)


def _parse(entity: str, item: dict[str, Any]) -> Any:
    from kiota_serialization_json.json_parse_node import JsonParseNode

    model = _model(entity)
    assert model is not None, f"msgraph-sdk has no model {entity}"
    return JsonParseNode(item).get_object_value(model)


def _items(body: Any, single: bool) -> Iterator[dict[str, Any]]:
    if not isinstance(body, dict):
        return
    if single:
        yield body
        return
    yield from (v for v in body.get("value", []) if isinstance(v, dict))


@dataclass
class Parsed:
    """What :func:`parse_answers` found."""

    counts: Counter[str] = field(default_factory=Counter)
    unmodelled: set[str] = field(default_factory=set)
    unknown: list[str] = field(default_factory=list)


def parse_answers(
    exchanges: Iterable[Exchange], table: ModelTable, *, writes_single: bool = False
) -> Parsed:
    """Every successful JSON answer parsed with its path's model; the SDK must know each
    property (nothing in ``additional_data`` but OData annotations) and read the same id.
    ``writes_single``: a POST/PATCH/PUT answers the one object written, even on a collection
    path (``POST namedLocations`` answers the location made)."""
    found = Parsed()
    for exchange in exchanges:
        if not exchange.path.startswith(("/v1.0/", "/beta/")) or exchange.status >= 300:
            continue
        if exchange.body is None:  # 204 No Content: nothing to parse
            continue
        match = next(((e, s) for p, e, s in table if p.fullmatch(exchange.path)), None)
        if match is None:
            found.unmodelled.add(f"{exchange.method} {exchange.path}")
            continue
        entity, single = match
        if writes_single and exchange.method != "GET":
            single = True
        for item in _items(exchange.body, single):
            result = _parse(entity, item)
            extra = {k for k in result.additional_data if "@" not in k}
            if extra:
                found.unknown.append(
                    f"{exchange.method} {exchange.path} ({entity}): {sorted(extra)}"
                )
            if "id" in item:
                assert result.id == item["id"], exchange.path
            found.counts[entity] += 1
    return found
