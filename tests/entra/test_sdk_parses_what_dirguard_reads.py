"""Microsoft's own SDK parses every answer dirguard's Entra reader relies on.

dirguard's Graph client is given an httpx transport that records each request and its answer
while the reader takes a snapshot of the sandbox tenant (every declared type, their links in
``$batch`` calls), then captures another identity's writes (delta rounds, polls, the directory
audit for the actors). Each recorded answer — each answer inside a ``$batch`` too — is parsed
with ``msgraph-sdk``'s model of what that path returns (the catalog row's entity for its
collection, delta function, item or parent-scoped collection; a link's target type, or
``directoryObject``; ``directoryAudit`` for the audit log): the SDK must know every property
(nothing in ``additional_data`` but OData annotations) and read the same id. A path with no model
here fails the test, so the table cannot silently fall behind the reader. (The writer's answers:
``test_sdk_parses_what_dirguard_writes.py``.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from dirguard.catalog.resource_type import GraphSource
from dirguard.providers.entra.provider import open_graph
from dirguard.providers.entra.read import EntraReader
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.capture.capture import capture_source
from dirguard.services.capture.snapshot import snapshot_source
from dirguard.store.database import create_engine_for, session_factory, upgrade
from tests.entra.conftest import tenant_config
from tests.entra.sdk_answers import Recorder, model_table, parse_answers
from tests.fixtures.graph_sandbox import RunningSandbox

pytest.importorskip("msgraph")


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

    found = parse_answers(recorder.exchanges, model_table())
    assert not found.unmodelled, f"paths with no SDK model in the table: {sorted(found.unmodelled)}"
    assert not found.unknown, "\n".join(found.unknown)
    parsed = found.counts
    read = {
        r.source.entity
        for r in RESOURCE_TYPES.of_provider("entra")
        if isinstance(r.source, GraphSource)
    }
    for entity in ("user", "group", "directoryAudit", "conditionalAccessPolicy", "namedLocation"):
        assert parsed[entity], (entity, parsed)
    assert len(set(parsed) & read) >= 15, parsed
