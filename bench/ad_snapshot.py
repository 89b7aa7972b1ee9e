"""Full snapshot of a big DC: ``ldapsearch`` paging against dirguard's ``snapshot_domain``.

    .venv/bin/python bench/ad_snapshot.py [--users 20000] [--jobs 2] [--connections 2] [--profile]

All read the domain partition's every object with all attributes and the security descriptor
(``*`` plus ``nTSecurityDescriptor`` with the SD flags control for owner, group and DACL), 1000
objects a page. ``ldapsearch`` writes LDIF to a file; python-ldap (what dirguard uses) and ldap3
(pure Python, the alternative issue 3 asks to measure; ``pip install ldap3``) only read; dirguard
stores into a fresh SQLite store over ``--connections`` connections at once (each reading a
``uSNCreated`` range of the partition: ``providers/ad/read_parallel.py``), then snapshots again
(everything found unchanged); the same snapshot over one connection is measured too. Each of
``--rounds`` rounds runs them back to back (ldapsearch before and after the snapshot: the mean
is the round's reference); prints every round's wall times, objects/s and the ratio
dirguard/ldapsearch (goal: at most 1.0), then the best and median ratio (the machine is shared:
rounds differ).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import ssl
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench_dc import big_dc, domain_config, fresh_store, ldap_tool, password_file_of, say

from dirguard.catalog.resource_type import Partition
from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad.connection import AdConnection, connect
from dirguard.providers.ad.ldap_read import PAGE_SIZE, paged_search
from dirguard.providers.ad.read import AdReader
from dirguard.providers.ad.read_parallel import (
    PARTS_PER_CONNECTION,
    highest_committed_usn,
    parallel_pages,
    usn_parts,
)
from dirguard.providers.base import ReadScope, SnapshotPage
from dirguard.services.capture.snapshot import SnapshotResult, snapshot_domain, snapshot_source
from dirguard.throwaway.samba_dc import SambaDC

SD_FLAGS_OWNER_GROUP_DACL = "1.2.840.113556.1.4.801=::MAMCAQc="
"""LDAP_SERVER_SD_FLAGS_OID with the BER value SEQUENCE { INTEGER 7 } (base64)."""


def time_ldapsearch(dc: SambaDC, scratch: Path) -> tuple[float, int]:
    secret = password_file_of(dc, scratch)
    out = scratch / "ldapsearch.ldif"
    command = ldap_tool(
        dc,
        "ldapsearch",
        secret,
        "-LLL",
        "-o",
        "ldif-wrap=no",
        "-b",
        dc.base_dn,
        "-E",
        f"pr={PAGE_SIZE}/noprompt",
        "-E",
        SD_FLAGS_OWNER_GROUP_DACL,
        "(objectClass=*)",
        "*",
        "nTSecurityDescriptor",
    )
    started = time.monotonic()
    with out.open("wb") as handle:
        subprocess.run(command, env={**os.environ, **dc.client_env()}, stdout=handle, check=True)
    seconds = time.monotonic() - started
    with out.open("rb") as handle:
        objects = sum(1 for line in handle if line.startswith(b"dn: "))
    return seconds, objects


def time_python_ldap(dc: SambaDC) -> tuple[float, int]:
    with connect(domain_config(dc), dc.admin_password) as conn:
        started = time.monotonic()
        read = sum(len(page) for page in paged_search(conn.ldap, dc.base_dn))
        return time.monotonic() - started, read


def time_parallel_read(dc: SambaDC, connections: int) -> tuple[float, int]:
    """python-ldap's read over ``connections`` connections at once, as the snapshot reads."""
    domain = domain_config(dc)
    conns = [connect(domain, dc.admin_password) for _ in range(connections)]
    try:
        parts = usn_parts(highest_committed_usn(conns[0].ldap), connections * PARTS_PER_CONNECTION)
        started = time.monotonic()
        pages = parallel_pages([c.ldap for c in conns], dc.base_dn, parts)
        read = sum(len(page) for page in pages)
        return time.monotonic() - started, read
    finally:
        for conn in conns:
            conn.close()


