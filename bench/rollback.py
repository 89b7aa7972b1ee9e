"""Rollback benchmarks: an undelete with 20 attributes and 25 groups, and an actor's 1,000
attribute changes undone, each against a hand-scripted OpenLDAP peer in the same run.

    .venv/bin/python bench/rollback.py [--rounds 3] [--changes 1000] [--profile]

A fresh throwaway DC and store. Progress goes to standard error, figures to standard output.

1. **Undelete.** One user with 20 populated attributes (one binary, two multi-valued) who is a
   member of 25 groups, and a baseline snapshot. Each round deletes the user twice:
   - dirguard: one capture pass sees the delete (timed apart), then the undelete is planned
     (``plan_for_undelete``: tombstone, last live state, memberships at deletion), stored and
     applied with verification of every step (``apply_plan``);
   - the peer, as an admin would script it by hand: ``ldapsearch`` with the Show-Deleted control
     finds the tombstone by objectGUID, then one ``ldapmodify`` with the same control reanimates it
     (delete isDeleted, replace distinguishedName), replaces the 20 attributes and adds the user
     back to the 25 groups from a prepared LDIF (``samba-tool`` 4.17 has no undelete command).
   Both are checked afterwards: same objectGUID, every attribute, 25 memberships.
2. **An actor's changes undone.** ``--changes`` attribute changes (100 users x 10 attributes
   for the default 1,000) by the admin, captured and attributed from Samba's audit log; then
   ``plan_for_actor`` + ``save_plan`` and ``apply_plan`` (one modify, one read before and one
   read back per step, one commit per step). The same changes are made again and the peer
   applies the reverse modifications (one change record per attribute) from an LDIF with one
   ``ldapmodify``. Both results are checked.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import os
import pstats
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ldap
from bench_dc import LOCK_WAIT_S, domain_config, fresh_store, ldap_tool, password_file_of, say
from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad import KIND as AD
from dirguard.providers.ad.apply import AdStepWriter
from dirguard.providers.ad.connection import AdConnection, connect
from dirguard.providers.ad.plan.steps import generic_plan
from dirguard.providers.ad.values import guid_bytes, guid_filter_value, guid_text
from dirguard.providers.base import store_source
from dirguard.services.capture.capture import capture_domain, fill_domain_actors
from dirguard.services.capture.snapshot import snapshot_domain
from dirguard.services.rollback.plan_store import save_plan
from dirguard.services.rollback.plans import plan_for_actor, plan_for_undelete
from dirguard.services.rollback.steps import apply_plan
from dirguard.store.column_types import utcnow
from dirguard.throwaway.samba_dc import SambaDC, open_ldaps, throwaway_samba_dc

SHOW_DELETED = "1.2.840.113556.1.4.417"
GROUPS = 25
PHOTO = bytes(range(256)) * 4
ATTRIBUTES: dict[str, list[bytes]] = {
    "givenName": [b"Rita"],
    "sn": [b"Rollback"],
    "displayName": [b"Rita Rollback"],
    "initials": [b"RR"],
    "description": [b"benchmark user"],
    "title": [b"Engineer"],
    "department": [b"Platform"],
    "company": [b"Example Corp"],
    "telephoneNumber": [b"+1 555 0100"],
    "mobile": [b"+1 555 0101"],
    "facsimileTelephoneNumber": [b"+1 555 0102"],
    "streetAddress": [b"1 Main Street"],
    "l": [b"Springfield"],
    "st": [b"IL"],
    "postalCode": [b"62701"],
    "physicalDeliveryOfficeName": [b"HQ 4.01"],
    "mail": [b"rita@example.org"],
    "employeeID": [b"E-1001"],
    "otherTelephone": [b"+1 555 0103", b"+1 555 0104"],
    "jpegPhoto": [PHOTO],
}
CHANGED = (
    "description",
    "title",
    "department",
    "company",
    "telephoneNumber",
    "mobile",
    "streetAddress",
    "l",
    "postalCode",
    "physicalDeliveryOfficeName",
)
Sessions = sessionmaker[Session]


def _writer(conn: AdConnection, domain: AdDomainConfig) -> AdStepWriter:
    """The step loop's AD writer over the bench's connection (not closed by it)."""
    return AdStepWriter(conn, source=store_source(AD, domain.name), bind_upn=domain.bind_upn)


def _ldif_line(name: str, value: bytes) -> str:
    text = value.decode("utf-8", "replace")
    safe = value.isascii() and text.isprintable() and not text.startswith((" ", ":", "<"))
    return f"{name}: {text}" if safe else f"{name}:: {base64.b64encode(value).decode()}"


def _modify_record(dn: str, changes: Sequence[tuple[str, str, Sequence[bytes]]]) -> str:
    lines = [_ldif_line("dn", dn.encode()), "changetype: modify"]
    for op, name, values in changes:
        lines.append(f"{op}: {name}")
        lines.extend(_ldif_line(name, v) for v in values)
        lines.append("-")
    return "\n".join(lines) + "\n\n"


class Peer:
    """OpenLDAP's command-line clients bound as the admin over LDAPS."""

    def __init__(self, dc: SambaDC, scratch: Path) -> None:
        self.dc, self.scratch = dc, scratch
        self.secret = password_file_of(dc, scratch)
        self.env = {**os.environ, **dc.client_env()}

    def run(self, tool: str, *args: str) -> str:
        command = ldap_tool(self.dc, tool, self.secret, *args)
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr[-600:]}")
        return done.stdout

    def modify(self, ldif: str, *controls: str) -> None:
        path = self.scratch / "peer.ldif"
        path.write_text(ldif, encoding="utf-8")
        self.run("ldapmodify", *(a for c in controls for a in ("-e", f"!{c}")), "-f", str(path))


