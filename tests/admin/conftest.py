"""Fixtures of the Administrator tests: a small organisation on the session's DC (two OUs with a
user each, a group) and the Administrator AD account, a member of Account Operators."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import ldap
import pytest

from dirguard.providers.ad.passwords import complex_password, unicode_pwd
from dirguard.throwaway.samba_dc import SambaDC


def _add_user(conn: Any, dn: str, name: str, **extra: bytes) -> None:
    attrs = [
        ("objectClass", [b"user"]),
        ("sAMAccountName", [name.encode()]),
        ("unicodePwd", [unicode_pwd(complex_password())]),
        ("userAccountControl", [b"512"]),
        *((k, [v]) for k, v in extra.items()),
    ]
    conn.add_s(dn, attrs)


@pytest.fixture
def org(ldap_admin: Any, samba_dc: SambaDC) -> Iterator[dict[str, str]]:
    """Two OUs with a user each, a group in the first, and the Administrator account."""
    token = uuid.uuid4().hex[:6]
    base = samba_dc.base_dn
    top = f"OU=Staff{token},{base}"
    names = {
        "top": top,
        "sales": f"OU=Sales,{top}",
        "finance": f"OU=Finance,{top}",
        "bob": f"CN=bob{token},OU=Sales,{top}",
        "fred": f"CN=fred{token},OU=Finance,{top}",
        "group": f"CN=sales{token},OU=Sales,{top}",
        "token": token,
    }
    for ou in (top, names["sales"], names["finance"]):
        ldap_admin.add_s(ou, [("objectClass", [b"organizationalUnit"])])
    _add_user(ldap_admin, names["bob"], f"bob{token}", department=b"Sales")
    _add_user(ldap_admin, names["fred"], f"fred{token}")
    ldap_admin.add_s(
        names["group"],
        [("objectClass", [b"group"]), ("sAMAccountName", [f"sales{token}".encode()])],
    )
    admin = f"svcadm{token}"
    names["admin_upn"] = f"{admin}@{samba_dc.realm.lower()}"
    names["admin_password"] = complex_password()
    admin_dn = f"CN={admin},CN=Users,{base}"
    ldap_admin.add_s(
        admin_dn,
        [
            ("objectClass", [b"user"]),
            ("sAMAccountName", [admin.encode()]),
            ("userPrincipalName", [names["admin_upn"].encode()]),
            ("unicodePwd", [unicode_pwd(names["admin_password"])]),
            ("userAccountControl", [b"66048"]),
        ],
    )
    ldap_admin.modify_s(
        f"CN=Account Operators,CN=Builtin,{base}", [(ldap.MOD_ADD, "member", [admin_dn.encode()])]
    )
    yield names
