"""The console's changes timeline over a store of 1,000,000 events: server time per page.

    .venv/bin/python bench/console_changes.py [--events 1000000] [--pages 100] [--url URL]

A store (SQLite by default, or the PostgreSQL ``--url`` names) is filled once with ``--events``
change events over 20,000 objects in two directories, 40 actors, 24 attributes and a year of
timeline (a row every ~30 s), written in bulk (the digests are stand-ins: nothing here verifies
the chain). The SQLite file is kept in ``~/.cache/dirguard-bench/`` (or
``$DIRGUARD_BENCH_CACHE``) and reused by later runs of the same size.

Measured in the same run, each as the server does it for one request — the filter parsed from
query parameters, the page read, each row made into its JSON document and the page serialized:

1. **timeline pages**: ``--pages`` consecutive pages of 50, newest first, from the top and from
   the middle of the store (a cursor taken at the 500,000th row), through the change search's
   keyset (:func:`dirguard.services.change_search.search`);
2. **filtered pages**: one actor within a 30-day window, ``--pages`` pages the same way;
3. the **peer**: the same pages read the naive way, ``ORDER BY ... LIMIT 50 OFFSET n``, with the
   same filter, joins and serialization.

With ``--api`` (the default when the web app is importable) the same pages are also requested
through the REST API in process (``/api/v1/changes``, ASGI, an httpx client), timing the whole
request. Prints p50/p95/max per series and the ratio of the OFFSET peer's p95 to the keyset's
(goal: keyset p95 at most 100 ms per page). Progress to standard error, figures to standard output.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from dirguard.services.change_filter import ChangeFilter
from dirguard.services.change_search import PageCursor, _row, filtered, search
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.models import ChangeEvent, DirectoryObject

OBJECTS = 20_000
ACTORS = [f"CORP\\admin{n:02d}" for n in range(40)]
ATTRIBUTES = [
    "description", "title", "department", "member", "manager", "telephoneNumber", "mail",
    "displayName", "userAccountControl", "pwdLastSet", "info", "company", "streetAddress",
    "physicalDeliveryOfficeName", "l", "st", "postalCode", "givenName", "sn", "employeeID",
    "homeDirectory", "scriptPath", "managedBy", "nTSecurityDescriptor",
]  # fmt: skip
START = datetime(2025, 12, 1, tzinfo=UTC)
PAGE = 50
GOAL_MS = 100.0


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _fill(url: str, events: int) -> None:
    engine = create_engine_for(url)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions() as session:
        if (session.scalar(select(func.count(ChangeEvent.id))) or 0) >= events:
            _log(f"store has {events} events already")
            engine.dispose()
            return
    rng = random.Random(7)  # noqa: S311 (made-up data, not secrets)
    started = time.perf_counter()
    with sessions.begin() as session:
        session.execute(
            insert(DirectoryObject),
            [
                {
                    "source": "ad:corp.example.com" if n % 4 else "entra:contoso",
                    "resource_type": "ad.user" if n % 4 else "entra.user",
                    "external_id": f"00000000-0000-4000-8000-{n:012d}",
                    "natural_key": f"user{n:05d}",
                    "path": f"CN=user{n:05d},OU=Staff,DC=corp,DC=example,DC=com",
                }
                for n in range(OBJECTS)
            ],
        )
    with sessions() as session:
        ids = list(session.execute(select(DirectoryObject.id, DirectoryObject.source)))
    sequences = {"ad:corp.example.com": 0, "entra:contoso": 0}
    step = timedelta(days=365) / events
    batch = 20_000
    for first in range(0, events, batch):
        rows = []
        for n in range(first, min(first + batch, events)):
            object_id, source = ids[rng.randrange(len(ids))]
            sequences[source] += 1
            at = START + step * n
            attribute = rng.choice(ATTRIBUTES)
            rows.append(
                {
                    "source": source,
                    "sequence": sequences[source],
                    "object_id": object_id,
                    "op": "modify",
                    "attribute": attribute,
                    "old_value": [f"value {n - 1}"],
                    "new_value": [f"value {n}"],
                    "actor": ACTORS[rng.randrange(len(ACTORS))] if n % 10 else None,
                    "actor_source": "samba-audit",
                    "actor_address": f"10.0.{n % 7}.{n % 250}",
                    "occurred_at": None,
                    "observed_at": at,
                    "timeline_at": at,
                    "digest": hashlib.sha256(str(n).encode()).hexdigest(),
                }
            )
        with sessions.begin() as session:
            session.execute(insert(ChangeEvent), rows)
        if (first // batch) % 10 == 0:
            _log(f"  {first + len(rows):>9} events ({time.perf_counter() - started:.0f} s)")
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    else:
        with engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
    _log(f"filled {events} events in {time.perf_counter() - started:.0f} s")
    engine.dispose()


def _serialize(rows: list[dict[str, Any]]) -> int:
    return len(json.dumps({"changes": rows}))


def _keyset(session: Session, params: list[tuple[str, str]], cursor: str | None) -> str | None:
    page = search(session, ChangeFilter.from_params(params), cursor=cursor, limit=PAGE)
    _serialize([r.as_dict() for r in page.rows])
    return page.next_cursor


def _offset(session: Session, params: list[tuple[str, str]], offset: int) -> None:
    query = (
        filtered(session, ChangeFilter.from_params(params))
        .order_by(ChangeEvent.timeline_at.desc(), ChangeEvent.id.desc())
        .limit(PAGE)
        .offset(offset)
    )
    _serialize([_row(e, o).as_dict() for e, o in session.execute(query)])


def _timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return (time.perf_counter() - started) * 1000, result


def _series(
    session: Session,
    params: list[tuple[str, str]],
    start: str | None,
    start_offset: int,
    pages: int,
) -> tuple[list[float], list[float]]:
    keyset, offset = [], []
    cursor = start
    for n in range(pages):
        session.expunge_all()
        ms, cursor = _timed(lambda c=cursor: _keyset(session, params, c))  # type: ignore[misc]
        keyset.append(ms)
        session.expunge_all()
        ms, _ = _timed(lambda n=n: _offset(session, params, start_offset + n * PAGE))  # type: ignore[misc]
        offset.append(ms)
        if cursor is None:
            break
    return keyset, offset


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = _p95(values)
    return f"p50 {statistics.median(ordered):7.1f} ms  p95 {p95:7.1f} ms  max {ordered[-1]:7.1f} ms"


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _report(name: str, keyset: list[float], offset: list[float]) -> None:
    ratio = _p95(offset) / _p95(keyset)
    verdict = "meets" if _p95(keyset) <= GOAL_MS else "MISSES"
    print(f"{name} ({len(keyset)} pages of {PAGE})")
    print(f"  keyset          {_stats(keyset)}  ({verdict} the {GOAL_MS:.0f} ms goal)")
    print(f"  OFFSET (peer)   {_stats(offset)}")
    print(f"  ratio OFFSET/keyset p95: {ratio:.1f}x")


def _client(url: str, cache: Path) -> Any:
    """A client of the whole app (REST API and pages) in process, with a viewer's API token."""
    from fastapi.testclient import TestClient

    from dirguard.config.schema import Config, SecretsConfig, StoreConfig, WebConfig
    from dirguard.services.console.roles import Principal, Role
    from dirguard.services.runtime import Runtime
    from dirguard.web.app import create_app

    config = Config(
        store=StoreConfig(url=url, checkpoint_file=cache / "console-checkpoints.jsonl"),
        secrets=SecretsConfig(
            key_file=cache / "console-secret.key", store_file=cache / "console-secrets.json"
        ),
        web=WebConfig(tls=False),
    )
    engine = create_engine_for(url)
    upgrade(engine)
    runtime = Runtime(config=config, sessions=session_factory(engine), principal="dirguard")
    app = create_app(runtime)
    viewer = Principal(name="bench", role=Role.VIEWER, method="password")
    made = app.state.web.tokens.create(
        viewer, name="bench", role=Role.VIEWER, lifetime=timedelta(hours=2)
    )
    return TestClient(app, headers={"Authorization": f"Bearer {made.token}"})