def _state(writer: Any, dn: str) -> tuple[str, dict[str, list[bytes]], int]:
    [(_dn, found)] = writer.search_s(
        dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectGUID", "memberOf", *ATTRIBUTES]
    )
    attributes = {k: sorted(v) for k, v in found.items() if k in ATTRIBUTES}
    return guid_text(found["objectGUID"][0]), attributes, len(found.get("memberOf", []))


def bench_undelete(
    dc: SambaDC, domain: AdDomainConfig, sessions: Sessions, peer: Peer, rounds: int
) -> None:
    writer = open_ldaps(dc, timeout=120)
    ou = f"OU=RollbackBench,{dc.base_dn}"
    writer.add_s(ou, [("objectClass", [b"organizationalUnit"])])
    groups = [f"CN=rbgroup{g:02d},{ou}" for g in range(GROUPS)]
    for g, group in enumerate(groups):
        writer.add_s(group, [("objectClass", [b"group"]), ("sAMAccountName", [f"rbg{g}".encode()])])
    user = f"CN=rita,{ou}"
    items = {"objectClass": [b"user"], "sAMAccountName": [b"rita"], **ATTRIBUTES}
    writer.add_s(user, list(items.items()))
    for group in groups:
        writer.modify_s(group, [(ldap.MOD_ADD, "member", [user.encode()])])
    before = _state(writer, user)
    assert before[2] == GROUPS and len(before[1]) == len(ATTRIBUTES), before
    with connect(domain, dc.admin_password) as conn:
        snapshot_domain(sessions, conn, domain)
    restore_ldif = _modify_record(
        user, [("replace", name, values) for name, values in ATTRIBUTES.items()]
    ) + "".join(_modify_record(g, [("add", "member", [user.encode()])]) for g in groups)
    ours, captures, theirs = [], [], []
    for round_ in range(rounds):
        say(f"undelete round {round_ + 1}/{rounds}: dirguard ...")
        writer.delete_s(user)
        with connect(domain, dc.admin_password) as conn:
            started = time.monotonic()
            capture_domain(sessions, conn, domain)
            captures.append(time.monotonic() - started)
            started = time.monotonic()
            with sessions.begin() as session:
                draft = plan_for_undelete(session, store_source(AD, domain.name), before[0], None)
                plan_id = save_plan(
                    session,
                    source=store_source(AD, domain.name),
                    requested_by="bench",
                    selection={"undelete": before[0]},
                    force=False,
                    draft=generic_plan(draft),
                ).id
            report = apply_plan(sessions, _writer(conn, domain), plan_id, requested_by="bench")
            ours.append(time.monotonic() - started)
            assert report.status == "applied", report.counts
            assert _state(writer, user) == before, "dirguard's undelete is incomplete"
            capture_domain(sessions, conn, domain)  # the store sees the user back
        say(f"undelete round {round_ + 1}/{rounds}: ldapsearch + ldapmodify ...")
        writer.delete_s(user)
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
            f"(objectGUID={guid_filter_value(guid_bytes(before[0]))})",
            "1.1",
        )
        tombstone = _dn_of(found)
        reanimate = _modify_record(
            tombstone,
            [("delete", "isDeleted", []), ("replace", "distinguishedName", [user.encode()])],
        )
        peer.modify(reanimate + restore_ldif, SHOW_DELETED)
        theirs.append(time.monotonic() - started)
        assert _state(writer, user) == before, "the peer's undelete is incomplete"
        with connect(domain, dc.admin_password) as conn:
            capture_domain(sessions, conn, domain)
    writer.unbind_s()
    mean_ours, mean_theirs = sum(ours) / rounds, sum(theirs) / rounds
    print(
        f"undelete of a user with {len(ATTRIBUTES)} attributes in {GROUPS} groups, {rounds} "
        "rounds (mean):"
    )
    print(f"  capture pass that sees the delete: {sum(captures) / rounds:.2f} s")
    print(
        f"  dirguard plan + apply with verification: {mean_ours:.2f} s "
        f"({len(draft.steps)} steps; min {min(ours):.2f} s)"
    )
    print(f"  ldapsearch + ldapmodify by hand: {mean_theirs:.2f} s (min {min(theirs):.2f} s)")
    print(f"  ratio dirguard/ldapmodify: {mean_ours / mean_theirs:.1f}x")


