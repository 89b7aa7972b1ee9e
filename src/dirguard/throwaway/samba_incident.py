"""The rogue admin's bad half hour, for ``dirguard demo``: done over LDAPS bound as the rogue
account (a Domain Admin of the organisation ``samba_org`` made), as an attacker with stolen
credentials would — a user added to Domain Admins, a department's users disabled, an OU deleted
with everything in it, and an ACL changed to give the rogue full control of another OU."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

from dirguard.throwaway.samba_dc import SambaDC
from dirguard.throwaway.samba_org import NORMAL_ACCOUNT, Organisation

TREE_DELETE_OID = "1.2.840.113556.1.4.805"
"""LDAP_SERVER_TREE_DELETE_OID: delete an object with everything under it."""
GENERIC_ALL = 0x000F01FF
ACCOUNTDISABLE = 0x2


@dataclass(frozen=True, kw_only=True)
class Incident:
    """What the rogue did, for the demo to check the rollback against."""

    promoted: str
    """The user added to Domain Admins."""
    disabled: tuple[str, ...]
    deleted_ou: str
    deleted_objects: int
    acl_ou: str
    """The OU whose DACL gained an ACE granting the rogue full control."""

    def lines(self) -> list[str]:
        return [
            f"added {self.promoted} to Domain Admins",
            f"disabled the {len(self.disabled)} users of one department",
            f"deleted {self.deleted_ou} with the {self.deleted_objects - 1} objects under it",
            f"granted itself full control of {self.acl_ou}",
        ]


def _bind(dc: SambaDC, upn: str, password: str) -> Any:
    import ldap

    conn = ldap.initialize(dc.ldaps_uri)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
    conn.set_option(ldap.OPT_X_TLS_CACERTFILE, str(dc.ca_cert_path))
    conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    conn.simple_bind_s(upn, password)
    return conn


def _sid(conn: Any, dn: str) -> str:
    import ldap

    from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes

    [(_, attrs)] = conn.search_s(dn, ldap.SCOPE_BASE, attrlist=["objectSid"])
    return sid_from_bytes(attrs["objectSid"][0])[0]


def play_incident(dc: SambaDC, org: Organisation) -> Incident:
    """Do the rogue's changes, bound as the rogue."""
    import ldap
    from ldap.controls import LDAPControl

    from dirguard.providers.ad.directory import read_dacl, write_dacl
    from dirguard.providers.ad.sd.dacl_edit import access_allowed_ace, with_aces_added

    sales, support = org.departments["Sales"], org.departments["Support"]
    finance, engineering = org.departments["Finance"], org.departments["Engineering"]
    conn = _bind(dc, org.rogue_upn, org.rogue_password)
    try:
        promoted = support.users[0]
        conn.modify_s(
            f"CN=Domain Admins,CN=Users,{dc.base_dn}",
            [(ldap.MOD_ADD, "member", [promoted.encode()])],
        )
        disabled = str(NORMAL_ACCOUNT | ACCOUNTDISABLE).encode()
        for user in sales.users:
            conn.modify_s(user, [(ldap.MOD_REPLACE, "userAccountControl", [disabled])])
        under = conn.search_s(finance.ou, ldap.SCOPE_SUBTREE, "(objectClass=*)", ["1.1"])
        conn.delete_ext_s(finance.ou, serverctrls=[LDAPControl(TREE_DELETE_OID, True, None)])
        ace = access_allowed_ace(_sid(conn, org.rogue_dn), GENERIC_ALL)
        write_dacl(conn, engineering.ou, with_aces_added(read_dacl(conn, engineering.ou), [ace]))
    finally:
        with contextlib.suppress(ldap.LDAPError):
            conn.unbind_s()
    return Incident(
        promoted=promoted,
        disabled=sales.users,
        deleted_ou=finance.ou,
        deleted_objects=len([dn for dn, _ in under if dn]),
        acl_ou=engineering.ou,
    )
