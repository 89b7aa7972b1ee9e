"""Small LDAP look-ups the AD account setup and check share: SIDs, tokens, groups, accounts, the
domain head's DACL and the forest's domains.

Every function takes a bound python-ldap connection (``AdConnection.ldap``); searches of a
subtree drop the referrals AD appends to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ldap
from ldap.filter import escape_filter_chars

from dirguard.providers.ad.connection import NamingContexts
from dirguard.providers.ad.ldap_read import sd_flags_control, show_deleted_control
from dirguard.providers.ad.sd.dacl_edit import (
    DACL_SECURITY_INFORMATION,
    GROUP_SECURITY_INFORMATION,
    OWNER_SECURITY_INFORMATION,
    owner_descriptor,
    sid_to_bytes,
    with_owner_and_group,
)
from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes
from dirguard.providers.ad.setup.account_grants import GroupIdentity

Attrs = dict[str, list[bytes]]
FLAG_CR_NTDS_DOMAIN = 0x2


@dataclass(frozen=True, kw_only=True)
class DirectoryObject:
    dn: str
    sid: str
    name: str
    """sAMAccountName."""
    object_classes: tuple[str, ...] = ()


def _search(
    conn: Any, base: str, scope: int, flt: str, attrs: list[str]
) -> list[tuple[str, Attrs]]:
    try:
        found = conn.search_s(base, scope, flt, attrs)
    except ldap.NO_SUCH_OBJECT:
        return []
    return [(dn, a) for dn, a in found if dn]


def _text(attrs: Attrs, name: str, default: str = "") -> str:
    values = attrs.get(name)
    return bytes(values[0]).decode("utf-8") if values else default


def object_sid(conn: Any, dn: str) -> str:
    found = _search(conn, dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectSid"])
    if not found or "objectSid" not in found[0][1]:
        raise LookupError(f"{dn} has no objectSid")
    return sid_from_bytes(found[0][1]["objectSid"][0])[0]


def root_domain_dn(conn: Any, contexts: NamingContexts) -> str:
    found = conn.search_s("", ldap.SCOPE_BASE, "(objectClass=*)", ["rootDomainNamingContext"])
    return _text(found[0][1], "rootDomainNamingContext", contexts.default)


def root_domain_sid(conn: Any, contexts: NamingContexts, domain_sid: str) -> str:
    """The forest root domain's SID (Enterprise and Schema Admins live there)."""
    root = root_domain_dn(conn, contexts)
    if root.lower() == contexts.default.lower():
        return domain_sid
    return object_sid(conn, root)


def sid_filter(sid: str) -> str:
    return "(objectSid=" + "".join(f"\\{b:02x}" for b in sid_to_bytes(sid)) + ")"


def _object(dn: str, attrs: Attrs) -> DirectoryObject:
    return DirectoryObject(
        dn=dn,
        sid=sid_from_bytes(attrs["objectSid"][0])[0],
        name=_text(attrs, "sAMAccountName"),
        object_classes=tuple(v.decode("utf-8") for v in attrs.get("objectClass", [])),
    )


_OBJECT_ATTRS = ["objectSid", "sAMAccountName", "objectClass"]


def find_group(
    conn: Any, base: str, identity: GroupIdentity, domain_sid: str, root_sid: str
) -> DirectoryObject | None:
    """The group in the domain under ``base``: by well-known SID, else by name."""
    sid = identity.sid_in(domain_sid, root_sid)
    flt = (
        f"(&(objectClass=group){sid_filter(sid)})"
        if sid
        else f"(&(objectClass=group)(sAMAccountName={escape_filter_chars(identity.name)}))"
    )
    found = _search(conn, base, ldap.SCOPE_SUBTREE, flt, _OBJECT_ATTRS)
    return _object(*found[0]) if found else None


def find_account(conn: Any, base: str, name: str) -> DirectoryObject | None:
    """A user, computer or gMSA by sAMAccountName (with or without the trailing ``$``) or UPN."""
    plain = name.removesuffix("$")
    flt = (
        f"(userPrincipalName={escape_filter_chars(name)})"
        if "@" in name
        else f"(|(sAMAccountName={escape_filter_chars(plain)})"
        f"(sAMAccountName={escape_filter_chars(plain)}$))"
    )
    found = _search(conn, base, ldap.SCOPE_SUBTREE, f"(&(objectClass=user){flt})", _OBJECT_ATTRS)
    return _object(*found[0]) if found else None


