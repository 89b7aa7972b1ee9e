"""``dirguard changes --object <name>`` finds an organizational unit by its name (its ``ou``,
the natural key the catalog declares for the type), as it finds a user by sAMAccountName — also
an OU first seen by a capture, whose DirSync entry (Samba's) carries no ``ou`` attribute: its
key is then the RDN's value."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.providers.ad.values import rdn_value
from dirguard.throwaway.samba_dc import SambaDC


@pytest.mark.parametrize(
    ("dn", "attribute", "value"),
    [
        ("OU=Sales,DC=corp,DC=example", "ou", "Sales"),
        ("ou=Sales\\, EMEA,DC=corp", "OU", "Sales, EMEA"),
        ("OU=Caf\\c3\\a9,DC=corp", "ou", "Café"),
        ("CN=Ann,OU=Sales,DC=corp", "ou", None),
        ("CN=Ann+OU=Sales,DC=corp", "cn", None),
    ],
)
def test_rdn_value(dn: str, attribute: str, value: str | None) -> None:
    assert rdn_value(dn, attribute) == value


@pytest.mark.samba
def test_changes_of_an_ou_by_its_name(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    config = tmp_path / "dirguard.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        "[[ad.domains]]\n"
        f'name = "{samba_dc.realm.lower()}"\nservers = ["{samba_dc.host}"]\n'
        f'ca_file = "{samba_dc.ca_cert_path}"\nbind_upn = "{samba_dc.admin_upn}"\n'
        'password = "env:TEST_DIRGUARD_AD_PASSWORD"\n',
        encoding="utf-8",
    )
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}

    def run(*args: str) -> Any:
        result = CliRunner().invoke(app, ["--config", str(config), *args, "--json"], env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    name = unique("byname")
    dn = f"OU={name},{samba_dc.base_dn}"
    ldap_admin.add_s(dn, [("objectClass", [b"organizationalUnit"])])
    try:
        run("snapshot", "ad")
        ldap_admin.modify_s(dn, [(ldap.MOD_REPLACE, "description", [b"renamed team"])])
        later = unique("later")
        later_dn = f"OU={later},{samba_dc.base_dn}"
        ldap_admin.add_s(later_dn, [("objectClass", [b"organizationalUnit"])])
        run("capture", "ad")
        changes = run("changes", "--object", name, "--since", "2000-01-01")["changes"]
        assert [c["attribute"] for c in changes] == ["description"], changes
        assert changes[0]["object"]["name"] == name
        created = run("changes", "--object", later, "--since", "2000-01-01")["changes"]
        assert created and all(c["object"]["name"] == later for c in created), created
        ldap_admin.delete_s(later_dn)
    finally:
        ldap_admin.delete_s(dn)
