"""Kerberos (SASL GSSAPI) binds with a ticket from kinit, against the session's real Samba AD DC.

Each test has its own krb5.conf (the DC's KDC on 127.0.0.1:88, no DNS, no reverse DNS) and its
own credential cache (``KRB5_CONFIG`` / ``KRB5CCNAME``): nothing on the host is read or changed.
The throwaway DC registers no ``ldap/`` service principal (Samba's SPN updater is not among its
services) and its name ``dc1.<realm>`` resolves nowhere, so the tests list the DC by address and
register ``ldap/127.0.0.1`` on its account — what an operator does for a DC listed by address
(``setspn -S ldap/<address> <DC>``) — and remove it afterwards.

Samba before 4.20 with its default ``ldap server require strong auth = yes`` refuses every SASL
bind over TLS (a security layer is "not allowed if TLS is used", none is "required"); the
throwaway DC is provisioned with ``allow_sasl_over_tls``, as a Windows DC behaves, and
dirguard's error message for the default names that setting.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.connectors.ad.connection import AdAuthError, connect
from dirguard.core.security_descriptor import sid_from_bytes
from dirguard.throwaway.samba_dc import HOST_NAME, SambaDC, audit_records
from tests.ad.conftest import domain_config
from tests.fixtures.requirements import unavailable

pytestmark = pytest.mark.samba

KDC_PORT = 88
Kinit = Callable[[str, str], None]


def _gssapi_module_installed() -> bool:
    return any(Path("/usr/lib").glob("**/sasl2/libgssapiv2.so*"))


@pytest.fixture
def kinit(samba_dc: SambaDC, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kinit:
    """A krb5.conf and an empty credential cache for this test; ``kinit(principal, password)``
    puts a ticket in it."""
    if shutil.which("kinit") is None:
        unavailable("samba", "kinit not found (apt-get install krb5-user)")
    if not _gssapi_module_installed():
        unavailable(
            "samba", "no Cyrus SASL GSSAPI module (apt-get install libsasl2-modules-gssapi-mit)"
        )
    conf = tmp_path / "krb5.conf"
    conf.write_text(
        "[libdefaults]\n"
        f"\tdefault_realm = {samba_dc.realm}\n"
        "\tdns_lookup_realm = false\n\tdns_lookup_kdc = false\n"
        "\trdns = false\n\tdns_canonicalize_hostname = false\n"
        f"[realms]\n\t{samba_dc.realm} = {{\n\t\tkdc = {samba_dc.host}:{KDC_PORT}\n\t}}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("KRB5_CONFIG", str(conf))
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'ccache'}")

    def run(principal: str, password: str) -> None:
        result = subprocess.run(
            ["kinit", principal],
            input=password + "\n",
            env=dict(os.environ),
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, f"kinit {principal} failed: {result.stderr}"

    return run


@pytest.fixture
def ldap_spn(samba_dc: SambaDC, samba_tool: Callable[..., str]) -> Iterator[str]:
    """``ldap/<DC address>`` registered on the DC's account for the test."""
    spn, account = f"ldap/{samba_dc.host}", f"{HOST_NAME.upper()}$"
    samba_tool("spn", "add", spn, account)
    try:
        yield spn
    finally:
        samba_tool("spn", "delete", spn, account)


def _sasl_over_tls_allowed(dc: SambaDC) -> bool:
    text = dc.smb_conf.read_text(encoding="utf-8").lower()
    return any(
        f"ldap server require strong auth = {value}" in text
        for value in ("allow_sasl_over_tls", "no")
    )


def test_no_ticket_says_run_kinit(samba_dc: SambaDC, kinit: Kinit) -> None:
    with pytest.raises(AdAuthError) as caught:
        connect(domain_config(samba_dc, auth="gssapi", bind_upn=None, password=None), None)
    assert "no Kerberos ticket: run kinit <account>@<REALM>" in str(caught.value)
    assert f"{samba_dc.host}:636" in str(caught.value)
    named = domain_config(samba_dc, auth="gssapi", password=None)  # bind_upn names the account
    with pytest.raises(AdAuthError, match=re.escape(f"run kinit {samba_dc.admin_upn} ")):
        connect(named, None)


