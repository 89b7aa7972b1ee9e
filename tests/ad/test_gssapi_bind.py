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

The failure cases are real too: a server name the KDC has no SPN for (skipped for the next
configured server), a ticket that has run out (``kinit -l 5s``: the KDC grants it, the test waits
it out) and a clock an hour ahead of the DC's (the CLI under libfaketime's ``faketime``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.cli.exit_codes import ExitCode
from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad.connection import AdAuthError, AdUnknownSpn, connect
from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes
from dirguard.throwaway.samba_dc import HOST_NAME, SambaDC, audit_records
from tests.ad.conftest import domain_config
from tests.fixtures.requirements import unavailable

pytestmark = pytest.mark.samba

KDC_PORT = 88
Kinit = Callable[..., None]


def _gssapi_module_installed() -> bool:
    return any(Path("/usr/lib").glob("**/sasl2/libgssapiv2.so*"))


@pytest.fixture
def kinit(samba_dc: SambaDC, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Kinit:
    """A krb5.conf and an empty credential cache for this test; ``kinit(principal, password,
    *options)`` puts a ticket in it (``options``: kinit's, e.g. ``"-l", "5s"``)."""
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

    def run(principal: str, password: str, *options: str) -> None:
        result = subprocess.run(
            ["kinit", *options, principal],
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


def gssapi_config_file(dc: SambaDC, directory: Path) -> Path:
    """A dirguard configuration (store in ``directory``) binding to ``dc`` with Kerberos."""
    config = directory / "dirguard.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{directory / "store.db"}"\n'
        f'[[ad.domains]]\nname = "{dc.realm.lower()}"\n'
        f'servers = ["{dc.host}"]\nca_file = "{dc.ca_cert_path}"\n'
        'auth = "gssapi"\n',
        encoding="utf-8",
    )
    return config


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
        caplog.at_level(logging.WARNING, logger="dirguard.providers.ad.connection"),
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

        config = gssapi_config_file(samba_dc, tmp_path)
        runner = CliRunner()
        snap = runner.invoke(app, ["--config", str(config), "snapshot", "ad", "--json"])
        assert snap.exit_code == 0, snap.output
        assert json.loads(snap.stdout)["snapshots"][0]["objects"] > 100
        captured = runner.invoke(app, ["--config", str(config), "capture", "ad", "--json"])
        assert captured.exit_code == 0, captured.output
    finally:
        ldap_admin.delete_s(user_dn)
        ldap_admin.delete_s(target_dn)


# "localhost" reaches the DC but the KDC has no ldap/localhost. libldap checks a certificate
# reached as "localhost" against this machine's own name, which the throwaway DC's certificate
# does not hold, so the tests listing "localhost" turn certificate validation off (the tests
# above validate it for 127.0.0.1).
NO_SPN_NAME = "localhost"


def _unvalidated(dc: SambaDC, servers: list[str]) -> AdDomainConfig:
    """Kerberos with no account named, certificate validation off (see above)."""
    return domain_config(
        dc,
        auth="gssapi",
        bind_upn=None,
        password=None,
        servers=servers,
        ca_file=None,
        verify_tls=False,
    )


def test_a_server_name_without_an_spn_is_skipped_for_the_next_server(
    samba_dc: SambaDC, kinit: Kinit, ldap_spn: str, caplog: pytest.LogCaptureFixture
) -> None:
    kinit(samba_dc.admin_upn, samba_dc.admin_password)
    domain = _unvalidated(samba_dc, [NO_SPN_NAME, samba_dc.host])
    with (
        caplog.at_level(logging.WARNING, logger="dirguard.providers.ad.connection"),
        connect(domain, None) as conn,
    ):
        assert conn.server == samba_dc.host
        assert conn.contexts.default == samba_dc.base_dn
    skipped = [
        r.getMessage() for r in caplog.records if f"skipping {NO_SPN_NAME}" in r.getMessage()
    ]
    assert len(skipped) == 1
    assert f"no service principal ldap/{NO_SPN_NAME}" in skipped[0]
    assert samba_dc.admin_password not in caplog.text


def test_when_no_server_name_has_an_spn_the_error_names_each(
    samba_dc: SambaDC, kinit: Kinit
) -> None:
    kinit(samba_dc.admin_upn, samba_dc.admin_password)
    with pytest.raises(AdUnknownSpn) as caught:
        connect(_unvalidated(samba_dc, [NO_SPN_NAME, samba_dc.host]), None)
    message = str(caught.value)
    for server in (NO_SPN_NAME, samba_dc.host):
        assert f"{server}:636: Kerberos bind failed: the KDC knows no service principal" in message
        assert f"setspn -S ldap/{server} <DC name>" in message


def test_a_missing_ticket_is_not_retried_on_the_next_server(
    samba_dc: SambaDC, kinit: Kinit, ldap_spn: str, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="dirguard.providers.ad.connection"),
        pytest.raises(AdAuthError) as caught,
    ):
        connect(_unvalidated(samba_dc, [NO_SPN_NAME, samba_dc.host]), None)
    assert not isinstance(caught.value, AdUnknownSpn)
    assert f"{NO_SPN_NAME}:636: Kerberos bind failed: no Kerberos ticket" in str(caught.value)
    assert f"{samba_dc.host}:636" not in str(caught.value)
    assert not any("skipping" in r.getMessage() for r in caplog.records)


