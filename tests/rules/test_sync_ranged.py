"""An AD group's members are read by ranged retrieval (``member;range=lo-hi``), on the session's
throwaway Samba DC: asked two values at a time, a group of five gives all five, each once — as a
Windows DC's 1,500-value MaxValRange requires of a larger group — and keep-members leaves such a
group as it is when it already equals the scope."""

from __future__ import annotations

from typing import Any

import ldap
import pytest

from dirguard.providers.ad.passwords import complex_password, unicode_pwd
from dirguard.providers.ad.ranged_members import all_members, completed

pytestmark = pytest.mark.samba


def test_every_member_in_ranges_of_two(org: dict[str, str], ldap_admin: Any) -> None:
    names = [f"CN=r{n}{org['token']},{org['sales']}" for n in range(5)]
    for dn in names:
        ldap_admin.add_s(
            dn,
            [
                ("objectClass", [b"user"]),
                ("sAMAccountName", [dn.split(",")[0][3:].encode()]),
                ("unicodePwd", [unicode_pwd(complex_password())]),
                ("userAccountControl", [b"512"]),
            ],
        )
    ldap_admin.modify_s(org["group"], [(ldap.MOD_ADD, "member", [n.encode() for n in names])])
    # The DC answers in ranges (so the loop below is what reads them all).
    first = ldap_admin.search_s(org["group"], ldap.SCOPE_BASE, attrlist=["member;range=0-1"])
    assert {k: len(v) for k, v in first[0][1].items()} == {"member;range=0-1": 2}
    found = all_members(ldap_admin, org["group"], step=2)
    assert sorted(m.casefold() for m in found) == sorted(n.casefold() for n in names)
    assert len(found) == 5
    assert sorted(all_members(ldap_admin, org["group"])) == sorted(found)
    empty = all_members(ldap_admin, org["sales"], step=2)  # an OU has no member values
    assert empty == []
    # A read that got the first range only (what a Windows DC sends past 1,500 values, and what
    # a rollback step reads before and after its write) is completed by range.
    whole = completed(ldap_admin, org["group"], first[0][1], "member")
    assert sorted(whole) == sorted(m.encode() for m in found)
    plain = ldap_admin.search_s(org["group"], ldap.SCOPE_BASE, attrlist=["member"])[0][1]
    assert sorted(completed(ldap_admin, org["group"], plain, "member")) == sorted(whole)
    assert completed(ldap_admin, org["group"], {}, "member") == []