def time_ldap3(dc: SambaDC) -> tuple[float, int] | None:
    """ldap3's paged search of the same attributes, raw values (no decoding); ``None`` when
    ldap3 is not installed."""
    try:
        import ldap3  # type: ignore[import-untyped]
        from ldap3.protocol.microsoft import (  # type: ignore[import-untyped]
            security_descriptor_control,
        )
    except ImportError:
        return None
    tls = ldap3.Tls(ca_certs_file=str(dc.ca_cert_path), validate=ssl.CERT_REQUIRED)
    server = ldap3.Server(dc.host, port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE)
    conn = ldap3.Connection(server, user=dc.admin_upn, password=dc.admin_password, auto_bind=True)
    try:
        started = time.monotonic()
        read = 0
        for entry in conn.extend.standard.paged_search(
            dc.base_dn,
            "(objectClass=*)",
            attributes=["*", "nTSecurityDescriptor"],
            controls=security_descriptor_control(sdflags=0x07),
            paged_size=PAGE_SIZE,
            generator=True,
        ):
            if entry.get("type") == "searchResEntry":
                read += 1
        return time.monotonic() - started, read
    finally:
        conn.unbind()


def time_store_only(dc: SambaDC, scratch: Path) -> tuple[float, float]:
    """dirguard's own work alone: the pages are read into memory first, then the snapshot runs
    on them (a reader that serves the list instead of searching) into a fresh store; wall and
    CPU seconds. Separates the client's processing from the DC and the machine's other load."""
    domain = domain_config(dc)
    with connect(domain, dc.admin_password) as conn:
        pages = list(paged_search(conn.ldap, dc.base_dn))
        store = scratch / "store-only"
        store.mkdir()
        sessions = fresh_store(store)
        reader = PagesReader(conn, domain, pages)
        started, cpu = time.monotonic(), time.process_time()
        snapshot_source(sessions, reader)
        return time.monotonic() - started, time.process_time() - cpu


class PagesReader(AdReader):
    """A reader whose full reads return pages read beforehand (every partition the same)."""

    def __init__(self, conn: AdConnection, domain: AdDomainConfig, pages: list[Any]) -> None:
        super().__init__(conn, domain)
        self.pages = pages

    def read_all(self, scope: ReadScope) -> Iterator[SnapshotPage]:
        schema, partition = self.schema, Partition(scope.name)
        for entries in self.pages:
            yield self.snapshot_page(schema, partition, entries)


@dataclass(kw_only=True)
class Round:
    """One round's figures, all measured back to back on the same DC."""

    ldapsearch: float
    python_ldap: float
    parallel_read: float
    serial: float
    snapshot: float
    again: float

    @property
    def ratio(self) -> float:
        return self.snapshot / self.ldapsearch


def time_serial_snapshot(dc: SambaDC, scratch: Path, number: int) -> float:
    """The snapshot over one connection (one paged search) into a fresh store."""
    domain = domain_config(dc).model_copy(update={"snapshot_connections": 1})
    store = scratch / f"serial{number}"
    store.mkdir()
    sessions = fresh_store(store)
    with connect(domain, dc.admin_password) as conn:
        started = time.monotonic()
        snapshot_domain(sessions, conn, domain)
        return time.monotonic() - started


