"""``dirguard connect ad`` against the session's real Samba AD DC: the read-only account runs
DirSync and cannot write, and sees deletions once it may read CN=Deleted Objects (a grant Samba
makes only in its own database: ``--samba-conf``), the full account reanimates a tombstone, a
removed ACE is named by ``--check`` with the features it breaks, a second run adds nothing, an
operator without Domain Admins is refused.

The command is reached through dirguard's own CLI app (``dirguard connect ad``).
"""

# ruff: noqa: F811

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest
from ldap.controls import LDAPControl
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.config.secret_store import SecretStore
from dirguard.providers.ad import directory as ad_directory
from dirguard.providers.ad.connection import AdConnection, connect
from dirguard.providers.ad.ldap_read import deleted_objects_readable, dirsync_pages
from dirguard.providers.ad.sd.dacl_edit import grants_control_access, with_aces_removed
from dirguard.providers.ad.sd.security_descriptor import parse_security_descriptor
from dirguard.providers.ad.setup.account_grants import EXTENDED_RIGHT_GUIDS
from dirguard.throwaway.samba_dc import SambaDC

# The AD fixtures live in tests/ad/conftest.py; imported here, they are this module's too (the
# test functions' parameters of the same name are what pytest injects, hence F811).
from tests.ad.conftest import domain_config, samba_tool, unique  # noqa: F401

pytestmark = pytest.mark.samba

ADMIN_ENV = "TEST_DIRGUARD_AD_PASSWORD"
OPERATOR_ENV = "TEST_DIRGUARD_OPERATOR_PASSWORD"
SHOW_DELETED = "1.2.840.113556.1.4.417"
DELETED_OBJECTS = "List Contents and Read Property on Deleted Objects"

Run = Callable[..., tuple[int, Any, str]]


@pytest.fixture
def config_file(samba_dc: SambaDC, tmp_path: Path) -> Path:
    path = tmp_path / "dirguard.toml"
    path.write_text(
        f"""
[log]
level = "warning"

[secrets]
key_file = "{tmp_path / "secret.key"}"
store_file = "{tmp_path / "secrets.json"}"

[[ad.domains]]
name = "{samba_dc.realm.lower()}"
servers = ["{samba_dc.host}"]
ca_file = "{samba_dc.ca_cert_path}"
bind_upn = "{samba_dc.admin_upn}"
password = "env:{ADMIN_ENV}"
""",
        encoding="utf-8",
    )
    return path


@pytest.fixture
def store(tmp_path: Path) -> SecretStore:
    return SecretStore(tmp_path / "secret.key", tmp_path / "secrets.json")


@pytest.fixture
def run(samba_dc: SambaDC, config_file: Path) -> Run:
    """``connect ad ARGS``: (exit code, parsed JSON when --json, stdout + stderr)."""

    def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
        result = CliRunner().invoke(
            app,
            ["connect", "ad", *args],
            env={
                "DIRGUARD_CONFIG": str(config_file),
                ADMIN_ENV: samba_dc.admin_password,
                **(env or {}),
            },
        )
        data = json.loads(result.stdout) if "--json" in args and result.stdout.strip() else None
        return result.exit_code, data, result.stdout + result.stderr

    return invoke


def _bind_as(samba_dc: SambaDC, upn: str, password: str) -> AdConnection:
    return connect(domain_config(samba_dc, bind_upn=upn), password)


def _explicit_aces_for(ldap_admin: Any, base: str, sid: str) -> dict[str, int]:
    """Right name -> number of explicit allow ACEs on the domain head for exactly ``sid``."""
    sd = ad_directory.read_dacl(ldap_admin, base)
    aces = parse_security_descriptor(sd).dacl
    assert aces is not None
    return {
        name: sum(grants_control_access(a, sid, guid) for a in aces.aces)
        for name, guid in EXTENDED_RIGHT_GUIDS.items()
    }


def _local(dc: SambaDC) -> tuple[str, str]:
    """Run on the DC itself: grants Samba refuses over LDAP go into its database."""
    return ("--samba-conf", str(dc.smb_conf))