def test_a_server_name_without_an_ldap_spn_is_named(samba_dc: SambaDC, kinit: Kinit) -> None:
    kinit(samba_dc.admin_upn, samba_dc.admin_password)
    with pytest.raises(AdAuthError) as caught:
        connect(domain_config(samba_dc, auth="gssapi", bind_upn=None, password=None), None)
    assert f"the KDC knows no service principal ldap/{samba_dc.host}" in str(caught.value)
    assert f"setspn -S ldap/{samba_dc.host}" in str(caught.value)


def test_verify_tls_off_is_logged_for_a_kerberos_bind(
    samba_dc: SambaDC, kinit: Kinit, caplog: pytest.LogCaptureFixture
) -> None:
    domain = domain_config(
        samba_dc, auth="gssapi", bind_upn=None, password=None, ca_file=None, verify_tls=False
    )
    with (
        caplog.at_level(logging.WARNING, logger="dirguard.connectors.ad.connection"),
        pytest.raises(AdAuthError, match="no Kerberos ticket"),
    ):
        connect(domain, None)
    assert any("validation is OFF" in r.getMessage() for r in caplog.records)


def test_a_kerberos_bind_reads_and_writes_as_the_ticket_owner(
    samba_dc: SambaDC,
    kinit: Kinit,
    ldap_spn: str,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    assert _sasl_over_tls_allowed(samba_dc), (
        "the throwaway DC is provisioned with 'ldap server require strong auth = "
        "allow_sasl_over_tls' (Samba 4.17's default refuses every SASL bind over TLS)"
    )
    name, target = unique("krb"), unique("krbtgt")
    password = f"Pa55word!{name}"
    samba_tool("user", "create", name, password)
    samba_tool("user", "create", target, password)
    samba_tool("group", "addmembers", "Domain Admins", name)
    user_dn = f"CN={name},CN=Users,{samba_dc.base_dn}"
    target_dn = f"CN={target},CN=Users,{samba_dc.base_dn}"
    sid = sid_from_bytes(
        ldap_admin.search_s(user_dn, ldap.SCOPE_BASE, attrlist=["objectSid"])[0][1]["objectSid"][0]
    )[0]
    try:
        kinit(f"{name}@{samba_dc.realm}", password)
        marker = f"written over GSSAPI {name}"
        for transport in ("ldaps", "starttls"):
            domain = domain_config(
                samba_dc, auth="gssapi", bind_upn=None, password=None, transport=transport
            )
            with connect(domain, None) as conn:
                assert conn.contexts.default == samba_dc.base_dn
                conn.ldap.modify_s(
                    target_dn,
                    [(ldap.MOD_REPLACE, "description", [f"{marker} {transport}".encode()])],
                )
        changes = [
            record["dsdbChange"]
            for record in audit_records(samba_dc.audit_logs.directory_changes)
            if record.get("type") == "dsdbChange"
            and record["dsdbChange"].get("dn", "").lower() == target_dn.lower()
            and marker in json.dumps(record["dsdbChange"].get("attributes", {}))
        ]
        assert len(changes) == 2
        assert all(change["userSid"] == sid for change in changes)

        config = tmp_path / "dirguard.toml"
        config.write_text(
            f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
            f'[[ad.domains]]\nname = "{samba_dc.realm.lower()}"\n'
            f'servers = ["{samba_dc.host}"]\nca_file = "{samba_dc.ca_cert_path}"\n'
            'auth = "gssapi"\n',
            encoding="utf-8",
        )
        runner = CliRunner()
        snap = runner.invoke(app, ["--config", str(config), "snapshot", "ad", "--json"])
        assert snap.exit_code == 0, snap.output
        assert json.loads(snap.stdout)["snapshots"][0]["objects"] > 100
        captured = runner.invoke(app, ["--config", str(config), "capture", "ad", "--json"])
        assert captured.exit_code == 0, captured.output
    finally:
        ldap_admin.delete_s(user_dn)
        ldap_admin.delete_s(target_dn)
