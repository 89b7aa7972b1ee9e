"""Ingest rate: one capture pass over a burst of membership changes, in events per second.

    .venv/bin/python bench/ad_ingest.py [--changes 10000] [--profile]

A fresh throwaway DC and store: 100 bench users and ceil(N/100) empty groups, a baseline
snapshot, then the burst: each group gets the 100 users added (one LDAP modify per group; with
DirSync's incremental values each added member is one change event). Then one
``capture_domain`` pass is timed (the schema read before, as the monitor holds it for every
pass); it prints events, pages, seconds and events/s.

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
import tempfile
import time
from pathlib import Path

import ldap
from bench_dc import LOCK_WAIT_S, domain_config, fresh_store, say

from dirguard.catalog.resource_type import Partition
from dirguard.providers.ad.connection import connect
from dirguard.providers.ad.ldap_read import dirsync_pages, read_schema
from dirguard.providers.ad.read import dirsync_stream
from dirguard.providers.base import store_source
from dirguard.services.capture.capture import capture_domain
from dirguard.services.capture.snapshot import snapshot_domain
from dirguard.store.cursors import get_cursor
from dirguard.throwaway.samba_dc import open_ldaps, throwaway_samba_dc

PER_GROUP = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10_000, help="member adds (10000)")
    parser.add_argument("--profile", action="store_true", help="cProfile the capture pass")
    args = parser.parse_args()
    if args.changes < 1:
        parser.error("--changes: give at least 1")
    groups = -(-args.changes // PER_GROUP)
    with throwaway_samba_dc(lock_wait=LOCK_WAIT_S) as dc, tempfile.TemporaryDirectory() as tmp:
        domain = domain_config(dc)
        writer = open_ldaps(dc, timeout=120)
        ou = f"OU=Ingest,{dc.base_dn}"
        writer.add_s(ou, [("objectClass", [b"organizationalUnit"])])
        users = [f"CN=ingestuser{i:03d},{ou}" for i in range(PER_GROUP)]
        for i, dn in enumerate(users):
            name = f"ingestuser{i:03d}".encode()
            writer.add_s(dn, [("objectClass", [b"user"]), ("sAMAccountName", [name])])
        group_dns = [f"CN=ingestgroup{g:04d},{ou}" for g in range(groups)]
        for g, dn in enumerate(group_dns):
            name = f"ingestgroup{g:04d}".encode()
            writer.add_s(dn, [("objectClass", [b"group"]), ("sAMAccountName", [name])])
        sessions = fresh_store(Path(tmp))
        with connect(domain, dc.admin_password) as conn:
            snapshot_domain(sessions, conn, domain)
        say(f"burst: {args.changes} member adds over {groups} groups ...")
        started = time.monotonic()
        left = args.changes
        for dn in group_dns:
            members = [m.encode() for m in users[: min(PER_GROUP, left)]]
            writer.modify_s(dn, [(ldap.MOD_ADD, "member", members)])
            left -= len(members)
        burst = time.monotonic() - started
        writer.unbind_s()
        with sessions() as session:
            cookie = get_cursor(
                session, store_source("ad", domain.name), dirsync_stream(Partition.DOMAIN)
            )
        assert cookie is not None, "the snapshot stored a cookie"
        profile = cProfile.Profile() if args.profile else None
        with connect(domain, dc.admin_password) as conn:
            # The monitor reads the schema once and keeps it for every pass.
            schema = read_schema(conn.ldap, conn.contexts.schema)
            started = time.monotonic()
            if profile is not None:
                profile.enable()
            result = capture_domain(sessions, conn, domain, schema=schema)
            if profile is not None:
                profile.disable()
            seconds = time.monotonic() - started
            started = time.monotonic()
            read_entries = sum(
                len(page.entries)
                for page in dirsync_pages(conn.ldap, conn.contexts.default, cookie)
            )
            read_seconds = time.monotonic() - started
        insert_seconds = _raw_insert(Path(tmp) / "store.db", result.run_id)
    ops = ", ".join(f"{op} {count}" for op, count in sorted(result.ops.items()))
    print(f"burst: {args.changes} member adds in {groups} LDAP modifies, made in {burst:.1f} s")
    print(
        f"one capture pass: {result.events} events ({ops}) from {result.entries} entries in "
        f"{result.pages} pages, {seconds:.2f} s: {result.events / seconds:.0f} events/s"
    )
    print(f"peer: the same DirSync pages read alone: {read_entries} entries, {read_seconds:.2f} s")
    print(f"peer: the same {result.events} rows inserted by sqlite3 alone: {insert_seconds:.2f} s")
    print(f"ratio dirguard/read: {seconds / read_seconds:.2f}x")
    print(f"ratio dirguard/(read + raw insert): {seconds / (read_seconds + insert_seconds):.2f}x")
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)


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
