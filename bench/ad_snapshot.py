"""Full snapshot of a big DC: ``ldapsearch`` paging against dirguard's ``snapshot_domain``.

    .venv/bin/python bench/ad_snapshot.py [--users 20000] [--jobs 2] [--profile]

All read the domain partition's every object with all attributes and the security descriptor
(``*`` plus ``nTSecurityDescriptor`` with the SD flags control for owner, group and DACL), 1000
objects a page. ``ldapsearch`` writes LDIF to a file; python-ldap (what dirguard uses) and ldap3
(pure Python, the alternative issue 3 asks to measure; ``pip install ldap3``) only read; dirguard
stores into a fresh SQLite store, then snapshots again (everything found unchanged). Prints the
wall times, objects/s and the ratio dirguard/ldapsearch (goal: at most 1.5).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from bench_dc import big_dc, domain_config, fresh_store, ldap_tool, password_file_of, say

from dirguard.connectors.ad.connection import connect
from dirguard.connectors.ad.ldap_read import PAGE_SIZE, paged_search
from dirguard.services.ad_snapshot import snapshot_domain
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20_000, help="bench users (default 20000)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel ldapadd when populating")
    parser.add_argument("--profile", action="store_true", help="cProfile dirguard's snapshot")
    args = parser.parse_args()
    if args.users < 1:
        parser.error("--users: give at least 1")
    with big_dc(args.users, args.jobs) as dc, tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        domain = domain_config(dc)
        say("ldapsearch (warm-up) ...")
        time_ldapsearch(dc, scratch)
        first, objects = time_ldapsearch(dc, scratch)
        say("python-ldap and ldap3 paged reads ...")
        python_ldap, read = time_python_ldap(dc)
        with_ldap3 = time_ldap3(dc)
        sessions = fresh_store(scratch)
        profile = cProfile.Profile() if args.profile else None
        with connect(domain, dc.admin_password) as conn:
            started = time.monotonic()
            if profile is not None:
                profile.enable()
            result = snapshot_domain(sessions, conn, domain)
            if profile is not None:
                profile.disable()
            dirguard = time.monotonic() - started
            say("snapshot again (everything unchanged) ...")
            started = time.monotonic()
            again = snapshot_domain(sessions, conn, domain)
            unchanged = time.monotonic() - started
        second, _ = time_ldapsearch(dc, scratch)
    ldapsearch = (first + second) / 2
    print(f"DC: {args.users} bench users in groups of 100; domain partition: {objects} objects")
    print(f"ldapsearch, pr={PAGE_SIZE}, * + nTSecurityDescriptor (SD flags 7), to an LDIF file:")
    print(f"  {first:.2f} s and {second:.2f} s (mean {ldapsearch:.2f} s, "
          f"{objects / ldapsearch:.0f} objects/s)")  # fmt: skip
    print(f"python-ldap paged read only (dirguard's paged_search, no storing): {python_ldap:.2f} s"
          f" ({read} objects, {read / python_ldap:.0f} objects/s, "
          f"{python_ldap / ldapsearch:.2f}x ldapsearch)")  # fmt: skip
    if with_ldap3 is None:
        print("ldap3 paged read: not measured (pip install ldap3)")
    else:
        print(f"ldap3 paged read only (raw values, no storing): {with_ldap3[0]:.2f} s "
              f"({with_ldap3[1]} objects, {with_ldap3[1] / with_ldap3[0]:.0f} objects/s, "
              f"{with_ldap3[0] / ldapsearch:.2f}x ldapsearch)")  # fmt: skip
    print(f"dirguard snapshot_domain into a fresh SQLite store: {dirguard:.2f} s "
          f"({result.objects} objects, {result.objects / dirguard:.0f} objects/s; "
          f"{result.new_versions} versions stored)")  # fmt: skip
    print(f"ratio dirguard/ldapsearch: {dirguard / ldapsearch:.2f}x (goal <= 1.5x)")
    print(
        f"snapshot again, nothing changed: {unchanged:.2f} s ({again.unchanged} unchanged, "
        f"{again.new_versions} versions stored, {unchanged / ldapsearch:.2f}x ldapsearch)"
    )
    if profile is not None:
        pstats.Stats(profile).sort_stats("cumulative").print_stats(25)
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
