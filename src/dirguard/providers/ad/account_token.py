"""The bound account as the DC sees it: its own object, its token's groups, and group membership
writes for just-in-time elevation.

The token is read from the account's own object (``tokenGroups``, a constructed attribute the
DC computes from every group the account is in, nested ones included) and each SID is resolved
to the group's ``sAMAccountName``. The naming contexts come from the rootDSE (``namingContexts``
beside the default, configuration and schema contexts), so application partitions are known.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import ldap
import ldap.filter

from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.errors import ldap_error_text
from dirguard.providers.ad.plan.partition_rights import HeldGroup, PartitionBases
from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes


class AccountTokenError(Exception):
    """The account's own object or its groups could not be read; the message says why."""


@dataclass(frozen=True, kw_only=True)
class BoundAccount:
    """The account a connection is bound as, and the groups in its token."""

    name: str
    """The user principal name the connection is bound with."""
    dn: str
    sid: str
    groups: tuple[HeldGroup, ...]


def _text(attributes: dict[str, list[bytes]], name: str) -> str | None:
    for key, values in attributes.items():
        if key.lower() == name.lower() and values:
            return bytes(values[0]).decode("utf-8")
    return None


def _entries(found: Any) -> list[tuple[str, dict[str, list[bytes]]]]:
    return [(dn, attrs) for dn, attrs in found if dn and isinstance(attrs, dict)]


def partition_bases(conn: AdConnection) -> PartitionBases:
    """The naming contexts of the DC ``conn`` is bound to."""
    found = conn.ldap.search_s("", ldap.SCOPE_BASE, "(objectClass=*)", ["namingContexts"])
    contexts = [bytes(v).decode("utf-8") for v in found[0][1].get("namingContexts", [])]
    own = {c.lower() for c in (conn.contexts.default, conn.contexts.configuration)}
    own.add(conn.contexts.schema.lower())
    return PartitionBases(
        domain=conn.contexts.default,
        configuration=conn.contexts.configuration,
        schema=conn.contexts.schema,
        applications=tuple(c for c in contexts if c.lower() not in own),
    )


def _own_entry(conn: AdConnection, upn: str) -> tuple[str, dict[str, list[bytes]]]:
    """``(dn, attributes)`` of the bound account, found by its user principal name."""
    try:
        dn = find_account(conn, upn)
        found = _entries(
            conn.ldap.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectSid", "tokenGroups"])
        )
    except ldap.LDAPError as error:
        raise AccountTokenError(
            f"reading {upn}'s own object failed: {ldap_error_text(error)}"
        ) from None
    if len(found) != 1:
        raise AccountTokenError(f"found {len(found)} objects for {upn}, expected one")
    return found[0]


def _group_name(conn: AdConnection, sid: str) -> str:
    try:
        found = _entries(
            conn.ldap.search_s(
                f"<SID={sid}>", ldap.SCOPE_BASE, "(objectClass=*)", ["sAMAccountName", "cn"]
            )
        )
    except ldap.LDAPError:  # not resolvable (a foreign or deleted SID): keep the SID
        found = []
    for _dn, attributes in found:
        name = _text(attributes, "sAMAccountName") or _text(attributes, "cn")
        if name:
            return name
    return sid


def bound_account(conn: AdConnection, upn: str) -> BoundAccount:
    """The account ``upn`` (the one ``conn`` is bound as) with the groups its token holds, each
    SID resolved to a name."""
    dn, attributes = _own_entry(conn, upn)
    raw_sid = next((v for k, v in attributes.items() if k.lower() == "objectsid"), [])
    sid = sid_from_bytes(bytes(raw_sid[0]))[0] if raw_sid else ""
    tokens = next((v for k, v in attributes.items() if k.lower() == "tokengroups"), [])
    groups = []
    for raw in tokens:
        group_sid = sid_from_bytes(bytes(raw))[0]
        groups.append(HeldGroup(name=_group_name(conn, group_sid), sid=group_sid))
    return BoundAccount(name=upn, dn=dn, sid=sid, groups=tuple(groups))


def find_group(conn: AdConnection, name: str) -> str:
    """The DN of the group named ``name`` (its sAMAccountName) in the domain."""
    wanted = f"(&(objectClass=group)(sAMAccountName={ldap.filter.escape_filter_chars(name)}))"
    found = _entries(conn.ldap.search_s(conn.contexts.default, ldap.SCOPE_SUBTREE, wanted, ["1.1"]))
    if len(found) != 1:
        raise AccountTokenError(f"found {len(found)} groups named {name!r}, expected one")
    return found[0][0]


def find_account(conn: AdConnection, upn: str) -> str:
    """The DN of the account whose user principal name is ``upn`` (or, when no object carries
    that UPN, whose sAMAccountName is its part before the ``@``: the implicit UPN)."""
    for attribute, value in (("userPrincipalName", upn), ("sAMAccountName", upn.split("@")[0])):
        wanted = f"(&(objectClass=user)({attribute}={ldap.filter.escape_filter_chars(value)}))"
        found = _entries(
            conn.ldap.search_s(conn.contexts.default, ldap.SCOPE_SUBTREE, wanted, ["1.1"])
        )
        if len(found) == 1:
            return found[0][0]
    raise AccountTokenError(f"no single account with the user principal name {upn}")


def is_member(conn: AdConnection, group_dn: str, member_dn: str) -> bool:
    escaped = ldap.filter.escape_filter_chars(member_dn)
    found = _entries(conn.ldap.search_s(group_dn, ldap.SCOPE_BASE, f"(member={escaped})", ["1.1"]))
    return bool(found)


def add_member(conn: AdConnection, group_dn: str, member_dn: str) -> None:
    conn.ldap.modify_s(group_dn, [(ldap.MOD_ADD, "member", [member_dn.encode("utf-8")])])


def remove_member(conn: AdConnection, group_dn: str, member_dn: str) -> bool:
    """Remove ``member_dn`` from the group; ``False`` when it was not a member."""
    try:
        conn.ldap.modify_s(group_dn, [(ldap.MOD_DELETE, "member", [member_dn.encode("utf-8")])])
    except (ldap.NO_SUCH_ATTRIBUTE, ldap.UNWILLING_TO_PERFORM):
        if is_member(conn, group_dn, member_dn):
            raise
        return False
    return True
