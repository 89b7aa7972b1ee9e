"""Writing a DACL (``connect ad`` granting its rights, a DACL restored by a rollback) replaces
the DACL only: the object's owner, group and SACL stay as they were (the session's real Samba AD
DC, which gives a written descriptor without an owner the writer's default owner, Domain Admins,
even under an SD-flags control naming the DACL alone)."""

# ruff: noqa: F811

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ldap

from dirguard.providers.ad import directory as ad_directory
from dirguard.providers.ad.ldap_read import sd_flags_control
from dirguard.providers.ad.sd.dacl_edit import access_allowed_ace, sid_to_bytes, with_aces_added
from dirguard.providers.ad.sd.security_descriptor import parse_security_descriptor
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import unique  # noqa: F401
from tests.rollback.helpers import add_ou, add_user, read, remove_tree

OWNER_ONLY = 0x1
WITH_SACL = 0xF


def _descriptor(conn: Any, dn: str, flags: int) -> bytes:
    msgid = conn.search_ext(
        dn,
        ldap.SCOPE_BASE,
        "(objectClass=*)",
        ["nTSecurityDescriptor"],
        serverctrls=[sd_flags_control(flags)],
    )
    _t, data, _i, _c = conn.result3(msgid)
    return bytes(data[0][1]["nTSecurityDescriptor"][0])


def test_a_dacl_write_keeps_owner_group_and_sacl(
    samba_dc: SambaDC, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    ou = f"OU={unique('own')},{samba_dc.base_dn}"
    add_ou(ldap_admin, ou)
    try:
        owner_dn = f"CN=owner,{ou}"
        add_user(ldap_admin, owner_dn, unique("owner"))
        owner_sid = read(ldap_admin, owner_dn, "objectSid")["objectSid"][0]
        # The OU's owner becomes a plain user (not the writer's default owner, Domain Admins).
        header = b"\x01\x00\x00\x80" + (20).to_bytes(4, "little") + bytes(12)
        ldap_admin.modify_ext_s(
            ou,
            [(ldap.MOD_REPLACE, "nTSecurityDescriptor", [header + bytes(owner_sid)])],
            serverctrls=[sd_flags_control(OWNER_ONLY)],
        )
        before = parse_security_descriptor(_descriptor(ldap_admin, ou, WITH_SACL))
        assert sid_to_bytes(before.owner or "") == bytes(owner_sid), "precondition: owner set"

        dacl = ad_directory.read_dacl(ldap_admin, ou)
        ad_directory.write_dacl(
            ldap_admin, ou, with_aces_added(dacl, [access_allowed_ace("S-1-5-11", 0x10)])
        )

        after = parse_security_descriptor(_descriptor(ldap_admin, ou, WITH_SACL))
        assert sid_to_bytes(after.owner or "") == bytes(owner_sid), "the owner is kept"
        assert after.group == before.group
        assert after.sacl == before.sacl and after.sacl is not None
        assert (
            len(after.dacl.aces if after.dacl else [])
            == len(before.dacl.aces if before.dacl else []) + 1
        )
    finally:
        remove_tree(ldap_admin, ou)