def one_round(
    dc: SambaDC, scratch: Path, number: int, connections: int, profile: cProfile.Profile | None
) -> tuple[Round, SnapshotResult, SnapshotResult]:
    """ldapsearch, python-ldap's read (one connection, then ``connections``), a snapshot over
    ``connections`` into a fresh store, the same snapshot again (everything found unchanged),
    ldapsearch again (the mean of the two is the round's reference), then the snapshot over
    one connection into another fresh store."""
    domain = domain_config(dc).model_copy(update={"snapshot_connections": connections})
    before, _ = time_ldapsearch(dc, scratch)
    python_ldap, _ = time_python_ldap(dc)
    parallel_read, _ = time_parallel_read(dc, connections)
    store = scratch / f"round{number}"
    store.mkdir()
    sessions = fresh_store(store)

    def more() -> AdConnection:
        return connect(domain, dc.admin_password)

    with connect(domain, dc.admin_password) as conn:
        started = time.monotonic()
        if profile is not None:
            profile.enable()
        result = snapshot_domain(sessions, conn, domain, open_more=more)
        if profile is not None:
            profile.disable()
        snapshot = time.monotonic() - started
        started = time.monotonic()
        again = snapshot_domain(sessions, conn, domain, open_more=more)
        unchanged = time.monotonic() - started
    after, _ = time_ldapsearch(dc, scratch)
    serial = time_serial_snapshot(dc, scratch, number)
    figures = Round(
        ldapsearch=(before + after) / 2,
        python_ldap=python_ldap,
        parallel_read=parallel_read,
        serial=serial,
        snapshot=snapshot,
        again=unchanged,
    )
    return figures, result, again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000, help="bench users (default 20000)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel ldapadd when populating")
    parser.add_argument("--rounds", type=int, default=3, help="measurement rounds (default 3)")
    parser.add_argument(
        "--connections", type=int, default=2, help="connections the snapshot reads over (2)"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile dirguard's snapshots")
    args = parser.parse_args()
    if args.users < 1:
        parser.error("--users: give at least 1")
    if args.rounds < 1:
        parser.error("--rounds: give at least 1")
    if not 1 <= args.connections <= 16:
        parser.error("--connections: give 1 to 16")
    profile = cProfile.Profile() if args.profile else None
    rounds: list[Round] = []
    with big_dc(args.users, args.jobs) as dc, tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        say("ldapsearch (warm-up) ...")
        _, objects = time_ldapsearch(dc, scratch)
        say("ldap3 paged read ...")
        with_ldap3 = time_ldap3(dc)
        ldap3_reference, _ = time_ldapsearch(dc, scratch)
        for number in range(args.rounds):
            say(f"round {number + 1} of {args.rounds} ...")
            figures, result, again = one_round(dc, scratch, number, args.connections, profile)
            rounds.append(figures)
        say("dirguard's processing alone (pages read into memory first) ...")
        store_only, store_only_cpu = time_store_only(dc, scratch)
    print(f"DC: {args.users} bench users in groups of 100; domain partition: {objects} objects")
    print(f"dirguard stored {result.new_versions} versions of {result.objects} objects read; "
          f"the snapshot again found {again.unchanged} unchanged")  # fmt: skip
    if with_ldap3 is None:
        print("ldap3 paged read: not measured (pip install dirguard[bench])")
    else:
        print(f"ldap3 paged read only (raw values, no storing): {with_ldap3[0]:.2f} s "
              f"({with_ldap3[1]} objects; ldapsearch right after: {ldap3_reference:.2f} s, "
              f"{with_ldap3[0] / ldap3_reference:.2f}x)")  # fmt: skip
    n = args.connections
    print(f"round  ldapsearch  python-ldap read, 1 connection  read, {n} connections"
          f"  snapshot, {n} connections (objects/s)  ratio  snapshot again"
          "  snapshot, 1 connection")  # fmt: skip
    for number, r in enumerate(rounds, start=1):
        read_ratio = r.python_ldap / r.ldapsearch
        parallel_ratio = r.parallel_read / r.ldapsearch
        print(f"{number:5d}  {r.ldapsearch:8.2f} s  {r.python_ldap:6.2f} s ({read_ratio:.2f}x)"
              f"  {r.parallel_read:6.2f} s ({parallel_ratio:.2f}x)"
              f"  {r.snapshot:6.2f} s ({objects / r.snapshot:5.0f})  {r.ratio:4.2f}x"
              f"  {r.again:6.2f} s ({r.again / r.ldapsearch:.2f}x)"
              f"  {r.serial:6.2f} s ({r.serial / r.ldapsearch:.2f}x)")  # fmt: skip
    print(f"snapshot from pages already in memory (dirguard's processing and storing alone): "
          f"{store_only:.2f} s, {store_only_cpu:.2f} s CPU")  # fmt: skip
    serial = statistics.median(r.serial / r.ldapsearch for r in rounds)
    print(f"median ratio of the snapshot over 1 connection: {serial:.2f}x")
    ratios = sorted(r.ratio for r in rounds)
    print(f"ratio dirguard/ldapsearch: best {ratios[0]:.2f}x, median "
          f"{statistics.median(ratios):.2f}x (goal <= 1.0x)")  # fmt: skip
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