def _dn_of(ldif: str) -> str:
    for line in ldif.splitlines():
        if line.startswith("dn:: "):
            return base64.b64decode(line[5:]).decode("utf-8")
        if line.startswith("dn: "):
            return line[4:]
    raise RuntimeError(f"no tombstone found: {ldif!r}")


def bench_actor(
    dc: SambaDC,
    domain: AdDomainConfig,
    sessions: Sessions,
    peer: Peer,
    changes: int,
    profile: cProfile.Profile | None,
) -> None:
    writer = open_ldaps(dc, timeout=120)
    ou = f"OU=ActorBench,{dc.base_dn}"
    writer.add_s(ou, [("objectClass", [b"organizationalUnit"])])
    users = [f"CN=actoruser{i:04d},{ou}" for i in range(-(-changes // len(CHANGED)))]
    plan: list[tuple[str, str]] = []
    for i, dn in enumerate(users):
        values = {name: [f"{name} {i}".encode()] for name in CHANGED}
        items = {"objectClass": [b"user"], "sAMAccountName": [f"actoru{i:04d}".encode()], **values}
        writer.add_s(dn, list(items.items()))
        plan.extend((dn, name) for name in CHANGED)
    plan = plan[:changes]
    with connect(domain, dc.admin_password) as conn:
        snapshot_domain(sessions, conn, domain)

    def bad_changes() -> None:
        by_user: dict[str, list[str]] = {}
        for dn, name in plan:
            by_user.setdefault(dn, []).append(name)
        for dn, names in by_user.items():
            writer.modify_s(dn, [(ldap.MOD_REPLACE, n, [f"bad {n}".encode()]) for n in names])

    def undone() -> bool:
        for dn in users:
            [(_dn, found)] = writer.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", list(CHANGED))
            if any(v[0].startswith(b"bad ") for v in found.values()):
                return False
        return True

    since = utcnow()
    say(f"actor: {changes} attribute changes ...")
    bad_changes()
    with connect(domain, dc.admin_password) as conn:
        started = time.monotonic()
        result = capture_domain(sessions, conn, domain)
        fill_domain_actors(sessions, conn, domain)
        capture_s = time.monotonic() - started
        actor = f"{dc.domain}\\{dc.admin_user}"
        say("actor: dirguard plan + apply ...")
        started = time.monotonic()
        with sessions.begin() as session:
            draft = plan_for_actor(
                session, store_source(AD, domain.name), actor, since, None, force=False
            )
            plan_id = save_plan(
                session,
                source=store_source(AD, domain.name),
                requested_by="bench",
                selection={"actor": actor},
                force=False,
                draft=generic_plan(draft),
            ).id
        planned_s = time.monotonic() - started
        if profile is not None:
            profile.enable()
        report = apply_plan(sessions, _writer(conn, domain), plan_id, requested_by="bench")
        if profile is not None:
            profile.disable()
        ours = time.monotonic() - started
    assert report.status == "applied" and undone(), report.counts
    say("actor: the same changes again, undone by ldapmodify ...")
    bad_changes()
    ldif = "".join(
        _modify_record(dn, [("replace", name, [f"{name} {users.index(dn)}".encode()])])
        for dn, name in plan
    )
    started = time.monotonic()
    peer.modify(ldif)
    theirs = time.monotonic() - started
    assert undone(), "the peer left changes in place"
    writer.unbind_s()
    print(f"rollback of {changes} attribute changes by one actor ({len(users)} users):")
    print(f"  capture + actors of the {result.events} events: {capture_s:.2f} s")
    print(
        f"  dirguard plan {planned_s:.2f} s + apply with verification {ours - planned_s:.2f} s = "
        f"{ours:.2f} s ({len(draft.steps)} steps, {len(draft.steps) / ours:.0f} steps/s)"
    )
    print(f"  ldapmodify of {len(plan)} change records: {theirs:.2f} s")
    print(f"  ratio dirguard/ldapmodify: {ours / theirs:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="undelete rounds (3)")
    parser.add_argument("--changes", type=int, default=1000, help="attribute changes (1000)")
    parser.add_argument("--profile", action="store_true", help="cProfile the actor's apply")
    args = parser.parse_args()
    if args.rounds < 1 or args.changes < 1:
        parser.error("--rounds and --changes: give at least 1")
    with throwaway_samba_dc(lock_wait=LOCK_WAIT_S) as dc, tempfile.TemporaryDirectory() as tmp:
        logs = dc.audit_logs
        domain = domain_config(dc).model_copy(
            update={
                "samba_audit_files": [
                    logs.directory_changes,
                    logs.group_changes,
                    logs.password_changes,
                ]
            }
        )
        sessions = fresh_store(Path(tmp))
        peer = Peer(dc, Path(tmp))
        bench_undelete(dc, domain, sessions, peer, args.rounds)
        profile = cProfile.Profile() if args.profile else None
        bench_actor(dc, domain, sessions, peer, args.changes, profile)
    if profile is not None:
        pstats.Stats(profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
