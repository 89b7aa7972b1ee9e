"""A snapshot read over several connections at once equals one read over a single connection,
object for object (the session's real Samba AD DC).

The parallel read splits the domain partition into ``uSNCreated`` ranges
(``providers/ad/read_parallel.py``). The directory gets objects where a split could lose them:
a user and a contact directly under the domain root, users and a group three OUs deep, and (for
the read-only account) entries it may list but not fully read. Both snapshots go into fresh
stores; every object must be in both, with the same type, DN and content.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad.connection import AdConnection, connect
from dirguard.providers.ad.read_parallel import PARTS_PER_CONNECTION, highest_committed_usn
from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes
from dirguard.providers.ad.setup.account_grants import EXTENDED_RIGHT_GUIDS
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.capture.snapshot import SnapshotResult, latest_versions, snapshot_domain
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.models import DirectoryObject
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config

Stored = dict[str, tuple[str, str, dict[str, Any]]]


def _store(directory: Path) -> Iterator[sessionmaker[Session]]:
    engine = create_engine_for(f"sqlite:///{directory / 'store.db'}")
    upgrade(engine)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def _stored(sessions: sessionmaker[Session]) -> Stored:
    """objectGUID -> (type, DN, content of the newest version)."""
    with sessions() as session:
        objects = list(session.scalars(select(DirectoryObject)))
        versions = latest_versions(session, [o.id for o in objects])
        return {o.external_id: (o.resource_type, o.path, versions[o.id].content) for o in objects}


def _snapshot(
    directory: Path, domain: AdDomainConfig, password: str, connections: int
) -> tuple[SnapshotResult, Stored, int]:
    """A snapshot over ``connections`` connections into a fresh store: the result, what was
    stored, and how many connections the read opened besides the first."""
    directory.mkdir()
    domain = domain.model_copy(update={"snapshot_connections": connections})
    opened: list[AdConnection] = []

    def more() -> AdConnection:
        conn = connect(domain, password)
        opened.append(conn)
        return conn

    gen = _store(directory)
    sessions = next(gen)
    try:
        with connect(domain, password) as conn:
            result = snapshot_domain(sessions, conn, domain, open_more=more)
        return result, _stored(sessions), len(opened)
    finally:
        gen.close()


def _assert_same(serial: Stored, parallel: Stored) -> None:
    assert parallel.keys() == serial.keys(), (
        f"only in the serial read: {sorted(serial[g][1] for g in serial.keys() - parallel.keys())};"
        f" only in the parallel read: "
        f"{sorted(parallel[g][1] for g in parallel.keys() - serial.keys())}"
    )
    for guid, (type_key, path, content) in serial.items():
        other_type, other_path, other_content = parallel[guid]
        assert (other_type, other_path) == (type_key, path)
        same = RESOURCE_TYPES[type_key].same_content(content, other_content)
        assert same, f"{path}: the parallel read's content differs"


@pytest.fixture
def spread_objects(ldap_admin: Any, samba_dc: SambaDC) -> Iterator[list[str]]:
    """Users and a contact directly under the domain root, users and a group three OUs deep;
    their DNs (removed afterwards)."""
    token = uuid.uuid4().hex[:6]
    base = samba_dc.base_dn
    outer = f"OU=par{token},{base}"
    middle = f"OU=middle,{outer}"
    inner = f"OU=inner,{middle}"
    added: list[str] = []

    def add(dn: str, attributes: list[tuple[str, list[bytes]]]) -> None:
        ldap_admin.add_s(dn, attributes)
        added.append(dn)

    for ou in (outer, middle, inner):
        add(ou, [("objectClass", [b"organizationalUnit"])])
    users = [
        f"CN=rootuser{token},{base}",
        f"CN=outeruser{token},{outer}",
        f"CN=inneruser{token}a,{inner}",
        f"CN=inneruser{token}b,{inner}",
    ]
    for number, dn in enumerate(users):
        account = f"par{token}{number}".encode()
        add(dn, [("objectClass", [b"user"]), ("sAMAccountName", [account])])
    add(
        f"CN=rootcontact{token},{base}",
        [("objectClass", [b"contact"]), ("description", [b"directly under the root"])],
    )
    add(
        f"CN=innergroup{token},{inner}",
        [
            ("objectClass", [b"group"]),
            ("sAMAccountName", [f"pargrp{token}".encode()]),
            ("member", [dn.encode() for dn in users]),
        ],
    )
    try:
        yield added
    finally:
        for dn in reversed(added):
            ldap_admin.delete_s(dn)


def test_a_parallel_snapshot_stores_what_a_serial_one_does(
    samba_dc: SambaDC,
    spread_objects: list[str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    domain = domain_config(samba_dc)
    password = samba_dc.admin_password
    serial, serial_stored, serial_opened = _snapshot(tmp_path / "serial", domain, password, 1)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dirguard"):
        parallel, parallel_stored, opened = _snapshot(tmp_path / "parallel", domain, password, 3)
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert sum("connected to" in m for m in said) == 1, f"one 'connected' line, not three: {said}"
    assert sum("reading over 3 connections" in m for m in said) == 1, said

    assert serial_opened == 0, "one connection: nothing more is opened"
    assert opened == 2, "three connections: two more besides the first"
    with connect(domain, password) as conn:
        assert highest_committed_usn(conn.ldap) > 3 * PARTS_PER_CONNECTION, "several parts"
    paths = {path for _type, path, _content in parallel_stored.values()}
    assert set(spread_objects) <= paths, "root-level and nested objects are all read"
    assert samba_dc.base_dn in paths, "the domain head itself"
    assert parallel.objects == serial.objects
    assert parallel.unreadable == serial.unreadable
    assert parallel.not_in_catalog == serial.not_in_catalog
    assert parallel.new_objects == serial.new_objects == len(serial_stored)
    _assert_same(serial_stored, parallel_stored)


def test_the_read_only_account_reads_the_same_in_parallel(
    samba_dc: SambaDC,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    spread_objects: list[str],
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    """A plain domain user with the read-only mode's replication rights lists entries whose
    objectGUID (and other attributes) it may not read: the parallel read finds each of them
    once too (the part for entries whose ``uSNCreated`` it cannot read)."""
    name = f"parro{uuid.uuid4().hex[:6]}"
    password = f"Pa55word!{uuid.uuid4().hex[:8]}"
    samba_tool("user", "create", name, password)
    user_dn = f"CN={name},CN=Users,{samba_dc.base_dn}"
    try:
        raw_sid = ldap_admin.search_s(user_dn, 0, attrlist=["objectSid"])[0][1]["objectSid"][0]
        sid = sid_from_bytes(raw_sid)[0]
        rights = ("Replicate Directory Changes", "Replicate Directory Changes All")
        aces = "".join(f"(OA;;CR;{EXTENDED_RIGHT_GUIDS[r]};;{sid})" for r in rights)
        samba_tool("dsacl", "set", f"--objectdn={samba_dc.base_dn}", f"--sddl={aces}")
        monkeypatch.setenv("TEST_DIRGUARD_AD_PASSWORD", password)
        domain = domain_config(samba_dc, bind_upn=f"{name}@{samba_dc.realm}")
        serial, serial_stored, _ = _snapshot(tmp_path / "serial", domain, password, 1)
        parallel, parallel_stored, opened = _snapshot(tmp_path / "parallel", domain, password, 4)
        assert opened == 3
        assert serial.unreadable > 0, "Samba hides some objectGUIDs from a plain user"
        assert parallel.unreadable == serial.unreadable
        assert parallel.objects == serial.objects
        assert user_dn in {path for _t, path, _c in parallel_stored.values()}
        _assert_same(serial_stored, parallel_stored)
    finally:
        ldap_admin.delete_s(user_dn)