def _setup(data: Any) -> dict[str, Any]:
    (domain,) = data["domains"]
    setup: dict[str, Any] = domain["setup"]
    return setup


def test_read_only_account_runs_dirsync_and_cannot_write(
    run: Run,
    samba_dc: SambaDC,
    store: SecretStore,
    ldap_admin: Any,
    unique: Callable[[str], str],
    samba_tool: Callable[..., str],
) -> None:
    # A plain user, without the rights, is refused a DirSync search: the grant is what matters.
    plain, plain_pw = unique("plain"), "Plain-Pass-1234!"
    samba_tool("user", "create", plain, plain_pw)
    with (
        _bind_as(samba_dc, f"{plain}@{samba_dc.realm}", plain_pw) as conn,
        pytest.raises(ldap.INSUFFICIENT_ACCESS),
    ):
        list(dirsync_pages(conn.ldap, conn.contexts.default, b""))

    # Over LDAP every grant is made, the Deleted Objects access too (ownership taken first, as
    # `dsacls /takeownership` does): the exit is 0.
    name = unique("ro")
    code, data, output = run("--mode", "read-only", "--account", name, "--json")
    assert code == 0, output
    setup = _setup(data)
    assert setup["account_kind"] in ("gmsa", "user")
    statuses = {a["name"]: a["status"] for a in setup["actions"]}
    assert statuses["Event Log Readers"] == "added"
    assert statuses["Replicate Directory Changes"] == "added"
    assert statuses["Replicate Directory Changes All"] == "added"
    assert statuses[DELETED_OBJECTS] == "added"
    assert data["domains"][0]["check"]["ok"] is True
    assert "Reanimate Tombstones" not in statuses
    assert "Domain Admins" not in statuses
    for group in ("Remote Management Users", "ADSyncOperators"):
        if statuses[group] == "absent":  # said so, and really absent from the domain
            found = ldap_admin.search_s(
                samba_dc.base_dn, ldap.SCOPE_SUBTREE, f"(sAMAccountName={group})", ["cn"]
            )
            assert not [dn for dn, _ in found if dn]
    if setup["account_kind"] == "gmsa":
        pytest.skip("this DC computes gMSA passwords; binding as the gMSA is not covered here")
    assert "KDS root key" in setup["kind_reason"] or "msDS-ManagedPassword" in setup["kind_reason"]
    password = store.get(setup["secret"].removeprefix("secret:"))
    assert len(password) >= 64
    assert password not in output
    assert password not in (Path(store.store_file).read_text(encoding="utf-8"))

    victim = unique("gone")
    samba_tool("user", "create", victim, "Victim-Pass-1234!")
    with _bind_as(samba_dc, f"{name}@{samba_dc.realm}", password) as conn:
        base = conn.contexts.default
        cookie = b""
        entries = []
        for page in dirsync_pages(conn.ldap, base, b""):
            entries += page.entries
            cookie = page.cookie
        assert any(dn.lower() == setup["account_dn"].lower() for dn, _ in entries)
        with pytest.raises(ldap.INSUFFICIENT_ACCESS):
            conn.ldap.modify_s(
                f"CN={plain},CN=Users,{samba_dc.base_dn}",
                [(ldap.MOD_REPLACE, "description", [b"written by the read-only account"])],
            )
        assert deleted_objects_readable(conn.ldap, base)
        samba_tool("user", "delete", victim)
        # With the grant, Samba's DirSync returns the deletion to this account.
        (tombstone,) = _tombstones(conn, cookie, victim)
        assert tombstone[1]["isDeleted"] == [b"TRUE"]

    # Run on the DC (root, its smb.conf): the grant is found in place.
    code, data, output = run("--mode", "read-only", *_local(samba_dc), "--account", name, "--json")
    assert code == 0, output
    statuses = {a["name"]: a["status"] for a in _setup(data)["actions"]}
    assert statuses[DELETED_OBJECTS] == "present"
    assert statuses["Replicate Directory Changes"] == "present"