def _wait_until_the_ticket_expires(limit_s: float = 70.0) -> None:
    """Until ``klist -s`` (exit status only: is there a valid ticket?) says there is none."""
    deadline = time.monotonic() + limit_s
    while subprocess.run(["klist", "-s"], env=dict(os.environ), check=False).returncode == 0:
        assert time.monotonic() < deadline, f"the ticket is still valid after {limit_s:.0f} s"
        time.sleep(1)


def test_an_expired_ticket_says_to_run_kinit_again(
    samba_dc: SambaDC, kinit: Kinit, ldap_spn: str
) -> None:
    kinit(samba_dc.admin_upn, samba_dc.admin_password, "-l", "5s")  # the KDC grants 5 s
    _wait_until_the_ticket_expires()
    domain = domain_config(samba_dc, auth="gssapi", password=None)  # bind_upn names the account
    with pytest.raises(AdAuthError) as caught:
        connect(domain, None)
    message = str(caught.value)
    assert not isinstance(caught.value, AdUnknownSpn)
    assert f"{samba_dc.host}:636: Kerberos bind failed: the Kerberos ticket has expired" in message
    assert f"run kinit {samba_dc.admin_upn} again" in message
    assert "(Ticket expired)" in message  # the GSSAPI reason is kept


def test_a_clock_an_hour_ahead_of_the_dc_is_named(
    samba_dc: SambaDC, kinit: Kinit, ldap_spn: str, tmp_path: Path
) -> None:
    """``dirguard snapshot ad`` under libfaketime: the same command with the clock unchanged
    binds, an hour ahead the KDC refuses the authenticator and the message says why."""
    if shutil.which("faketime") is None:
        unavailable("samba", "faketime not found (apt-get install faketime)")
    kinit(samba_dc.admin_upn, samba_dc.admin_password)
    command = [
        sys.executable,
        "-m",
        "dirguard",
        "--config",
        str(gssapi_config_file(samba_dc, tmp_path)),
    ]

    def snapshot(offset: str) -> tuple[int, str]:
        result = subprocess.run(
            ["faketime", "-f", offset, *command, "snapshot", "ad"],
            env=dict(os.environ),
            capture_output=True,
            text=True,
            check=False,
        )
        return result.returncode, " ".join((result.stdout + result.stderr).split())

    code, output = snapshot("+0")
    assert code == ExitCode.OK, output
    code, output = snapshot("+1h")
    assert code == ExitCode.CRITICAL, output
    assert f"{samba_dc.host}:636: Kerberos bind failed: this host's clock differs" in output
    assert "synchronise time (NTP)" in output
    assert "(Clock skew too great)" in output
