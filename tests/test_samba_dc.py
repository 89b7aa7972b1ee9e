"""The throwaway Samba AD DC: reachable over LDAPS with its own CA, audits every write, keeps
its admin password to itself, and refuses to start on taken ports."""

from __future__ import annotations

import os
import re
import socket
import string
import struct
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.throwaway.samba_dc import (
    SambaDC,
    SambaDCError,
    SambaNotInstalledError,
    audit_records,
    throwaway_samba_dc,
)
from dirguard.throwaway.samba_dc_ports import (
    Port,
    PortInUseError,
    check_ports_free,
    find_port_holder,
)
from dirguard.throwaway.samba_dc_tls import write_dc_certificates
from tests.fixtures.requirements import unavailable


def _sid_to_str(raw: bytes) -> str:
    """Binary objectSid (MS-DTYP 2.4.2.2) to its S-1-... form."""
    revision, count = raw[0], raw[1]
    authority = int.from_bytes(raw[2:8], "big")
    subs = struct.unpack(f"<{count}I", raw[8 : 8 + 4 * count])
    return "-".join(["S", str(revision), str(authority), *map(str, subs)])


def _add_ou(conn: Any, dc: SambaDC) -> tuple[str, str]:
    name = f"dirguard-test-{uuid.uuid4().hex[:12]}"
    dn = f"OU={name},{dc.base_dn}"
    conn.add_s(
        dn,
        [
            ("objectClass", [b"top", b"organizationalUnit"]),
            ("ou", [name.encode()]),
            ("description", [b"created by tests/test_samba_dc.py"]),
        ],
    )
    return name, dn


@pytest.fixture
def new_ou(samba_dc: SambaDC, ldap_admin: Any) -> Iterator[tuple[str, str]]:
    name, dn = _add_ou(ldap_admin, samba_dc)
    yield name, dn
    ldap_admin.delete_s(dn)


def test_admin_creates_an_ou_and_reads_it_back(ldap_admin: Any, new_ou: tuple[str, str]) -> None:
    name, dn = new_ou
    [(found_dn, attrs)] = ldap_admin.search_s(
        dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectClass", "ou", "objectGUID"]
    )
    assert found_dn.lower() == dn.lower()
    assert {value.decode() for value in attrs["objectClass"]} >= {"top", "organizationalUnit"}
    assert attrs["ou"] == [name.encode()]
    [guid] = attrs["objectGUID"]
    assert len(guid) == 16


def test_audit_log_records_the_ou_add_with_who_and_from_where(
    samba_dc: SambaDC, ldap_admin: Any, new_ou: tuple[str, str]
) -> None:
    _, dn = new_ou
    [(_, admin)] = ldap_admin.search_s(
        samba_dc.admin_dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectSid"]
    )
    admin_sid = _sid_to_str(admin["objectSid"][0])
    deadline = time.monotonic() + 10
    adds: list[dict[str, Any]] = []
    while not adds and time.monotonic() < deadline:
        adds = [
            record["dsdbChange"]
            for record in audit_records(samba_dc.audit_logs.directory_changes)
            if record.get("type") == "dsdbChange"
            and record["dsdbChange"].get("operation") == "Add"
            and str(record["dsdbChange"].get("dn", "")).lower() == dn.lower()
        ]
        if not adds:
            time.sleep(0.2)
    assert len(adds) == 1, f"no single Add of {dn} in {samba_dc.audit_logs.directory_changes}"
    [change] = adds
    assert change["status"] == "Success"
    assert change["userSid"] == admin_sid
    assert admin_sid.endswith("-500")
    assert change["remoteAddress"].startswith("ipv4:127.0.0.1:")
    assert change["attributes"]["objectClass"]["actions"][0]["action"] == "add"


def test_ldaps_refuses_a_client_that_does_not_trust_the_dc_ca(
    samba_dc: SambaDC, tmp_path: Path
) -> None:
    write_dc_certificates(tmp_path, host_names=("elsewhere.test",), ip="127.0.0.1")
    conn = ldap.initialize(samba_dc.ldaps_uri)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, 10)
    conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
    conn.set_option(ldap.OPT_X_TLS_CACERTFILE, str(tmp_path / "ca.pem"))
    conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    try:
        with pytest.raises(ldap.SERVER_DOWN):
            conn.simple_bind_s(samba_dc.admin_upn, samba_dc.admin_password)
    finally:
        conn.unbind_s()


