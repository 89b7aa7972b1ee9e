"""A full Entra snapshot of a big sandbox tenant: requests used against the minimum, wall time
against Microsoft's own SDK listing the same collections, an incremental cycle with nothing
changed, and peak memory.

    .venv/bin/python bench/entra_snapshot.py [--users 50000] [--seed 1]

1. The sandbox (``python -m dirguard_sandbox serve --realistic --users N``, throttling on as
   Graph has it: resource units per 10 s, 1 request/s on conditional access) in its own process,
   so this process's memory is dirguard's.
2. dirguard: ``snapshot_source`` of an :class:`EntraReader` (the read-only app) into a fresh
   SQLite store, over the bench's types — users, groups with their members and owners,
   applications with their owners, service principals, conditional access policies, named
   locations, the authorization policy — the declared rows with their other links left out
   (per-user authentication methods would be 1 read per user for either client). Counted:
   HTTP requests sent, and the minimum for the declared ``$select`` and page size: per
   collection ``ceil(n / 999)`` pages (a singleton: 1), a delta link per delta collection
   (``$deltatoken=latest``), and the relationship reads of every object packed 20 to a
   ``$batch`` (each relationship ``ceil(values / 999)`` pages).
3. The peers in the same run: plain httpx paging the same collections with the same ``$select``
   and ``$top`` and every group's members and owners, one request after the other as a plain
   script does (the fair peer: JSON parsed, nothing else); and ``msgraph-sdk``'s
   ``PageIterator`` over the same (``--skip-sdk`` leaves it out). The SDK is not slow on the
   wire: profiled, nearly all its time is kiota deserializing, ~18 ms per object, most of it in
   the generated ``Entity.get_field_deserializers``, which runs a thousand-odd ``from .x import
   X`` statements of every derived type for each object parsed; its retry and redirect handlers
   and token acquisition cost next to nothing (one 429 on the CA budget, 0.3 s in HTTP of 22 s at
   300 users).
4. One incremental cycle with nothing changed (``capture_source``): requests used (goal: one
   per delta collection plus the polls).
5. Peak resident memory of this process after the snapshot (``ru_maxrss``): run with
   ``--users 10000`` and ``--users 50000`` to compare (goal: it does not grow with the tenant).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import ssl
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from dirguard.catalog.resource_type import GraphSource, ResourceType
from dirguard.config.schema import EntraTenantConfig
from dirguard.providers.entra.provider import open_graph
from dirguard.providers.entra.read import EntraReader
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.capture.capture import capture_source
from dirguard.services.capture.snapshot import snapshot_source
from dirguard.store.database import create_engine_for, session_factory, upgrade

BENCH_TYPES = {
    "entra.user": (),
    "entra.group": ("members", "owners"),
    "entra.application": ("owners",),
    "entra.service_principal": (),
    "entra.conditional_access_policy": (),
    "entra.named_location": (),
    "entra.authorization_policy": (),
}
"""The bench's rows and the links kept on each."""
PAGE = 999


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def own_cpu() -> float:
    """CPU seconds of this process so far (every thread, user and system)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def server_cpu(pid: int) -> float:
    """CPU seconds of the sandbox process so far (``/proc/PID/stat``: utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Phase:
    """Wall time, this process's CPU and the sandbox's CPU over a ``with`` block."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.wall = self.client = self.server = 0.0

    def __enter__(self) -> Phase:
        self._start = (time.perf_counter(), own_cpu(), server_cpu(self.pid))
        return self

    def __exit__(self, *_exc: object) -> None:
        wall, client, server = self._start
        self.wall = time.perf_counter() - wall
        self.client = own_cpu() - client
        self.server = server_cpu(self.pid) - server

    def __str__(self) -> str:
        return (
            f"wall {self.wall:.2f} s, client CPU {self.client:.2f} s,"
            f" sandbox CPU {self.server:.2f} s"
        )


def bench_rows() -> list[ResourceType]:
    rows = []
    for key, kept in BENCH_TYPES.items():
        row = RESOURCE_TYPES[key]
        assert isinstance(row.source, GraphSource)
        links = tuple(link for link in row.source.links if link.field in kept)
        rows.append(
            replace(
                row,
                source=replace(row.source, links=links),
                linked_fields=frozenset(link.field for link in links),
            )
        )
    return rows


def serve(users: int, seed: int, directory: Path) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dirguard_sandbox",
            "serve",
            "--realistic",
            "--users",
            str(users),
            "--seed",
            str(seed),
            "--tls-dir",
            str(directory),
            "--audit-latency",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise SystemExit("the sandbox did not start")
    return process, json.loads(line)


def tenant(info: dict[str, Any]) -> EntraTenantConfig:
    return EntraTenantConfig(
        name="bench",
        tenant_id=UUID(info["tenant_id"]),
        client_id=UUID(info["apps"]["read_only"]["client_id"]),
        client_secret="env:UNUSED",  # noqa: S106 - a reference, resolved by nobody here
        authority=info["login_base"],
        graph_url=info["login_base"],
        ca_file=Path(info["ca_file"]),
    )


def minimum_requests(sessions: Any, rows: list[ResourceType]) -> int:
    """What the declared $select and page size allow at the least (see the docstring)."""
    from sqlalchemy import select

    from dirguard.store.models import DirectoryObject, ObjectVersion

    total = 0
    relationship_pages = 0
    with sessions() as session:
        for row in rows:
            assert isinstance(row.source, GraphSource)
            ids = list(
                session.scalars(
                    select(DirectoryObject.id).where(DirectoryObject.resource_type == row.key)
                )
            )
            total += 1 if row.source.singleton else max(1, math.ceil(len(ids) / PAGE))
            total += 1 if row.source.delta else 0
            for link in row.source.links:
                for content in session.scalars(
                    select(ObjectVersion.content).where(ObjectVersion.object_id.in_(ids))
                ):
                    relationship_pages += max(1, math.ceil(len(content.get(link.field, [])) / PAGE))
    return total + math.ceil(relationship_pages / 20)


async def sdk_listing(info: dict[str, Any], rows: list[ResourceType]) -> tuple[int, float]:
    """msgraph-sdk's PageIterator over the same collections (and each group's members and
    owners): (objects, seconds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from kiota_abstractions.base_request_configuration import RequestConfiguration
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph_core import GraphClientFactory, PageIterator

    from azure.identity.aio import ClientSecretCredential

    # the SDK's own async credential (a sync one blocks the loop at every request)
    credential = ClientSecretCredential(
        info["tenant_id"],
        info["apps"]["read_only"]["client_id"],
        info["apps"]["read_only"]["client_secret"],
        authority=info["login_base"],
        disable_instance_discovery=True,
        connection_verify=info["ca_file"],
    )
    auth = AzureIdentityAuthenticationProvider(
        credential,  # type: ignore[arg-type]
        scopes=["https://graph.microsoft.com/.default"],
        allowed_hosts=["127.0.0.1"],
    )
    transport = httpx.AsyncHTTPTransport(verify=ssl.create_default_context(cafile=info["ca_file"]))
    http = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=transport, timeout=120)
    )
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = info["graph_base"]
    client = GraphServiceClient(request_adapter=adapter)
    count = 0
    group_ids: list[str] = []

    async def every(page: Any) -> int:
        seen = 0

        def keep(item: Any) -> bool:
            nonlocal seen
            seen += 1
            return True

        if page is None:
            return 0
        iterator = PageIterator(page, adapter)
        await iterator.iterate(keep)
        return seen

    started = time.perf_counter()
    builders = {
        "entra.user": client.users,
        "entra.group": client.groups,
        "entra.application": client.applications,
        "entra.service_principal": client.service_principals,
        "entra.conditional_access_policy": client.identity.conditional_access.policies,
        "entra.named_location": client.identity.conditional_access.named_locations,
    }
    for row in rows:
        assert isinstance(row.source, GraphSource)
        builder = builders.get(row.key)
        if builder is None:  # the authorization policy: one object
            await client.policies.authorization_policy.get()
            count += 1
            continue
        params_class = builder.__class__.__dict__[builder.__class__.__name__ + "GetQueryParameters"]
        params: dict[str, Any] = {"select": list(row.source.select)}
        if row.key not in ("entra.conditional_access_policy", "entra.named_location"):
            params["top"] = PAGE
        config = RequestConfiguration(query_parameters=params_class(**params))
        first = await builder.get(request_configuration=config)
        if row.key == "entra.group":
            # every group's members and owners are read below: keep the ids of all pages
            found: list[str] = []

            def collect(item: Any, into: list[str] = found) -> bool:
                into.append(item.id)
                return True

            await PageIterator(first, adapter).iterate(collect)
            group_ids = found
            count += len(found)
        else:
            count += await every(first)
    for group_id in group_ids:
        group = client.groups.by_group_id(group_id)
        for relation in (group.members, group.owners):
            params_class = relation.__class__.__dict__[
                relation.__class__.__name__ + "GetQueryParameters"
            ]
            config = RequestConfiguration(query_parameters=params_class(select=["id"], top=PAGE))
            page = await relation.get(request_configuration=config)
            count += await every(page)
    seconds = time.perf_counter() - started
    await http.aclose()
    await transport.aclose()
    await credential.close()
    return count, seconds


