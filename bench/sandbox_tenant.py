"""The Graph sandbox at size: generating a realistic tenant, and a full ``$select``ed user listing
paged over HTTPS, against a trivial peer serving the same records.

    .venv/bin/python bench/sandbox_tenant.py [--users 100000] [--seed 1] [--top 999]

1. ``generate_tenant(SeedOptions(users=N, realistic=True))`` timed (no tracer running), then the
   process's peak resident memory (``ru_maxrss``) after it.
2. The sandbox served over TLS on loopback (``BackgroundSandbox``, throttling on as Graph has
   it), an app-only token from its token endpoint, then every page of
   ``GET /v1.0/users?$select=id,displayName,userPrincipalName,mail,department&$top=T`` following
   ``@odata.nextLink``; the user count is checked against the tenant.
3. The peer: a bare Starlette app on uvicorn with the same TLS files, answering the same pages
   from the same records, projected once beforehand, with ``json.dumps`` and a ``$skip`` link —
   what serving a JSON file of those users costs. Same client, same loop.

Prints each time, users/s, the ratio sandbox/peer, and peak memory after each stage. Progress
goes to standard error, figures to standard output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dirguard_sandbox.certificates import TlsFiles
from dirguard_sandbox.seed_data import SeedOptions, generate_tenant
from dirguard_sandbox.server import BackgroundSandbox, bind_loopback

SELECT = ("id", "displayName", "userPrincipalName", "mail", "department")


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def list_all(base: str, tls: ssl.SSLContext, token: str, first: str) -> tuple[int, float]:
    """Follow ``@odata.nextLink`` from ``first``; (items, seconds)."""
    count = 0
    started = time.perf_counter()
    with httpx.Client(verify=tls, headers={"Authorization": f"Bearer {token}"}) as client:
        url: str | None = f"{base}{first}"
        while url:
            answer = client.get(url)
            answer.raise_for_status()
            body = answer.json()
            count += len(body["value"])
            url = body.get("@odata.nextLink")
    return count, time.perf_counter() - started


def peer_app(records: list[dict[str, Any]], top: int) -> Starlette:
    async def users(request: Request) -> Response:
        skip = int(request.query_params.get("$skip", "0"))
        body: dict[str, Any] = {"value": records[skip : skip + top]}
        if skip + top < len(records):
            body["@odata.nextLink"] = f"{request.base_url}v1.0/users?$skip={skip + top}"
        return Response(json.dumps(body).encode(), media_type="application/json")

    return Starlette(routes=[Route("/v1.0/users", users)])


class Peer:
    """The peer app served from a thread over the sandbox's TLS files."""

    def __init__(self, app: Starlette, tls: TlsFiles) -> None:
        self._socket = bind_loopback()
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            ssl_certfile=str(tls.cert_file),
            ssl_keyfile=str(tls.key_file),
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve(sockets=[self._socket])), daemon=True
        )

    def __enter__(self) -> Peer:
        self._thread.start()
        while not self._server.started:
            self._thread.join(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self._server.should_exit = True
        self._thread.join()
        self._socket.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--top", type=int, default=999, help="page size ($top), at most 999")
    args = parser.parse_args()
    if not 1 <= args.top <= 999:
        parser.error(f"--top must be between 1 and 999 (Graph's limit), not {args.top}")

    baseline = peak_mib()
    say(f"generating a realistic tenant of {args.users:,} users (seed {args.seed}) ...")
    started = time.perf_counter()
    state = generate_tenant(SeedOptions(users=args.users, seed=args.seed, realistic=True))
    generation_s = time.perf_counter() - started
    generated_mib = peak_mib()
    print(
        f"generation: {generation_s:.2f} s for {len(state.users):,} users, "
        f"{len(state.groups):,} groups, {len(state.service_principals):,} service principals, "
        f"{len(state.deleted):,} deleted items"
    )
    print(f"peak memory after generation: {generated_mib:.0f} MiB (before: {baseline:.0f} MiB)")

    query = f"/users?$select={','.join(SELECT)}&$top={args.top}"
    with tempfile.TemporaryDirectory() as directory:
        sandbox = BackgroundSandbox(state, Path(directory), throttling=True)
        sandbox.start()
        try:
            info = sandbox.info
            tls = ssl.create_default_context(cafile=str(info.ca_file))
            token = httpx.post(
                f"{info.login_base}/{info.tenant_id}/oauth2/v2.0/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": info.full_client_id,
                    "client_secret": info.full_client_secret,
                    "scope": "https://graph.microsoft.com/.default",
                },
                verify=tls,
            ).json()["access_token"]
            say(f"listing every user through the sandbox: GET {query} ...")
            count, sandbox_s = list_all(
                info.graph_base.removesuffix("/v1.0"), tls, token, f"/v1.0{query}"
            )
            if count != len(state.users):
                raise SystemExit(f"the sandbox listed {count:,} users, not {len(state.users):,}")
            listed_mib = peak_mib()
            records = [{name: user[name] for name in SELECT} for user in state.users.values()]
            say("listing the same users from the peer (Starlette + json.dumps) ...")
            with Peer(peer_app(records, args.top), sandbox.tls) as peer:
                peer_count, peer_s = list_all(
                    f"https://127.0.0.1:{peer.port}", tls, token, "/v1.0/users"
                )
        finally:
            sandbox.stop()
    assert peer_count == count
    pages = -(-count // args.top)
    print(
        f"sandbox listing: {sandbox_s:.2f} s, {count:,} users in {pages} pages, "
        f"{count / sandbox_s:,.0f} users/s"
    )
    print(f"peer listing:    {peer_s:.2f} s, {peer_count / peer_s:,.0f} users/s")
    print(f"ratio sandbox/peer: {sandbox_s / peer_s:.2f}")
    print(f"peak memory after the sandbox listing: {listed_mib:.0f} MiB")
    print(f"peak memory at the end (peer's records included): {peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
