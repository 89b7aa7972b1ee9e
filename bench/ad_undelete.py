"""``dirguard undelete`` as a user runs it: one user with 20 attributes in 25 groups, wall time of
the whole command (process start, imports, rights check, planning, apply with verification,
the capture after), against peers doing the same LDAP operations in the same run.

    .venv/bin/python bench/ad_undelete.py [--rounds 5] [--importtime] [--profile]

A fresh throwaway DC, a configuration file and store (``dirguard snapshot ad`` once). Each round
deletes the user over LDAP, runs ``dirguard capture ad`` (what the running monitor would have
done; not timed), then times ``dirguard undelete rita --json`` as its own process and checks
the user: same objectGUID, every attribute, 25 memberships. Then, in the same round, the peers
(each checked the same way after the user is deleted again):

- ``python-ldap``: a fresh ``python`` process that imports python-ldap, binds over LDAPS, finds
  the tombstone with the Show-Deleted control, reanimates it (delete ``isDeleted``, replace
  ``distinguishedName``), replaces the 20 attributes and adds the user back to the 25 groups —
  the same LDAP writes as dirguard's plan, with nothing read before or after;
- ``ldapsearch`` + ``ldapmodify``: the same by OpenLDAP's clients from a prepared LDIF.

Prints every round, the median and best of each, and the ratios dirguard/python-ldap and
dirguard/ldapmodify (medians). ``--importtime``: one more undelete under ``python -X
importtime``, the 20 slowest imports (cumulative); ``--profile``: one more under cProfile, the
top 30 by cumulative time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import ldap
from bench_dc import LOCK_WAIT_S, config_file, domain_config, say

from dirguard.throwaway.samba_dc import SambaDC, open_ldaps, throwaway_samba_dc
from rollback import ATTRIBUTES, GROUPS, SHOW_DELETED, Peer, _dn_of, _modify_record, _state

PYTHON_PEER = textwrap.dedent(
    """
    import os, sys
    import ldap
    uri, upn, user, base, ca = sys.argv[1:6]
    groups = sys.argv[6:]
    ldap.set_option(ldap.OPT_X_TLS_CACERTFILE, ca)
    ldap.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    conn = ldap.initialize(uri)
    conn.simple_bind_s(upn, os.environ["BENCH_DIRGUARD_AD_PASSWORD"])
    deleted = [ldap.controls.LDAPControl("{show}", True)]
    sam = user.split(",", 1)[0].split("=", 1)[1]
    [(tombstone, _a)] = [e for e in conn.search_ext_s(
        base, ldap.SCOPE_SUBTREE, "(&(isDeleted=TRUE)(sAMAccountName=" + sam + "))", ["1.1"],
        serverctrls=deleted) if e[0]]
    conn.modify_ext_s(tombstone, [(ldap.MOD_DELETE, "isDeleted", None),
        (ldap.MOD_REPLACE, "distinguishedName", [user.encode()])], serverctrls=deleted)
    conn.modify_s(user, [(ldap.MOD_REPLACE, k, v) for k, v in {attributes!r}.items()])
    for group in groups:
        conn.modify_s(group, [(ldap.MOD_ADD, "member", [user.encode()])])
    conn.unbind_s()
    """
)


def _run(command: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed ({done.returncode}): {done.stderr[-800:]}")
    return seconds


def _figures(name: str, values: list[float]) -> str:
    return f"{name}: median {statistics.median(values):.3f} s, best {min(values):.3f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds (5)")
    parser.add_argument("--importtime", action="store_true", help="imports of one more undelete")
    parser.add_argument("--profile", action="store_true", help="cProfile one more undelete")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds: give at least 1")
    with throwaway_samba_dc(lock_wait=LOCK_WAIT_S) as dc, tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        domain_config(dc)  # sets the password variable the configuration names
        config = config_file(dc, scratch)
        with config.open("a", encoding="utf-8") as handle:  # the admin writes (no elevation)
            handle.write('mode = "full"\n')
        env = {**os.environ, **dc.client_env()}
        dirguard = [sys.executable, "-m", "dirguard", "--config", str(config)]
        writer = open_ldaps(dc, timeout=120)
        user, groups = _organisation(dc, writer)
        before = _state(writer, user)
        assert before[2] == GROUPS and len(before[1]) == len(ATTRIBUTES), before
        _run([*dirguard, "snapshot", "ad"], env)
        peer = Peer(dc, scratch)
        script = scratch / "peer.py"
        script.write_text(
            PYTHON_PEER.format(show=SHOW_DELETED, attributes=ATTRIBUTES), encoding="utf-8"
        )
        restore_ldif = _modify_record(
            user, [("replace", name, values) for name, values in ATTRIBUTES.items()]
        ) + "".join(_modify_record(g, [("add", "member", [user.encode()])]) for g in groups)
        ours: list[float] = []
        python_ldap: list[float] = []
        openldap: list[float] = []

        def deleted_and_captured() -> None:
            writer.delete_s(user)
            _run([*dirguard, "capture", "ad"], env)

        for round_ in range(args.rounds):
            deleted_and_captured()
            ours.append(_run([*dirguard, "undelete", "rita", "--json"], env))
            assert _state(writer, user) == before, "dirguard's undelete is incomplete"
            deleted_and_captured()
            target = [dc.ldaps_uri, dc.admin_upn, user, dc.base_dn, str(dc.ca_cert_path)]
            python_ldap.append(_run([sys.executable, str(script), *target, *groups], env))
            assert _state(writer, user) == before, "the python-ldap peer's undelete is incomplete"
            deleted_and_captured()
            started = time.monotonic()
            found = peer.run(
                "ldapsearch",
                "-LLL",
                "-o",
                "ldif-wrap=no",
                "-E",
                f"!{SHOW_DELETED}",
                "-b",
                dc.base_dn,
                "(&(isDeleted=TRUE)(sAMAccountName=rita))",
                "1.1",
            )
            reanimate = _modify_record(
                _dn_of(found),
                [("delete", "isDeleted", []), ("replace", "distinguishedName", [user.encode()])],
            )
            peer.modify(reanimate + restore_ldif, SHOW_DELETED)
            openldap.append(time.monotonic() - started)
            assert _state(writer, user) == before, "the OpenLDAP peer's undelete is incomplete"
            _run([*dirguard, "capture", "ad"], env)
            say(
                f"round {round_ + 1}/{args.rounds}: dirguard {ours[-1]:.3f} s, python-ldap "
                f"{python_ldap[-1]:.3f} s, ldapsearch + ldapmodify {openldap[-1]:.3f} s"
            )
        extra = _diagnostics(args, dirguard, env, deleted_and_captured, scratch)
        writer.unbind_s()
    print(
        f"`dirguard undelete` of a user with {len(ATTRIBUTES)} attributes in {GROUPS} groups, "
        f"{args.rounds} rounds (wall time of each command, process start included):"
    )
    print("  " + _figures("dirguard undelete", ours))
    print("  " + _figures("python-ldap script (same LDAP writes)", python_ldap))
    print("  " + _figures("ldapsearch + ldapmodify", openldap))
    median = statistics.median(ours)
    print(f"  ratio dirguard/python-ldap: {median / statistics.median(python_ldap):.2f}x")
    print(f"  ratio dirguard/ldapmodify: {median / statistics.median(openldap):.2f}x")
    print(extra, end="")


def _organisation(dc: SambaDC, writer: Any) -> tuple[str, list[str]]:
    ou = f"OU=UndeleteBench,{dc.base_dn}"
    writer.add_s(ou, [("objectClass", [b"organizationalUnit"])])
    groups = [f"CN=udgroup{g:02d},{ou}" for g in range(GROUPS)]
    for g, group in enumerate(groups):
        writer.add_s(group, [("objectClass", [b"group"]), ("sAMAccountName", [f"udg{g}".encode()])])
    user = f"CN=rita,{ou}"
    items = {"objectClass": [b"user"], "sAMAccountName": [b"rita"], **ATTRIBUTES}
    writer.add_s(user, list(items.items()))
    for group in groups:
        writer.modify_s(group, [(ldap.MOD_ADD, "member", [user.encode()])])
    return user, groups


def _diagnostics(
    args: argparse.Namespace,
    dirguard: list[str],
    env: dict[str, str],
    deleted_and_captured: Any,
    scratch: Path,
) -> str:
    out = ""
    if args.importtime:
        deleted_and_captured()
        command = [dirguard[0], "-X", "importtime", *dirguard[1:], "undelete", "rita", "--json"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        rows = []
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit():
                rows.append((int(parts[1]), parts[2].rstrip()))
        out += "slowest imports (cumulative microseconds):\n"
        out += "".join(f"  {us:>9} {name}\n" for us, name in sorted(rows, reverse=True)[:20])
    if args.profile:
        deleted_and_captured()
        stats = scratch / "undelete.pstats"
        command = [dirguard[0], "-m", "cProfile", "-o", str(stats), *dirguard[1:]]
        subprocess.run([*command, "undelete", "rita", "--json"], env=env, check=True)
        import pstats  # only here

        pstats.Stats(str(stats)).sort_stats("cumulative").print_stats(30)
    return out


if __name__ == "__main__":
    main()
