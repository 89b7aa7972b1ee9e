"""``dirguard connect validate`` for Active Directory, against the session's real Samba AD DC: the
account ``dirguard connect ad --mode read-only`` made, configured as the bind account, passes;
taken out of Event Log Readers it fails with exit 2 naming the group and the features it breaks;
a refused bind, an unreachable DC and an unknown domain are named with their own exit codes.

The command is reached through dirguard's own CLI app.
"""

# ruff: noqa: F811

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest
from typer.testing import CliRunner

from dirguard.catalog.permission_model import Kind, Mode
from dirguard.catalog.resource_type import Partition
from dirguard.cli.app import app
from dirguard.providers.ad.directory import read_dacl, write_dacl
from dirguard.providers.ad.sd.dacl_edit import with_aces_removed
from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes
from dirguard.providers.ad.setup.account_grants import account_grants
from dirguard.throwaway.samba_dc import SambaDC

# The AD fixtures live in tests/ad/conftest.py; imported here, they are this module's too.
from tests.ad.conftest import samba_tool, unique  # noqa: F401

pytestmark = pytest.mark.samba

ADMIN_ENV = "TEST_DIRGUARD_AD_PASSWORD"
GROUP = "Event Log Readers"
DELETED_OBJECTS = "List Contents and Read Property on Deleted Objects"


def _config(
    samba_dc: SambaDC, directory: Path, *, bind_upn: str, password: str, name: str, **extra: str
) -> Path:
    servers = extra.get("servers", f'["{samba_dc.host}"]')
    port = f"port = {extra['port']}\n" if "port" in extra else ""
    path = directory / name
    path.write_text(
        f"""
[log]
level = "warning"

[secrets]
key_file = "{directory / "secret.key"}"
store_file = "{directory / "secrets.json"}"

[[ad.domains]]
name = "{samba_dc.realm.lower()}"
servers = {servers}
{port}ca_file = "{samba_dc.ca_cert_path}"
bind_upn = "{bind_upn}"
password = "{password}"
mode = "read-only"
""",
        encoding="utf-8",
    )
    return path


def _invoke(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, Any, str]:
    result = CliRunner().invoke(app, ["--config", str(config), "connect", *args], env=env)
    data = json.loads(result.stdout) if "--json" in args and result.stdout.strip() else None
    return result.exit_code, data, result.stdout + result.stderr


def _make_account(
    samba_dc: SambaDC, tmp_path: Path, name: str, *extra: str
) -> tuple[int, dict[str, Any], str]:
    """``connect ad --mode read-only`` as the admin (``extra``: more options)."""
    admin = _config(
        samba_dc,
        tmp_path,
        bind_upn=samba_dc.admin_upn,
        password=f"env:{ADMIN_ENV}",
        name="admin.toml",
    )
    return _invoke(
        admin,
        "ad",
        "--mode",
        "read-only",
        "--account",
        name,
        *extra,
        "--json",
        env={ADMIN_ENV: samba_dc.admin_password},
    )


def _bound_as(samba_dc: SambaDC, tmp_path: Path, name: str, setup: dict[str, Any]) -> Path:
    """A configuration binding as the account ``connect ad`` made."""
    if setup["account_kind"] == "gmsa":
        pytest.skip("this DC computes gMSA passwords; binding as the gMSA is not covered here")
    return _config(
        samba_dc,
        tmp_path,
        bind_upn=f"{name}@{samba_dc.realm}",
        password=setup["secret"],
        name="validate.toml",
    )


@pytest.fixture
def read_only_account(
    samba_dc: SambaDC, tmp_path: Path, unique: Callable[[str], str]
) -> tuple[str, Path]:
    """An account ``connect ad --mode read-only`` made (on the DC: ``--samba-conf``), and a
    configuration binding as it."""
    name = unique("val")
    code, data, output = _make_account(
        samba_dc, tmp_path, name, "--samba-conf", str(samba_dc.smb_conf)
    )
    assert code == 0, output
    (entry,) = data["domains"]
    return name, _bound_as(samba_dc, tmp_path, name, entry["setup"])


def _expected_features(name: str) -> set[str]:
    (grant,) = [g for g in account_grants(Mode.READ_ONLY, [Partition.DOMAIN]) if g.name == name]
    return set(grant.features)


