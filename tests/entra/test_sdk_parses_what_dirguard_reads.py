"""Microsoft's own SDK parses every answer dirguard's Entra reader relies on.

dirguard's Graph client is given an httpx transport that records each request and its answer
while the reader takes a snapshot of the sandbox tenant (every declared type, their links in
``$batch`` calls), then captures another identity's writes (delta rounds, polls, the directory
audit for the actors). Each recorded answer — each answer inside a ``$batch`` too — is parsed
with ``msgraph-sdk``'s model of what that path returns (the catalog row's entity for its
collection, delta function, item or parent-scoped collection; a link's target type, or
``directoryObject``; ``directoryAudit`` for the audit log): the SDK must know every property
(nothing in ``additional_data`` but OData annotations) and read the same id. A path with no model
here fails the test, so the table cannot silently fall behind the reader."""

from __future__ import annotations

import importlib
import json
import re
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from dirguard.catalog.graph_rules import LinkWrite
from dirguard.catalog.resource_type import GraphSource
from dirguard.providers.entra.provider import open_graph
from dirguard.providers.entra.read import EntraReader
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.capture.capture import capture_source
from dirguard.services.capture.snapshot import snapshot_source
from dirguard.store.database import create_engine_for, session_factory, upgrade
from tests.entra.conftest import tenant_config
from tests.fixtures.graph_sandbox import RunningSandbox

pytest.importorskip("msgraph")


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


def model_table() -> list[tuple[re.Pattern[str], str, bool]]:
    """(path pattern under the version, SDK entity, single object) for every Graph path the
    reader reads, from the catalog."""
    table: list[tuple[str, str, bool]] = [("auditLogs/directoryAudits", "directoryAudit", False)]
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


def test_msgraph_sdk_parses_every_answer_of_a_snapshot_and_a_capture(
    graph_sandbox: RunningSandbox, admin: httpx.Client, tmp_path: Path
) -> None:
    info = graph_sandbox.info
    recorder = Recorder(httpx.HTTPTransport(verify=graph_sandbox.tls()))
    tenant = tenant_config(graph_sandbox)
    graph = open_graph(tenant, info.read_only_client_secret, transport=recorder)
    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    ca = "/identity/conditionalAccess"
    location = admin.post(
        f"{ca}/namedLocations",
        json={
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "displayName": "SDK parse range",
            "isTrusted": False,
            "ipRanges": [
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "192.0.2.0/24"}
            ],
        },
    ).json()
    admin.post(
        f"{ca}/policies",
        json={
            "displayName": "SDK parse policy",
            "state": "disabled",
            "conditions": {
                "applications": {"includeApplications": ["All"]},
                "users": {"includeUsers": ["All"]},
                "locations": {"includeLocations": [location["id"]]},
            },
            "grantControls": {"operator": "OR", "builtInControls": ["block"]},
        },
    ).raise_for_status()
    with EntraReader(graph, tenant) as reader:
        snapshot_source(sessions, reader)
        user = admin.get("/users", params={"$top": "1"}).json()["value"][0]["id"]
        admin.patch(f"/users/{user}", json={"jobTitle": "Parsed by the SDK"}).raise_for_status()
        group = admin.post(
            "/groups",
            json={
                "displayName": "SDK parse",
                "mailEnabled": False,
                "mailNickname": "sdkparse",
                "securityEnabled": True,
            },
        ).json()
        admin.post(
            f"/groups/{group['id']}/members/$ref",
            json={"@odata.id": f"{info.graph_base}/directoryObjects/{user}"},
        ).raise_for_status()
        capture_source(sessions, reader)

    table = model_table()
    unmodelled: set[str] = set()
    unknown: list[str] = []
    parsed: Counter[str] = Counter()
    for exchange in recorder.exchanges:
        if not exchange.path.startswith(("/v1.0/", "/beta/")) or exchange.status >= 300:
            continue
        found = next(((e, s) for p, e, s in table if p.fullmatch(exchange.path)), None)
        if found is None:
            unmodelled.add(exchange.path)
            continue
        entity, single = found
        for item in _items(exchange.body, single):
            result = _parse(entity, item)
            extra = {k for k in result.additional_data if "@" not in k}
            if extra:
                unknown.append(f"{exchange.path} ({entity}): {sorted(extra)}")
            if "id" in item:
                assert result.id == item["id"], exchange.path
            parsed[entity] += 1
    assert not unmodelled, f"paths with no SDK model in the table: {sorted(unmodelled)}"
    assert not unknown, "\n".join(unknown)
    read = {
        r.source.entity
        for r in RESOURCE_TYPES.of_provider("entra")
        if isinstance(r.source, GraphSource)
    }
    for entity in ("user", "group", "directoryAudit", "conditionalAccessPolicy", "namedLocation"):
        assert parsed[entity], (entity, parsed)
    assert len(set(parsed) & read) >= 15, parsed
