"""Reading AD with python-ldap: paged search with security descriptors, schema syntaxes, DirSync.

* :func:`paged_search` — simple paged results (1.2.840.113556.1.4.319) with the SD-flags control
  (1.2.840.113556.1.4.801, owner + group + DACL = 7; sent non-critical because Samba answers
  "critical extension unavailable" to a critical one on search), completing ranged attributes.
* :func:`read_ahead` — the pages of a search read on a thread of their own, a few pages ahead
  of the caller (python-ldap releases the GIL while it waits for and decrypts an answer).
* :func:`read_by_guid` — one object by objectGUID, live or deleted (show-deleted control).
* :func:`read_schema` — every attributeSchema's syntax, once per connection.
* :func:`dirsync_pages` — DirSync pages until the server has no more, each with its cookie.
"""

from __future__ import annotations

import contextlib
import queue
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import ldap
from ldap.controls import LDAPControl, SimplePagedResultsControl
from pyasn1.codec.ber import encoder  # type: ignore[import-untyped]
from pyasn1.type import namedtype, univ  # type: ignore[import-untyped]

from dirguard.providers.ad.dirsync_control import (
    DIRSYNC_OID,
    LDAP_DIRSYNC_INCREMENTAL_VALUES,
    RESPONSE_CONTROLS,
    DirSyncRequestControl,
    DirSyncResponseControl,
)
from dirguard.providers.ad.values import AttributeSyntax, Schema

SD_FLAGS_OID = "1.2.840.113556.1.4.801"
SHOW_DELETED_OID = "1.2.840.113556.1.4.417"
SD_OWNER_GROUP_DACL = 0x7
PAGE_SIZE = 1000
NO_MATCH_FILTER = "(objectGUID=\\00)"
"""A filter no object matches: a DirSync with it returns no entries but a current cookie."""

Entry = tuple[str, dict[str, list[bytes]]]
_RANGE = re.compile(r"^(?P<name>[^;]+);range=(?P<low>\d+)-(?P<high>\d+|\*)$", re.IGNORECASE)


class _SdFlagsValue(univ.Sequence):  # type: ignore[misc]
    componentType = namedtype.NamedTypes(namedtype.NamedType("flags", univ.Integer()))


def sd_flags_control(flags: int = SD_OWNER_GROUP_DACL) -> LDAPControl:
    """LDAP_SERVER_SD_FLAGS_OID with its BER value ``SEQUENCE { INTEGER flags }``: which parts
    of ``nTSecurityDescriptor`` are read or written (owner, group, DACL by default: the SACL
    needs the security privilege, so a read-only account asking for it gets no descriptor).

    The value goes in python-ldap's ``encodedControlValue``: the third positional argument of
    ``LDAPControl`` is ``controlValue``, which the base class never encodes, and the control
    then went out empty (the DC treats that as every part)."""
    value = _SdFlagsValue()
    value.setComponentByName("flags", univ.Integer(flags))
    return LDAPControl(SD_FLAGS_OID, False, encodedControlValue=encoder.encode(value))


def show_deleted_control() -> LDAPControl:
    """LDAP_SERVER_SHOW_DELETED_OID: tombstones and the Deleted Objects container are found."""
    return LDAPControl(SHOW_DELETED_OID, True, None)


def deleted_objects_readable(conn: Any, naming_context: str) -> bool:
    """Whether the bound account may read the ``CN=Deleted Objects`` container of
    ``naming_context`` (its objectGUID comes back): what Samba asks before DirSync returns
    deleted objects to an account that is not an administrator."""
    try:
        found = conn.search_ext_s(
            f"CN=Deleted Objects,{naming_context}",
            ldap.SCOPE_BASE,
            "(objectClass=*)",
            ["objectGUID"],
            serverctrls=[show_deleted_control()],
        )
    except (ldap.NO_SUCH_OBJECT, ldap.INSUFFICIENT_ACCESS):
        return False
    return any(dn and attrs.get("objectGUID") for dn, attrs in found)