def test_validate_names_a_group_the_account_left(
    read_only_account: tuple[str, Path], samba_dc: SambaDC, samba_tool: Callable[..., str]
) -> None:
    name, config = read_only_account
    domain = samba_dc.realm.lower()
    code, data, output = _invoke(config, "validate", "--domain", domain, "--json")
    assert code == 0, output
    assert data["tenants"] == []
    (ad,) = data["ad"]
    assert (ad["domain"], ad["bind"], ad["account"]) == (domain, "ok", name)
    assert ad["missing"] == []
    assert any(key.endswith(f":{GROUP}") for key in ad["satisfied"])
    rights = {g.name for g in account_grants(Mode.READ_ONLY, [Partition.DOMAIN]) if g.is_right}
    if ad["rights_not_read"]:  # Samba: a read-only account may not read the head's DACL
        assert {m["name"] for m in ad["not_checked"]} == rights
        assert "dirguard connect ad --check" in ad["rights_not_read"]
        assert f"--account {name}" in ad["rights_not_read"]
    else:
        assert all(any(k.endswith(f":{r}") for k in ad["satisfied"]) for r in rights)

    samba_tool("group", "removemembers", GROUP, name)
    code, data, output = _invoke(config, "validate", "--domain", domain, "--json")
    assert code == 2, output
    (ad,) = data["ad"]
    (missing,) = ad["missing"]
    assert (missing["name"], missing["kind"]) == (GROUP, Kind.AD_GROUP.value)
    assert set(missing["features"]) == _expected_features(GROUP) and missing["features"]
    assert "not a member of" in missing["detail"]

    code, _, text = _invoke(config, "validate")
    assert code == 2
    assert f"✗ {GROUP}" in text
    assert f"breaks: {', '.join(missing['features'])}" in text
    assert "missing" in text

    samba_tool("group", "addmembers", GROUP, name)
    code, _, output = _invoke(config, "validate", "--skip-entra")
    assert code == 0, output


def _revoke_deleted_objects_access(ldap_admin: Any, samba_dc: SambaDC, account_dn: str) -> None:
    """Take the account's ACEs off CN=Deleted Objects again (as an administrator would)."""
    container = f"CN=Deleted Objects,{samba_dc.base_dn}"
    [(_, attrs)] = ldap_admin.search_s(account_dn, ldap.SCOPE_BASE, attrlist=["objectSid"])
    sid = sid_from_bytes(attrs["objectSid"][0])[0]
    descriptor = read_dacl(ldap_admin, container, show_deleted=True)
    remaining, removed = with_aces_removed(descriptor, lambda ace: ace.sid == sid)
    assert removed, "connect ad had granted the account access"
    write_dacl(ldap_admin, container, remaining, show_deleted=True)


def test_validate_names_deleted_objects_access_until_it_is_granted(
    samba_dc: SambaDC, ldap_admin: Any, tmp_path: Path, unique: Callable[[str], str]
) -> None:
    """Bound as the account, validate finds out whether it may read CN=Deleted Objects (which
    it cannot read the descriptor of) by trying, and names the feature that needs it."""
    name = unique("del")
    code, data, output = _make_account(samba_dc, tmp_path, name)
    assert code == 0, output
    setup = data["domains"][0]["setup"]
    config = _bound_as(samba_dc, tmp_path, name, setup)
    code, data, output = _invoke(config, "validate", "--skip-entra", "--json")
    assert code == 0, output
    assert any(key.endswith(f":{DELETED_OBJECTS}") for key in data["ad"][0]["satisfied"])

    _revoke_deleted_objects_access(ldap_admin, samba_dc, setup["account_dn"])
    code, data, output = _invoke(config, "validate", "--skip-entra", "--json")
    assert code == 2, output
    (ad,) = data["ad"]
    (missing,) = ad["missing"]
    assert missing["name"] == DELETED_OBJECTS
    assert missing["kind"] == Kind.AD_CONTAINER_ACCESS.value
    assert missing["features"] == ["guardian.ad.collect-changes"]
    assert f"cannot read CN=Deleted Objects,{samba_dc.base_dn}" in missing["detail"]

    code, _, output = _make_account(samba_dc, tmp_path, name)
    assert code == 0, output
    code, data, output = _invoke(config, "validate", "--skip-entra", "--json")
    assert code == 0, output
    assert any(key.endswith(f":{DELETED_OBJECTS}") for key in data["ad"][0]["satisfied"])


def test_refused_bind_unreachable_dc_and_unknown_domain(samba_dc: SambaDC, tmp_path: Path) -> None:
    # An account nobody created: a refused bind without bringing a real account near lockout.
    wrong = _config(
        samba_dc,
        tmp_path,
        bind_upn=f"nobody{uuid.uuid4().hex[:6]}@{samba_dc.realm}",
        password="env:WRONG_PASSWORD",
        name="wrong.toml",
    )
    code, data, output = _invoke(
        wrong, "validate", "--json", env={"WRONG_PASSWORD": "not-the-password"}
    )
    assert code == 1, output
    (ad,) = data["ad"]
    assert ad["bind"] == "refused"
    assert "bind refused" in ad["error"]
    assert "not-the-password" not in output

    unreachable = _config(
        samba_dc,
        tmp_path,
        bind_upn=samba_dc.admin_upn,
        password=f"env:{ADMIN_ENV}",
        name="unreachable.toml",
        port="9",
    )
    code, data, output = _invoke(
        unreachable, "validate", "--json", env={ADMIN_ENV: samba_dc.admin_password}
    )
    assert code == 4, output
    assert data["ad"][0]["bind"] == "unreachable"
    assert "no domain controller answered" in output

    code, _, output = _invoke(wrong, "validate", "--domain", "other.example")
    assert code == 3
    assert "no AD domain 'other.example'" in output
    code, _, output = _invoke(wrong, "validate", "--tenant", "prod")
    assert code == 3
    assert "no Entra tenant 'prod'" in output
    code, _, output = _invoke(wrong, "validate", "--skip-ad", "--skip-entra")
    assert code == 3
    assert "nothing to validate" in output