def whoami(conn: Any, base: str, bind_upn: str | None = None) -> DirectoryObject:
    """The bound identity: LDAP "Who am I?" (``u:DOMAIN\\name``) where the server offers it
    (Samba 4.17 does not), else the bind UPN (by userPrincipalName, then its name part)."""
    names: list[str] = []
    try:
        identity = str(conn.whoami_s() or "")
        names.append(identity.removeprefix("u:").rpartition("\\")[2])
    except ldap.LDAPError:
        identity = ""
    if bind_upn:
        names += [bind_upn, bind_upn.partition("@")[0]]
    for name in filter(None, names):
        account = find_account(conn, base, name)
        if account is not None:
            return account
    raise LookupError(
        f"the bound identity ({identity or bind_upn or 'unknown'}) was not found under {base}"
    )


def token_sids(conn: Any, dn: str) -> frozenset[str]:
    """The object's own SID and every group SID in its token (nested groups, primary group and
    builtin groups included): what the DC evaluates access with."""
    found = _search(conn, dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectSid", "tokenGroups"])
    if not found:
        raise LookupError(f"{dn} was not found")
    attrs = found[0][1]
    sids = {sid_from_bytes(attrs["objectSid"][0])[0]}
    sids.update(sid_from_bytes(value)[0] for value in attrs.get("tokenGroups", []))
    return frozenset(sids)


def _controls(flags: int, show_deleted: bool) -> list[Any]:
    return [sd_flags_control(flags), *([show_deleted_control()] if show_deleted else [])]


def read_dacl(conn: Any, dn: str, *, show_deleted: bool = False) -> bytes:
    """``dn``'s nTSecurityDescriptor with its DACL (owner, group and SACL not asked for).
    ``show_deleted``: ``dn`` is the Deleted Objects container or under it."""
    msgid = conn.search_ext(
        dn,
        ldap.SCOPE_BASE,
        "(objectClass=*)",
        ["nTSecurityDescriptor"],
        serverctrls=_controls(DACL_SECURITY_INFORMATION, show_deleted),
    )
    _type, data, _id, _ctrls = conn.result3(msgid)
    values = data[0][1].get("nTSecurityDescriptor") if data else None
    if not values:
        raise LookupError(f"the security descriptor of {dn} could not be read")
    return bytes(values[0])


def write_dacl(conn: Any, dn: str, descriptor: bytes, *, show_deleted: bool = False) -> None:
    """Replace ``dn``'s DACL (only the DACL: the SD-flags control says so); the live owner and
    group are written along so that Samba keeps them (see ``with_owner_and_group``)."""
    msgid = conn.search_ext(
        dn,
        ldap.SCOPE_BASE,
        "(objectClass=*)",
        ["nTSecurityDescriptor"],
        serverctrls=_controls(
            OWNER_SECURITY_INFORMATION | GROUP_SECURITY_INFORMATION, show_deleted
        ),
    )
    _type, data, _id, _ctrls = conn.result3(msgid)
    live = (data[0][1].get("nTSecurityDescriptor") if data else None) or []
    if live:
        descriptor = with_owner_and_group(descriptor, bytes(live[0]))
    conn.modify_ext_s(
        dn,
        [(ldap.MOD_REPLACE, "nTSecurityDescriptor", [descriptor])],
        serverctrls=_controls(DACL_SECURITY_INFORMATION, show_deleted),
    )


def take_ownership(conn: Any, dn: str, owner_sid: str, *, show_deleted: bool = False) -> None:
    """Make ``owner_sid`` the owner of ``dn`` (only the owner is written), as ``dsacls
    /takeownership`` does: the owner may then read and write the DACL. Windows lets an
    administrator do it (SeTakeOwnershipPrivilege), and so does Samba under the SD-flags
    control naming the owner alone."""
    conn.modify_ext_s(
        dn,
        [(ldap.MOD_REPLACE, "nTSecurityDescriptor", [owner_descriptor(owner_sid)])],
        serverctrls=_controls(OWNER_SECURITY_INFORMATION, show_deleted),
    )


@dataclass(frozen=True, kw_only=True)
class ForestDomain:
    dns_name: str
    naming_context: str


def forest_domains(conn: Any, contexts: NamingContexts) -> tuple[ForestDomain, ...]:
    """Every domain of the forest: the crossRef objects in CN=Partitions that name a domain."""
    found = _search(
        conn,
        f"CN=Partitions,{contexts.configuration}",
        ldap.SCOPE_ONELEVEL,
        "(objectClass=crossRef)",
        ["nCName", "dnsRoot", "systemFlags"],
    )
    domains = [
        ForestDomain(dns_name=_text(a, "dnsRoot").lower(), naming_context=_text(a, "nCName"))
        for _dn, a in found
        if int(_text(a, "systemFlags", "0")) & FLAG_CR_NTDS_DOMAIN
    ]
    return tuple(sorted(domains, key=lambda d: d.naming_context != contexts.default))