def test_the_fixture_owns_the_process_serving_ldaps(samba_dc: SambaDC) -> None:
    for port in (samba_dc.ldap_port, samba_dc.ldaps_port):
        holder = find_port_holder(Port(protocol="tcp", number=port))
        assert holder is not None
        assert holder.pid == samba_dc.pid


def test_admin_password_is_strong_and_never_shown_or_logged(samba_dc: SambaDC) -> None:
    password = samba_dc.admin_password
    assert len(password) >= 16
    for group in (string.ascii_lowercase, string.ascii_uppercase, string.digits):
        assert any(c in group for c in password)
    assert any(not c.isalnum() for c in password)
    assert password not in repr(samba_dc)
    assert password not in str(samba_dc)
    written = [*samba_dc.workdir.joinpath("log").iterdir(), samba_dc.smb_conf]
    assert samba_dc.audit_logs.authentication in written  # the binds above were logged
    for path in written:
        assert password.encode() not in path.read_bytes(), f"admin password found in {path}"


@pytest.mark.parametrize("protocol", ["tcp", "udp"])
def test_port_check_names_the_taken_port_and_its_process(protocol: str) -> None:
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as holder:
        holder.bind(("127.0.0.1", 0))
        if protocol == "tcp":
            holder.listen()
        number = holder.getsockname()[1]
        port = Port(protocol="tcp" if protocol == "tcp" else "udp", number=number)
        with pytest.raises(PortInUseError) as caught:
            check_ports_free([port])
    message = str(caught.value)
    assert (
        f"port {number}/{protocol} is already in use on 127.0.0.1 by pid {os.getpid()}" in message
    )
    check_ports_free([port])  # free again once the holder is closed


def test_dc_refuses_to_start_on_a_taken_port_before_provisioning(tmp_path: Path) -> None:
    workdir = tmp_path / "dc"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        number = holder.getsockname()[1]
        try:
            with (
                pytest.raises(PortInUseError, match=f"port {number}/tcp"),
                throwaway_samba_dc(workdir=workdir, ports=[Port(protocol="tcp", number=number)]),
            ):
                pass
        except SambaNotInstalledError as error:
            unavailable("samba", str(error))
    assert not workdir.exists()


def test_dc_rejects_a_realm_that_is_not_a_domain_name() -> None:
    with (
        pytest.raises(SambaDCError, match="realm 'not a realm' is not a DNS domain name"),
        throwaway_samba_dc(realm="not a realm", ports=[]),
    ):
        pass


def test_restarting_a_kept_work_directory_checks_what_it_is_given(tmp_path: Path) -> None:
    """The refusals come before any lock or port is taken; a real restart from a kept directory
    is what ``bench/bench_dc.py`` does (it cannot run beside the session's DC: same ports)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    try:
        with (
            pytest.raises(SambaDCError, match=re.escape(f"{empty} holds no provisioned DC")),
            throwaway_samba_dc(existing_workdir=empty, admin_password="x" * 16),
        ):
            pass
    except SambaNotInstalledError as error:
        unavailable("samba", str(error))
    with (
        pytest.raises(SambaDCError, match="existing_workdir needs admin_password"),
        throwaway_samba_dc(existing_workdir=empty),
    ):
        pass
    with (
        pytest.raises(SambaDCError, match="admin_password is only for existing_workdir"),
        throwaway_samba_dc(admin_password="x" * 16, ports=[]),
    ):
        pass
    (empty / "etc").mkdir()
    (empty / "etc" / "smb.conf").write_text("[global]\n\tnetbios name = DC1\n", encoding="utf-8")
    with (
        pytest.raises(SambaDCError, match=r"smb\.conf names no realm"),
        throwaway_samba_dc(existing_workdir=empty, admin_password="x" * 16),
    ):
        pass
