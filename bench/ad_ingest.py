"""Ingest rate: one capture pass over a burst of membership changes, in events per second.

    .venv/bin/python bench/ad_ingest.py [--changes 10000] [--rounds 3] [--profile]

A fresh throwaway DC and store: 100 bench users and a baseline snapshot. Each of ``--rounds``
rounds adds ceil(N/100) empty groups (stored by a capture pass), then the burst: each group
gets the 100 users added (one LDAP modify per group; with DirSync's incremental values each
added member is one change event). Then one ``capture_domain`` pass is timed (wall and CPU; the
schema read before, as the monitor holds it for every pass); it prints events, pages, seconds
and events/s per round, then the median and best.

Peers, measured in the same run: the same DirSync pages read again from the same cookie with
python-ldap alone (nothing decoded), and the pass's rows written again by ``sqlite3`` alone —
one ``executemany`` INSERT in one transaction into the same table of the same store (every index
of ``change_events``) after deleting them. Ratios: dirguard's pass against the read, and
against read + raw insert (the least any ingest must do).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sqlite3
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import ldap
from bench_dc import LOCK_WAIT_S, domain_config, fresh_store, say
from sqlalchemy.orm import Session, sessionmaker

from dirguard.catalog.resource_type import Partition
from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad.connection import connect
from dirguard.providers.ad.ldap_read import dirsync_pages, read_schema
from dirguard.providers.ad.read import dirsync_stream
from dirguard.providers.ad.values import Schema
from dirguard.providers.base import store_source
from dirguard.services.capture.capture import CaptureResult, capture_domain
from dirguard.services.capture.snapshot import snapshot_domain
from dirguard.store.cursors import get_cursor
from dirguard.throwaway.samba_dc import SambaDC, open_ldaps, throwaway_samba_dc

PER_GROUP = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10_000, help="member adds (10000)")
    parser.add_argument("--rounds", type=int, default=3, help="bursts, each captured (3)")
    parser.add_argument("--profile", action="store_true", help="cProfile the last capture pass")
    args = parser.parse_args()
    if args.changes < 1 or args.rounds < 1:
        parser.error("--changes and --rounds: give at least 1")
    groups = -(-args.changes // PER_GROUP)
    rounds: list[Round] = []
    profile = cProfile.Profile() if args.profile else None
    with throwaway_samba_dc(lock_wait=LOCK_WAIT_S) as dc, tempfile.TemporaryDirectory() as tmp:
        domain = domain_config(dc)
        writer = open_ldaps(dc, timeout=120)
        ou = f"OU=Ingest,{dc.base_dn}"
        writer.add_s(ou, [("objectClass", [b"organizationalUnit"])])
        users = [f"CN=ingestuser{i:03d},{ou}" for i in range(PER_GROUP)]
        for i, dn in enumerate(users):
            name = f"ingestuser{i:03d}".encode()
            writer.add_s(dn, [("objectClass", [b"user"]), ("sAMAccountName", [name])])
        sessions = fresh_store(Path(tmp))
        with connect(domain, dc.admin_password) as conn:
            snapshot_domain(sessions, conn, domain)
            # The monitor reads the schema once and keeps it for every pass.
            schema = read_schema(conn.ldap, conn.contexts.schema)
        for number in range(args.rounds):
            group_dns = [f"CN=ingestgroup{number}-{g:04d},{ou}" for g in range(groups)]
            for g, dn in enumerate(group_dns):
                name = f"ingestgroup{number}-{g:04d}".encode()
                writer.add_s(dn, [("objectClass", [b"group"]), ("sAMAccountName", [name])])
            with connect(domain, dc.admin_password) as conn:  # the new groups, stored
                capture_domain(sessions, conn, domain, schema=schema)
            say(f"round {number + 1}: {args.changes} member adds over {groups} groups ...")
            started = time.monotonic()
            left = args.changes
            for dn in group_dns:
                members = [m.encode() for m in users[: min(PER_GROUP, left)]]
                writer.modify_s(dn, [(ldap.MOD_ADD, "member", members)])
                left -= len(members)
            burst = time.monotonic() - started
            last = profile if number == args.rounds - 1 else None
            rounds.append(_round(dc, domain, sessions, schema, Path(tmp), burst, last))
            say(f"round {number + 1}: {rounds[-1].line()}")
        writer.unbind_s()
    print(f"burst: {args.changes} member adds in {groups} LDAP modifies, {args.rounds} rounds")
    for number, round_ in enumerate(rounds, 1):
        print(f"round {number}: {round_.line()}")
    rates = [r.result.events / r.seconds for r in rounds]
    print(
        f"events/s of one capture pass: median {statistics.median(rates):.0f}, best "
        f"{max(rates):.0f} (goal 20,000)"
    )
    print(
        "ratio dirguard/(read + raw insert): median "
        f"{statistics.median(r.seconds / (r.read + r.insert) for r in rounds):.2f}x, best "
        f"{min(r.seconds / (r.read + r.insert) for r in rounds):.2f}x"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


@dataclass
class Round:
    result: CaptureResult
    burst: float
    seconds: float
    cpu: float
    read: float
    read_entries: int
    insert: float

    def line(self) -> str:
        ops = ", ".join(f"{op} {count}" for op, count in sorted(self.result.ops.items()))
        return (
            f"{self.result.events} events ({ops}) from {self.result.entries} entries in "
            f"{self.result.pages} pages (burst made in {self.burst:.1f} s): "
            f"{self.seconds:.3f} s ({self.cpu:.3f} s CPU), "
            f"{self.result.events / self.seconds:.0f} events/s; peers: the same DirSync pages "
            f"read alone {self.read:.3f} s ({self.read_entries} entries), the rows inserted by "
            f"sqlite3 alone {self.insert:.3f} s; ratio dirguard/read "
            f"{self.seconds / self.read:.2f}x, dirguard/(read + raw insert) "
            f"{self.seconds / (self.read + self.insert):.2f}x"
        )


def _round(
    dc: SambaDC,
    domain: AdDomainConfig,
    sessions: sessionmaker[Session],
    schema: Schema,
    tmp: Path,
    burst: float,
    profile: cProfile.Profile | None,
) -> Round:
    with sessions() as session:
        cookie = get_cursor(
            session, store_source("ad", domain.name), dirsync_stream(Partition.DOMAIN)
        )
    assert cookie is not None, "the snapshot stored a cookie"
    with connect(domain, dc.admin_password) as conn:
        started, cpu = time.monotonic(), time.process_time()
        if profile is not None:
            profile.enable()
        result = capture_domain(sessions, conn, domain, schema=schema)
        if profile is not None:
            profile.disable()
        seconds, cpu = time.monotonic() - started, time.process_time() - cpu
        started = time.monotonic()
        read_entries = sum(
            len(page.entries) for page in dirsync_pages(conn.ldap, conn.contexts.default, cookie)
        )
        read_seconds = time.monotonic() - started
    insert_seconds = _raw_insert(tmp / "store.db", result.run_id)
    return Round(result, burst, seconds, cpu, read_seconds, read_entries, insert_seconds)


def _raw_insert(store: Path, run_id: int) -> float:
    """Seconds for sqlite3 alone to insert the run's events again (deleted first), one
    executemany in one transaction."""
    db = sqlite3.connect(store, isolation_level=None)
    try:
        cursor = db.execute("SELECT * FROM change_events WHERE run_id = ?", (run_id,))
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        db.execute("DELETE FROM change_events WHERE run_id = ?", (run_id,))
        marks = ", ".join("?" for _ in columns)
        statement = f"INSERT INTO change_events ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 (the table's own column names)
        started = time.monotonic()
        db.execute("BEGIN IMMEDIATE")
        db.executemany(statement, rows)
        db.execute("COMMIT")
        return time.monotonic() - started
    finally:
        db.close()


if __name__ == "__main__":
    main()
