"""Reading AD with python-ldap: paged search with security descriptors, schema syntaxes, DirSync.

* :func:`paged_search` — simple paged results (1.2.840.113556.1.4.319) with the SD-flags control
  (1.2.840.113556.1.4.801, owner + group + DACL = 7; sent non-critical because Samba answers
  "critical extension unavailable" to a critical one on search), completing ranged attributes.
* :func:`read_schema` — every attributeSchema's syntax, once per connection.
* :func:`dirsync_pages` — DirSync pages until the server has no more, each with its cookie.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ldap
from ldap.controls import LDAPControl, SimplePagedResultsControl
from pyasn1.codec.ber import encoder  # type: ignore[import-untyped]
from pyasn1.type import namedtype, univ  # type: ignore[import-untyped]

from dirguard.connectors.ad.dirsync_control import (
    DIRSYNC_OID,
    LDAP_DIRSYNC_INCREMENTAL_VALUES,
    RESPONSE_CONTROLS,
    DirSyncRequestControl,
    DirSyncResponseControl,
)
from dirguard.core.ad_values import AttributeSyntax, Schema

SD_FLAGS_OID = "1.2.840.113556.1.4.801"
SD_OWNER_GROUP_DACL = 0x7
PAGE_SIZE = 1000
NO_MATCH_FILTER = "(objectGUID=\\00)"
"""A filter no object matches: a DirSync with it returns no entries but a current cookie."""

Entry = tuple[str, dict[str, list[bytes]]]
_RANGE = re.compile(r"^(?P<name>[^;]+);range=(?P<low>\d+)-(?P<high>\d+|\*)$", re.IGNORECASE)


class _SdFlagsValue(univ.Sequence):  # type: ignore[misc]
    componentType = namedtype.NamedTypes(namedtype.NamedType("flags", univ.Integer()))


def sd_flags_control(flags: int = SD_OWNER_GROUP_DACL) -> LDAPControl:
    value = _SdFlagsValue()
    value.setComponentByName("flags", univ.Integer(flags))
    return LDAPControl(SD_FLAGS_OID, False, encoder.encode(value))


def _complete_ranges(conn: Any, dn: str, attrs: dict[str, list[bytes]]) -> dict[str, list[bytes]]:
    """Fetch the rest of attributes AD returned in ranges (``member;range=0-1499``)."""
    for name in [n for n in attrs if ";range=" in n.lower()]:
        match = _RANGE.match(name)
        if match is None:
            continue
        base, values = match["name"], list(attrs.pop(name))
        high = match["high"]
        while high != "*":
            start = int(high) + 1
            result = conn.search_s(
                dn, ldap.SCOPE_BASE, "(objectClass=*)", [f"{base};range={start}-*"]
            )
            got = result[0][1] if result else {}
            if not got:
                break
            ((next_name, more),) = got.items()
            values.extend(more)
            next_match = _RANGE.match(next_name)
            high = "*" if next_match is None else next_match["high"]
        attrs[base] = values
    return attrs


def paged_search(
    conn: Any,
    base: str,
    *,
    ldap_filter: str = "(objectClass=*)",
    attributes: tuple[str, ...] = ("*", "nTSecurityDescriptor"),
    page_size: int = PAGE_SIZE,
) -> Iterator[list[Entry]]:
    """Pages of ``(dn, attributes)`` of the subtree under ``base`` (referrals left out).

    The next page is asked for as soon as a page has arrived, before the caller processes it, so
    the server prepares page n+1 while the caller stores page n (an abandoned iteration abandons
    the outstanding request)."""

    def request(cookie: bytes) -> int:
        page = SimplePagedResultsControl(True, size=page_size, cookie=cookie)
        msgid: int = conn.search_ext(
            base,
            ldap.SCOPE_SUBTREE,
            ldap_filter,
            list(attributes),
            serverctrls=[page, sd_flags_control()],
        )
        return msgid

    pending: int | None = request(b"")
    try:
        while pending is not None:
            _rtype, data, _msgid, controls = conn.result3(pending)
            pending = None
            cookies = [
                c.cookie for c in controls if c.controlType == SimplePagedResultsControl.controlType
            ]
            if cookies and cookies[0]:
                pending = request(cookies[0])
            yield [(dn, _complete_ranges(conn, dn, attrs)) for dn, attrs in data if dn]
    finally:
        if pending is not None:
            with contextlib.suppress(ldap.LDAPError):
                conn.abandon(pending)


def read_schema(conn: Any, schema_dn: str) -> Schema:
    """Syntax, single-valuedness and link id of every attribute in the schema partition."""
    attributes: list[AttributeSyntax] = []
    for entries in paged_search(
        conn,
        schema_dn,
        ldap_filter="(objectClass=attributeSchema)",
        attributes=("lDAPDisplayName", "attributeSyntax", "isSingleValued", "linkID"),
    ):
        for _dn, attrs in entries:
            link = attrs.get("linkID")
            attributes.append(
                AttributeSyntax(
                    name=attrs["lDAPDisplayName"][0].decode("utf-8"),
                    syntax=attrs["attributeSyntax"][0].decode("ascii"),
                    single_valued=attrs.get("isSingleValued", [b"FALSE"])[0] == b"TRUE",
                    link_id=int(link[0]) if link else None,
                )
            )
    return Schema(attributes)


@dataclass(frozen=True, kw_only=True)
class DirSyncPage:
    entries: list[Entry]
    cookie: bytes
    more: bool


def dirsync_pages(
    conn: Any,
    base: str,
    cookie: bytes,
    *,
    ldap_filter: str = "(objectClass=*)",
    flags: int = LDAP_DIRSYNC_INCREMENTAL_VALUES,
    max_bytes: int = 1_048_576,
) -> Iterator[DirSyncPage]:
    """DirSync answers from ``cookie`` on (empty: from the beginning), while the server says
    there is more. The caller stores each page's cookie with what it made of the page."""
    while True:
        control = DirSyncRequestControl(cookie=cookie, flags=flags, max_bytes=max_bytes)
        msgid = conn.search_ext(base, ldap.SCOPE_SUBTREE, ldap_filter, None, serverctrls=[control])
        _rtype, data, _msgid, controls = conn.result3(msgid, resp_ctrl_classes=RESPONSE_CONTROLS)
        answers = [c for c in controls if isinstance(c, DirSyncResponseControl)]
        if not answers:
            raise ldap.PROTOCOL_ERROR(
                {"desc": f"the server answered a DirSync search without the {DIRSYNC_OID} control"}
            )
        answer = answers[0]
        yield DirSyncPage(
            entries=[(dn, attrs) for dn, attrs in data if dn],
            cookie=answer.cookie or cookie,
            more=answer.more_results,
        )
        if not answer.more_results:
            return
        cookie = answer.cookie