def httpx_listing(info: dict[str, Any], rows: list[ResourceType]) -> tuple[int, float, int]:
    """The fair peer: plain httpx paging the same collections with the same ``$select`` and
    ``$top`` (one token, asked once), then every group's members and owners, one request after
    the other as a plain script does, the answers parsed as JSON and nothing else:
    (objects, seconds, requests)."""
    verify = ssl.create_default_context(cafile=info["ca_file"])
    app = info["apps"]["read_only"]
    started = time.perf_counter()
    token = httpx.post(
        f"{info['login_base']}/{info['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=verify,
    ).json()["access_token"]
    count = requests = 0
    group_ids: list[str] = []
    with httpx.Client(
        base_url=info["graph_base"],
        verify=verify,
        timeout=120,
        headers={"Authorization": f"Bearer {token}"},
    ) as client:

        def every(url: str, params: dict[str, str] | None) -> list[dict[str, Any]]:
            nonlocal requests
            found: list[dict[str, Any]] = []
            link: str | None = url
            while link is not None:
                answer = client.get(link, params=params)
                requests += 1
                if answer.status_code == 429:  # the CA budget: wait as it asks, then again
                    time.sleep(float(answer.headers.get("Retry-After", "1")))
                    continue
                answer.raise_for_status()
                body = answer.json()
                found.extend(body.get("value", [body] if "value" not in body else []))
                link, params = body.get("@odata.nextLink"), None
            return found

        for row in rows:
            assert isinstance(row.source, GraphSource)
            params = {"$select": ",".join(row.source.select)} if row.source.select else {}
            if not row.source.singleton and row.key not in (
                "entra.conditional_access_policy",
                "entra.named_location",
            ):
                params["$top"] = str(PAGE)
            items = every(f"/{row.source.collection}", params)
            count += len(items)
            if row.key == "entra.group":
                group_ids = [str(item["id"]) for item in items]
        for group_id in group_ids:
            for relation in ("members", "owners"):
                count += len(
                    every(f"/groups/{group_id}/{relation}", {"$select": "id", "$top": str(PAGE)})
                )
    return count, time.perf_counter() - started, requests


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-sdk", action="store_true", help="dirguard only")
    arguments = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dirguard-entra-bench-"))
    say(f"generating and serving a {arguments.users}-user tenant ...")
    started = time.perf_counter()
    process, info = serve(arguments.users, arguments.seed, work)
    say(f"  served after {time.perf_counter() - started:.1f} s at {info['graph_base']}")
    rows = bench_rows()
    try:
        engine = create_engine_for(f"sqlite:///{work / 'store.db'}")
        upgrade(engine)
        sessions = session_factory(engine)
        base_mib = peak_mib()
        graph = open_graph(tenant(info), info["apps"]["read_only"]["client_secret"])
        reader = EntraReader(graph, tenant(info), types=rows)
        say("dirguard snapshot ...")
        with Phase(process.pid) as ours:
            result = snapshot_source(sessions, reader)
        dirguard_s = ours.wall
        used = graph.requests
        snapshot_mib = peak_mib()
        minimum = minimum_requests(sessions, rows)
        say("an incremental cycle with nothing changed ...")
        before = graph.requests
        cycle = capture_source(sessions, reader)
        cycle_requests = graph.requests - before
        reader.close()
        print(
            f"tenant: {arguments.users} users; {result.objects} objects read, "
            f"{result.new_objects} stored"
        )
        print(
            f"dirguard snapshot: {dirguard_s:.2f} s, {result.objects / dirguard_s:.0f} objects/s;"
            f" {used} requests (minimum {minimum}: ratio {used / minimum:.2f});"
            f" waited {reader.pacer.waited:.2f} s for the budget, {reader.pacer.refusals} refused"
        )
        print(
            f"incremental cycle, nothing changed: {cycle_requests} requests, "
            f"{cycle.events} events ({sum(1 for r in rows if r.source.delta)} delta collections,"  # type: ignore[union-attr]
            f" {sum(1 for r in rows if not r.source.delta)} polled)"
        )  # type: ignore[union-attr]
        print(f"peak memory: {base_mib:.0f} MiB before the snapshot, {snapshot_mib:.0f} MiB after")
        print(f"  dirguard snapshot: {ours}")
        say("plain httpx listing (the fair peer) ...")
        with Phase(process.pid) as peer:
            objects, peer_s, peer_requests = httpx_listing(info, rows)
        print(
            f"plain httpx listing: {peer_s:.2f} s for {objects} objects and links,"
            f" {peer_requests} requests"
        )
        print(f"  plain httpx listing: {peer}")
        print(f"ratio dirguard/httpx: {dirguard_s / peer_s:.2f} (goal <= 0.5)")
        if not arguments.skip_sdk:
            say("msgraph-sdk PageIterator listing ...")
            objects, sdk_s = asyncio.run(sdk_listing(info, rows))
            print(f"msgraph-sdk PageIterator: {sdk_s:.2f} s for {objects} objects and links")
            print(f"ratio dirguard/msgraph-sdk: {dirguard_s / sdk_s:.2f} (goal <= 0.5)")
    finally:
        process.terminate()
        process.wait(timeout=30)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