def _http_series(
    client: Any, path: str, params: list[tuple[str, str]], start: str | None, pages: int
) -> list[float]:
    """Server time of each request (as the ``X-Process-Time``-less client sees it in process:
    routing, the role check, the query, the JSON or HTML rendering)."""
    times: list[float] = []
    cursor = start
    for _ in range(pages):
        extra = [("cursor", cursor)] if cursor else []
        started = time.perf_counter()
        answer = client.get(path, params=[*params, *extra, ("limit", str(PAGE))])
        times.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
        if path.startswith("/api/"):
            cursor = answer.json()["next_cursor"]
        else:
            found = re.search(r'rel="next" href="/changes\?[^"]*cursor=([^"&]+)', answer.text)
            cursor = found.group(1) if found else None
        if cursor is None:
            break
    return times


def _report_http(name: str, times: list[float], peer: list[float]) -> None:
    verdict = "meets" if _p95(times) <= GOAL_MS else "MISSES"
    print(f"  {name:<15} {_stats(times)}  ({verdict} the {GOAL_MS:.0f} ms goal);"
          f" OFFSET peer p95 / this p95: {_p95(peer) / _p95(times):.1f}x")  # fmt: skip


def _middle_cursor(session: Session, events: int) -> str:
    row = session.execute(
        select(ChangeEvent.timeline_at, ChangeEvent.id)
        .order_by(ChangeEvent.timeline_at.desc(), ChangeEvent.id.desc())
        .offset(events // 2)
        .limit(1)
    ).one()
    return PageCursor(row.timeline_at, row.id, "newest").encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--url", help="A store URL (PostgreSQL); default: a cached SQLite file")
    args = parser.parse_args()
    cache = Path(os.environ.get("DIRGUARD_BENCH_CACHE", Path.home() / ".cache/dirguard-bench"))
    cache.mkdir(parents=True, exist_ok=True)
    url = args.url or f"sqlite:///{cache / f'console-{args.events}events.db'}"
    _fill(url, args.events)
    engine = create_engine_for(url)
    sessions = session_factory(engine)
    print(f"store: {engine.dialect.name}, {args.events} events, {OBJECTS} objects")
    with sessions() as session:
        _keyset(session, [], None)  # warm the caches once, as a running server has them
        top = _series(session, [], None, 0, args.pages)
        _report("timeline from the top, newest first", *top)
        middle = _series(
            session, [], _middle_cursor(session, args.events), args.events // 2, args.pages
        )
        _report(f"timeline from the {args.events // 2:,}th row", *middle)
        window = [
            ("actor", "CORP\\admin07"),
            ("since", (START + timedelta(days=120)).isoformat()),
            ("until", (START + timedelta(days=150)).isoformat()),
        ]
        filtered_pages = _series(session, window, None, 0, args.pages)
        _report("actor CORP\\admin07 within 30 days", *filtered_pages)
        middle_cursor = _middle_cursor(session, args.events)
    print("through the app in process (REST API /api/v1/changes, and the Changes page)")
    with _client(url, cache) as client:
        _http_series(client, "/api/v1/changes", [], None, 2)  # warm up
        for label, params, start, peer in (
            ("top", [], None, top[1]),
            ("middle", [], middle_cursor, middle[1]),
            ("actor+window", window, None, filtered_pages[1]),
        ):
            for path in ("/api/v1/changes", "/changes"):
                kind = "API" if path.startswith("/api/") else "page"
                times = _http_series(client, path, params, start, args.pages)
                _report_http(f"{kind} {label}", times, peer)
    engine.dispose()


if __name__ == "__main__":
    main()