def _complete_ranges(conn: Any, dn: str, attrs: dict[str, list[bytes]]) -> dict[str, list[bytes]]:
    """Fetch the rest of attributes AD returned in ranges (``member;range=0-1499``)."""
    for name in [n for n in attrs if ";" in n and ";range=" in n.lower()]:
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

    Entries are taken one by one as they arrive (python-ldap turns each into Python objects while
    the server is still sending the rest of the page, rather than all of them after the page's
    last one), and the next page is asked for as soon as a page is complete, before the caller
    processes it, so the server prepares page n+1 while the caller stores page n (an abandoned
    iteration abandons the outstanding request)."""

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
            data: list[tuple[str | None, Any]] = []
            while True:  # entry by entry, converted while the server still sends the page
                rtype, got, _msgid, controls = conn.result3(pending, all=0)
                if rtype == ldap.RES_SEARCH_RESULT:
                    break
                data.extend(got)
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


T = TypeVar("T")


def read_ahead(produce: Callable[[], Iterator[T]], depth: int = 4) -> Iterator[T]:
    """The items of ``produce()``, which runs on a reader thread up to ``depth`` items ahead.

    The reader's exception is raised here, where the items are consumed. Leaving the iteration
    early (an error or interrupt in the caller) stops the reader after the answer it is waiting
    for and closes its iterator (a paged search then abandons its outstanding request)."""
    items: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> None:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def run() -> None:
        try:
            iterator = produce()
            try:
                for item in iterator:
                    if stop.is_set():
                        return
                    put(("item", item))
            finally:
                close = getattr(iterator, "close", None)
                if close is not None:
                    close()
        except BaseException as error:  # handed to the consumer, raised there
            put(("error", error))
        else:
            put(("done", None))

    reader = threading.Thread(target=run, name="ldap-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        reader.join(timeout=60)  # it ends after the answer it waits for; a hung one is a daemon


def read_by_guid(
    conn: Any, guid: str, *, attributes: tuple[str, ...] = ("*", "nTSecurityDescriptor")
) -> Entry | None:
    """The object whose objectGUID is ``guid`` (text form), live or a tombstone (the
    show-deleted control); ``None`` when the directory holds no such object any more."""
    controls = [show_deleted_control(), sd_flags_control()]
    try:
        found = conn.search_ext_s(
            f"<GUID={guid}>",
            ldap.SCOPE_BASE,
            "(objectClass=*)",
            list(attributes),
            serverctrls=controls,
        )
    except ldap.NO_SUCH_OBJECT:
        return None
    for dn, attrs in found:
        if dn:
            return dn, _complete_ranges(conn, dn, attrs)
    return None


def read_schema(conn: Any, schema_dn: str) -> Schema:
    """Syntax, single-valuedness and link id of every attribute in the schema partition."""
    attributes: list[AttributeSyntax] = []
    for entries in paged_search(
        conn,
        schema_dn,
        ldap_filter="(objectClass=attributeSchema)",
        attributes=(
            "lDAPDisplayName",
            "attributeSyntax",
            "isSingleValued",
            "linkID",
            "attributeID",
            "msDS-IntId",
        ),
    ):
        for _dn, attrs in entries:
            link = attrs.get("linkID")
            oid, int_id = attrs.get("attributeID"), attrs.get("msDS-IntId")
            attributes.append(
                AttributeSyntax(
                    name=attrs["lDAPDisplayName"][0].decode("utf-8"),
                    syntax=attrs["attributeSyntax"][0].decode("ascii"),
                    single_valued=attrs.get("isSingleValued", [b"FALSE"])[0] == b"TRUE",
                    link_id=int(link[0]) if link else None,
                    attribute_id=oid[0].decode("ascii") if oid else None,
                    int_id=int(int_id[0]) & 0xFFFFFFFF if int_id else None,
                )
            )
    return Schema(attributes)


@dataclass(frozen=True, kw_only=True)
class DirSyncPage:
    entries: list[Entry]
    cookie: bytes
    more: bool


SECURITY_DESCRIPTOR = "nTSecurityDescriptor"


def with_readable_descriptor(conn: Any, dn: str, attrs: dict[str, list[bytes]]) -> Entry:
    """A DirSync entry whose security descriptor changed, with the descriptor as a plain search
    under the SD-flags control reads it (owner, group, DACL).

    DirSync says *that* ``nTSecurityDescriptor`` changed but answers it with Samba's own SD
    flags: a read-only account (no security privilege) gets the attribute with no value, which
    reads as "removed", and an administrator gets the SACL too, which a snapshot does not read.
    Reading it again keeps every stored descriptor to the same parts, whoever is bound."""
    if SECURITY_DESCRIPTOR not in attrs or not attrs.get("objectGUID"):
        return dn, attrs
    guid = str(uuid.UUID(bytes_le=bytes(attrs["objectGUID"][0])))
    found = read_by_guid(conn, guid, attributes=(SECURITY_DESCRIPTOR,))
    descriptor = found[1].get(SECURITY_DESCRIPTOR) if found else None
    if not descriptor:
        return dn, attrs
    return dn, {**attrs, SECURITY_DESCRIPTOR: descriptor}


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
            entries=[with_readable_descriptor(conn, dn, attrs) for dn, attrs in data if dn],
            cookie=answer.cookie or cookie,
            more=answer.more_results,
        )
        if not answer.more_results:
            return
        cookie = answer.cookie
