"""``dirguard changes --object <name>`` finds an organizational unit by its name (its ``ou``,
the natural key the catalog declares for the type), as it finds a user by sAMAccountName — also
an OU first seen by a capture, whose DirSync entry (Samba's) carries no ``ou`` attribute: its
key is then the RDN's value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ldap
import pytest

from dirguard.providers.ad.values import rdn_value
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import Run


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
    samba_dc: SambaDC, dirguard: Run, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    run = dirguard
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