def _tombstones(conn: AdConnection, cookie: bytes, name: str) -> list[Any]:
    """The deleted objects named ``name`` a DirSync from ``cookie`` returns."""
    found = [
        e for page in dirsync_pages(conn.ldap, conn.contexts.default, cookie) for e in page.entries
    ]
    return [(dn, attrs) for dn, attrs in found if f"CN={name}\\0ADEL:".lower() in dn.lower()]


def test_second_run_and_forest_run_add_nothing(
    run: Run, samba_dc: SambaDC, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    name = unique("idem")
    code, first, output = run("--mode", "read-only", *_local(samba_dc), "--account", name, "--json")
    assert code == 0, output
    assert _setup(first)["changed"] is True
    sid = ad_directory.find_account(ldap_admin, samba_dc.base_dn, name)
    assert sid is not None
    before = _explicit_aces_for(ldap_admin, samba_dc.base_dn, sid.sid)
    assert before["Replicate Directory Changes"] == 1
    assert before["Replicate Directory Changes All"] == 1

    code, again, output = run(
        "--mode", "read-only", *_local(samba_dc), "--account", name, "--forest", "--json"
    )
    assert code == 0, output
    assert len(again["domains"]) == 1  # the test forest has one domain
    setup = _setup(again)
    assert setup["changed"] is False
    assert {a["status"] for a in setup["actions"]} <= {"exists", "present", "absent"}
    assert _explicit_aces_for(ldap_admin, samba_dc.base_dn, sid.sid) == before

    code, _, text = run("--mode", "read-only", *_local(samba_dc), "--account", name)
    assert code == 0, text
    assert "Nothing to add" in text


def test_full_account_reanimates_a_tombstone(
    run: Run,
    samba_dc: SambaDC,
    store: SecretStore,
    ldap_admin: Any,
    unique: Callable[[str], str],
    samba_tool: Callable[..., str],
) -> None:
    name = unique("full")
    code, data, output = run("--mode", "full", "--account", name, "--json")
    assert code == 0, output
    setup = _setup(data)
    statuses = {a["name"]: a["status"] for a in setup["actions"]}
    assert statuses["Reanimate Tombstones"] == "added"
    assert statuses["Domain Admins"] == "added"
    assert "Schema Admins" not in statuses  # only the domain partition was asked for
    if setup["account_kind"] == "gmsa":
        pytest.skip("this DC computes gMSA passwords; binding as the gMSA is not covered here")
    password = store.get(setup["secret"].removeprefix("secret:"))

    victim = unique("victim")
    samba_tool("user", "create", victim, "Victim-Pass-1234!")
    live_dn = f"CN={victim},CN=Users,{samba_dc.base_dn}"
    before = ad_directory.find_account(ldap_admin, samba_dc.base_dn, victim)
    assert before is not None
    ldap_admin.delete_s(live_dn)
    assert ad_directory.find_account(ldap_admin, samba_dc.base_dn, victim) is None

    show_deleted = LDAPControl(SHOW_DELETED, True, None)
    with _bind_as(samba_dc, f"{name}@{samba_dc.realm}", password) as conn:
        found = conn.ldap.search_ext_s(
            samba_dc.base_dn,
            ldap.SCOPE_SUBTREE,
            f"(&(isDeleted=TRUE){ad_directory.sid_filter(before.sid)})",
            ["cn"],
            serverctrls=[show_deleted],
        )
        (tombstone,) = [dn for dn, _ in found if dn]
        conn.ldap.modify_ext_s(
            tombstone,
            [
                (ldap.MOD_DELETE, "isDeleted", None),
                (ldap.MOD_REPLACE, "distinguishedName", [live_dn.encode()]),
            ],
            serverctrls=[show_deleted],
        )
    back = ad_directory.find_account(ldap_admin, samba_dc.base_dn, victim)
    assert back is not None
    assert back.dn.lower() == live_dn.lower()
    assert back.sid == before.sid


def test_check_names_a_removed_ace_and_the_features_it_breaks(
    run: Run,
    samba_dc: SambaDC,
    ldap_admin: Any,
    unique: Callable[[str], str],
    samba_tool: Callable[..., str],
) -> None:
    name = unique("chk")
    code, _, output = run("--mode", "read-only", *_local(samba_dc), "--account", name)
    assert code == 0, output
    code, data, output = run("--check", "--mode", "read-only", "--account", name, "--json")
    assert code == 0, output
    assert data["domains"][0]["check"]["missing"] == []

    account = ad_directory.find_account(ldap_admin, samba_dc.base_dn, name)
    assert account is not None
    guid = EXTENDED_RIGHT_GUIDS["Replicate Directory Changes All"]
    sd = ad_directory.read_dacl(ldap_admin, samba_dc.base_dn)
    edited, removed = with_aces_removed(sd, lambda a: grants_control_access(a, account.sid, guid))
    assert removed == 1
    ad_directory.write_dacl(ldap_admin, samba_dc.base_dn, edited)
    # Read back independently of dirguard's parser: samba-tool's SDDL no longer has the ACE.
    sddl = samba_tool("dsacl", "get", f"--objectdn={samba_dc.base_dn}").lower()
    kept = EXTENDED_RIGHT_GUIDS["Replicate Directory Changes"]
    assert f"(oa;;cr;{kept};;{account.sid})".lower() in sddl
    assert f"(oa;;cr;{guid};;{account.sid})".lower() not in sddl

    code, data, output = run("--check", "--mode", "read-only", "--account", name, "--json")
    assert code == 2, output
    (missing,) = data["domains"][0]["check"]["missing"]
    assert missing["name"] == "Replicate Directory Changes All"
    assert missing["kind"] == "ad-extended-right"
    assert missing["features"] == ["guardian.ad.collect-changes"]
    assert "setup" not in data["domains"][0]  # --check writes nothing

    code, _, text = run("--check", "--mode", "read-only", "--account", name)
    assert code == 2
    assert "Replicate Directory Changes All" in text
    assert "breaks: guardian.ad.collect-changes" in text

    code, data, output = run("--mode", "read-only", *_local(samba_dc), "--account", name, "--json")
    assert code == 0, output
    statuses = {a["name"]: a["status"] for a in _setup(data)["actions"]}
    assert statuses["Replicate Directory Changes All"] == "added"
    assert statuses["Replicate Directory Changes"] == "present"


def test_operator_without_domain_admins_is_refused_by_name(
    run: Run,
    samba_dc: SambaDC,
    ldap_admin: Any,
    unique: Callable[[str], str],
    samba_tool: Callable[..., str],
) -> None:
    operator, password = unique("oper"), "Operator-Pass-1234!"
    samba_tool("user", "create", operator, password)
    name = unique("never")
    code, data, output = run(
        "--account",
        name,
        "--partitions",
        "domain,schema",
        "--operator-upn",
        f"{operator}@{samba_dc.realm}",
        "--operator-password",
        f"env:{OPERATOR_ENV}",
        "--json",
        env={OPERATOR_ENV: password},
    )
    assert code == 2, output
    missing = {m["group"]: m for m in data["domains"][0]["operator"]["missing"]}
    assert set(missing) == {"Domain Admins", "Schema Admins"}
    assert missing["Schema Admins"]["setup"] == "Schema Admin"
    assert "is not a member of Domain Admins" in output
    assert ad_directory.find_account(ldap_admin, samba_dc.base_dn, name) is None


def test_an_existing_account_keeps_its_password_unless_dirguard_made_it(
    run: Run,
    samba_dc: SambaDC,
    store: SecretStore,
    unique: Callable[[str], str],
    samba_tool: Callable[..., str],
) -> None:
    someone, their_password = unique("someone"), "Their-Pass-1234!"
    samba_tool("user", "create", someone, their_password)
    code, _, output = run("--account", someone)
    assert code == 1
    assert f"the account {someone} exists but was not created by dirguard" in output
    with _bind_as(samba_dc, f"{someone}@{samba_dc.realm}", their_password) as conn:
        assert conn.contexts.default == samba_dc.base_dn  # password untouched

    name = unique("lost")
    code, data, output = run(*_local(samba_dc), "--account", name, "--json")
    assert code == 0, output
    secret = _setup(data)["secret"].removeprefix("secret:")
    old = store.get(secret)
    assert store.delete(secret)
    code, data, output = run(*_local(samba_dc), "--account", name, "--json")
    assert code == 0, output
    statuses = [a["status"] for a in _setup(data)["actions"] if a["kind"] == "account"]
    assert statuses == ["exists", "password-stored"]
    new = store.get(secret)
    assert new != old
    with _bind_as(samba_dc, f"{name}@{samba_dc.realm}", new) as conn:
        assert conn.contexts.default == samba_dc.base_dn


@pytest.fixture
def kds_root_key(samba_dc: SambaDC, ldap_admin: Any) -> Iterator[str]:
    """A KDS root key object in the forest (removed afterwards), so the setup tries a gMSA."""
    service = f"CN=Group Key Distribution Service,CN=Services,CN=Configuration,{samba_dc.base_dn}"
    created: list[str] = []
    for dn in (service, f"CN=Master Root Keys,{service}"):
        try:
            ldap_admin.add_s(dn, [("objectClass", [b"container"])])
            created.append(dn)
        except ldap.ALREADY_EXISTS:
            pass
    key = f"CN={uuid.uuid4()},CN=Master Root Keys,{service}"
    filetime = b"133000000000000000"
    ldap_admin.add_s(
        key,
        [
            ("objectClass", [b"msKds-ProvRootKey"]),
            ("msKds-KDFAlgorithmID", [b"SP800_108_CTR_HMAC"]),
            ("msKds-SecretAgreementAlgorithmID", [b"DH"]),
            ("msKds-PrivateKeyLength", [b"512"]),
            ("msKds-PublicKeyLength", [b"2048"]),
            ("msKds-RootKeyData", [os.urandom(64)]),
            ("msKds-Version", [b"1"]),
            ("msKds-DomainID", [samba_dc.base_dn.encode()]),
            ("msKds-UseStartTime", [filetime]),
            ("msKds-CreateTime", [filetime]),
        ],
    )
    try:
        yield key
    finally:
        for dn in [key, *reversed(created)]:
            ldap_admin.delete_s(dn)


def test_a_gmsa_is_tried_when_the_forest_has_a_kds_root_key(
    run: Run,
    samba_dc: SambaDC,
    ldap_admin: Any,
    kds_root_key: str,
    unique: Callable[[str], str],
) -> None:
    name = unique("gm")
    code, data, output = run("--mode", "read-only", *_local(samba_dc), "--account", name, "--json")
    assert code == 0, output
    setup = _setup(data)
    managed = ldap_admin.search_s(
        f"CN=Managed Service Accounts,{samba_dc.base_dn}",
        ldap.SCOPE_ONELEVEL,
        f"(sAMAccountName={name}$)",
        ["msDS-ManagedPassword"],
    )
    gmsas = [(dn, attrs) for dn, attrs in managed if dn]
    if setup["account_kind"] == "gmsa":  # the DC computes managed passwords: readable
        ((_dn, attrs),) = gmsas
        assert attrs.get("msDS-ManagedPassword")
        assert setup["secret"] is None
    else:  # tried, found wanting, and the trial gMSA removed again
        assert "no msDS-ManagedPassword" in setup["kind_reason"]
        assert gmsas == []
        assert setup["account_dn"].startswith(f"CN={name},CN=Users,")


def test_bad_input_is_named(run: Run, unique: Callable[[str], str]) -> None:
    code, _, output = run("--partitions", "domain,sales")
    assert code == 2
    assert "unknown partition 'sales'" in output
    code, _, output = run("--domain", "other.example")
    assert code == 3
    assert "no AD domain 'other.example' configured" in output
    code, _, output = run("--account", "has space")
    assert code == 2
    assert "account name 'has space' is not valid" in output
    nobody = unique("nobody")
    code, data, output = run("--check", "--account", nobody, "--json")
    assert code == 2, output
    check = data["domains"][0]["check"]
    assert check["account_dn"] is None
    assert {m["name"] for m in check["missing"]} >= {"Replicate Directory Changes"}
    assert all(f"the account {nobody} does not exist" in m["detail"] for m in check["missing"])
