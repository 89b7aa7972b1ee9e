"""A delegated set-up on the session's throwaway DC: an OU, a plain user holding write rights on
it (granted with ``samba-tool dsacl set --sddl``), and the domain SID."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ldap
import ldap.dn
import pytest

from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes
from dirguard.throwaway.samba_dc import SambaDC
from tests.who.helpers import DELEGATE_PASSWORD, bind_as, read_attribute, samba_tool


@dataclass(frozen=True)
class Delegation:
    ou_dn: str
    user: str
    user_dn: str
    user_sid: str
    domain_sid: str
    sd_before: bytes
    sd_after: bytes
    ace: str


@pytest.fixture(scope="module")
def delegation(samba_dc: SambaDC) -> Iterator[Delegation]:
    from dirguard.throwaway.samba_dc import open_ldaps

    admin = open_ldaps(samba_dc)
    tag = uuid.uuid4().hex[:8]
    ou_dn = f"OU=who-{tag},{samba_dc.base_dn}"
    user = f"deleg-{tag}"
    admin.add_s(ou_dn, [("objectClass", [b"organizationalUnit"])])
    samba_tool(samba_dc, "user", "create", user, DELEGATE_PASSWORD)
    user_dn = f"CN={user},CN=Users,{samba_dc.base_dn}"
    user_sid = sid_from_bytes(read_attribute(admin, user_dn, "objectSid"))[0]
    domain_sid = user_sid.rsplit("-", 1)[0]
    before = read_attribute(admin, ou_dn, "nTSecurityDescriptor")
    ace = f"(A;CI;CCDCLCSWRPWPDTSDRC;;;{user_sid})"
    samba_tool(samba_dc, "dsacl", "set", f"--objectdn={ou_dn}", f"--sddl={ace}")
    after = read_attribute(admin, ou_dn, "nTSecurityDescriptor")
    try:
        yield Delegation(ou_dn, user, user_dn, user_sid, domain_sid, before, after, ace)
    finally:
        found = admin.search_s(ou_dn, ldap.SCOPE_SUBTREE, "(objectClass=*)", ["1.1"])
        # Children before parents: the deepest DNs first (search order is not guaranteed).
        for dn in sorted((dn for dn, _ in found if dn), key=lambda d: -len(ldap.dn.str2dn(d))):
            admin.delete_s(dn)
        admin.delete_s(user_dn)
        admin.unbind_s()


@pytest.fixture
def delegate_conn(samba_dc: SambaDC, delegation: Delegation) -> Iterator[Any]:
    conn = bind_as(samba_dc, f"{delegation.user}@{samba_dc.realm}", DELEGATE_PASSWORD)
    try:
        yield conn
    finally:
        conn.unbind_s()
