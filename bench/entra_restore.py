"""Bulk Entra restore against Graph's write quota: how much of 3,000 writes per 150 seconds per
application and tenant ("Microsoft Graph service-specific throttling limits", identity and
access) dirguard's step loop uses when it undoes an actor's mass change.

    .venv/bin/python bench/entra_restore.py [--users 3300]

The sandbox tenant served over TLS on loopback with throttling on as Graph has it (its write
window is the quota), ``--users`` of its users disabled at once (set in its state: the bad
change is not what is measured) and the change events a capture would record stored with their
actor. Then the rollback as ``dirguard rollback plan --actor`` / ``rollback apply`` do it:
``plan_actor`` + ``save_plan``, and ``apply_plan`` with the :class:`EntraStepWriter` over the
product's Graph client (azure-identity token, httpx): per step a read, the PATCH, a read back and
one store commit, writes paced by ``WritePacer``.

Prints the writes, 429 answers, wall time, writes/s against the quota's 20/s, the most writes in
any 150-second window against 3,000 (the goal is at least 0.9 once a run lasts a window), and
checks every user is enabled again. Progress goes to standard error, figures to standard output.
"""

from __future__ import annotations

import argparse
import ssl
import sys
import tempfile
import time
from bisect import bisect_right
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from dirguard.config.schema import EntraTenantConfig
from dirguard.core.change_op import ChangeOp
from dirguard.providers.base import store_source
from dirguard.providers.entra.apply import WRITE_QUOTA, WRITE_WINDOW, EntraStepWriter, WritePacer
from dirguard.providers.entra.provider import EntraProvider, open_graph
from dirguard.services.rollback.history_plans import plan_actor
from dirguard.services.rollback.plan_store import save_plan
from dirguard.services.rollback.steps import apply_plan
from dirguard.store.column_types import utcnow
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import DirectoryObject, ObjectVersion
from dirguard_sandbox.seed_data import SeedOptions, generate_tenant
from dirguard_sandbox.server import BackgroundSandbox

ACTOR = "rogue@bench.example.com"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class RecordingPacer(WritePacer):
    """The product's pacer, noting when each write was let through."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def wait(self) -> None:
        super().wait()
        self.times.append(time.monotonic())


class CountingTransport(httpx.HTTPTransport):
    """httpx's transport, counting answers by status."""

    def __init__(self, tls: ssl.SSLContext) -> None:
        super().__init__(verify=tls)
        self.statuses: Counter[int] = Counter()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = super().handle_request(request)
        self.statuses[answer.status_code] += 1
        return answer


def most_in_window(times: list[float], window: float) -> int:
    return max((bisect_right(times, t + window) - i for i, t in enumerate(times)), default=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=3300)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dg-entra-restore-"))
    state = generate_tenant(SeedOptions(users=args.users + 10, seed=5))
    sandbox = BackgroundSandbox(state, work, throttling=True)
    sandbox.start()
    info = sandbox.info
    try:
        engine = create_engine_for(f"sqlite:///{work / 'store.db'}")
        upgrade(engine)
        sessions = session_factory(engine)
        source = store_source("entra", "bench")
        targets = [u for u in state.users.values() if u.get("accountEnabled")][: args.users]
        say(f"storing {len(targets)} users and their change events")
        with sessions.begin() as session:
            rows = []
            for user in targets:
                obj = DirectoryObject(
                    source=source,
                    resource_type="entra.user",
                    external_id=user["id"],
                    natural_key=user["userPrincipalName"],
                    path=user["displayName"],
                )
                session.add(obj)
                rows.append(obj)
            session.flush()
            for obj, user in zip(rows, targets, strict=True):
                content = {"displayName": [user["displayName"]], "accountEnabled": [False]}
                session.add(
                    ObjectVersion(object_id=obj.id, version=1, content=content, content_hash="x")
                )
                user["accountEnabled"] = False
            since = utcnow()
            append_events(
                session,
                [
                    NewChangeEvent(
                        object_id=obj.id,
                        op=ChangeOp.MODIFY,
                        attribute="accountEnabled",
                        old_value=True,
                        new_value=False,
                        actor=ACTOR,
                    )
                    for obj in rows
                ],
            )
        tls = ssl.create_default_context(cafile=str(info.ca_file))
        transport = CountingTransport(tls)
        tenant = EntraTenantConfig(
            name="bench",
            tenant_id=info.tenant_id,
            client_id=info.full_client_id,
            client_secret="env:UNUSED",  # noqa: S106 - a reference; the secret is passed below
            authority=info.login_base,
            graph_url=info.login_base,
            ca_file=info.ca_file,
        )
        graph = open_graph(tenant, info.full_client_secret, transport=transport)
        pacer = RecordingPacer()
        started = time.perf_counter()
        with sessions.begin() as session:
            draft = plan_actor(EntraProvider(), session, source, ACTOR, since, None, force=False)
            plan_id = save_plan(
                session,
                source=source,
                requested_by="bench",
                selection={"actor": ACTOR},
                force=False,
                draft=draft,
            ).id
        planned = time.perf_counter() - started
        say(f"plan {plan_id}: {len(draft.steps)} steps in {planned:.1f} s; applying")
        writer = EntraStepWriter(graph, tenant="bench", graph_url=info.login_base, pacer=pacer)
        with writer:
            report = apply_plan(sessions, writer, plan_id, requested_by="bench")
        elapsed = time.perf_counter() - started
        enabled = sum(1 for u in targets if state.users[u["id"]]["accountEnabled"])
        writes = len(pacer.times)
        span = pacer.times[-1] - pacer.times[0] if writes > 1 else 0.0
        rate = (writes - 1) / span if span else 0.0
        window = most_in_window(pacer.times, WRITE_WINDOW)
        quota_rate = WRITE_QUOTA / WRITE_WINDOW
        figures: dict[str, Any] = {
            "steps": len(draft.steps),
            "statuses": dict(report.counts),
            "users enabled again": f"{enabled}/{len(targets)}",
            "writes": writes,
            "answers": dict(sorted(transport.statuses.items())),
            "plan s": round(planned, 2),
            "plan + apply s": round(elapsed, 1),
            "writes/s (first to last write)": round(rate, 2),
            "against the quota's writes/s": f"{rate / quota_rate:.2f} of {quota_rate:.0f}",
            "most writes in a 150 s window": window,
        }
        if span >= WRITE_WINDOW:
            figures["window ratio (goal >= 0.9)"] = round(window / WRITE_QUOTA, 3)
        else:
            figures["window ratio"] = "run shorter than a window: see writes/s"
        for name, value in figures.items():
            print(f"{name}: {value}")
    finally:
        sandbox.stop()


if __name__ == "__main__":
    main()
