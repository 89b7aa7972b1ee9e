"""Normalizing LDAP attribute values of Active Directory objects (pure: no I/O).

A normalized object is a ``dict`` from attribute name (the schema's ``lDAPDisplayName`` spelling)
to a list of values: ``bytes`` for attributes whose schema syntax is binary (octet string, SID,
security descriptor — decided by ``attributeSyntax`` read from the schema, never by looking at the
content), ``str`` for everything else. Binary values are kept exactly as the server sent them.

DN values are stored without the extended-DN prefix (``<GUID=…>;<SID=…>;``) that DirSync adds,
so a paged search and a DirSync answer of the same state compare equal. Back links (``memberOf``,
``directReports``: odd ``linkID``) are left out: AD computes them from forward links, does not
replicate them (DirSync never reports them) and the forward link on the other object records
the same fact.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dirguard.catalog.resource_type import LdapSource, Partition, ResourceType, select_type

BINARY_SYNTAXES = frozenset({"2.5.5.10", "2.5.5.15", "2.5.5.17"})
"""Octet string (objectGUID, thumbnailPhoto, userCertificate…), NT security descriptor, SID."""
DN_SYNTAX = "2.5.5.1"
_BYTES, _TEXT, _DN = 0, 1, 2
_UNPLANNED: Any = object()
"""Marks a spelling :meth:`Schema.plan` has not seen yet."""
"""How :meth:`Schema.plan` says an attribute's values are normalized."""

DN_ATTRIBUTE = "distinguishedName"
DELETION_MARKERS = frozenset({"isDeleted", "isRecycled", "lastKnownParent"})
"""What a deletion sets on the tombstone."""
DROPPED_ATTRIBUTES = frozenset({"parentGUID"})
"""Constructed attributes DirSync adds that a paged search of ``*`` does not return."""

Value = str | bytes
Content = dict[str, list[Value]]

_EXTENDED_DN = re.compile(r"^(<[A-Za-z]+=[^>]*>;)+")
_RANGE = re.compile(r"^(?P<name>[^;]+);range=(?P<low>\d+)-(?P<high>\d+|\*)$", re.IGNORECASE)


@dataclass(frozen=True, kw_only=True)
class AttributeSyntax:
    """What the schema says about one attribute."""

    name: str
    syntax: str
    single_valued: bool = False
    link_id: int | None = None
    attribute_id: str | None = None
    """The attribute's OID (``attributeID``); with ``int_id`` it names the attribute in
    replication metadata (:mod:`dirguard.providers.ad.repl_metadata`)."""
    int_id: int | None = None
    """``msDS-IntId``, where the schema sets one."""

    @property
    def binary(self) -> bool:
        return self.syntax in BINARY_SYNTAXES

    @property
    def forward_link(self) -> bool:
        return self.link_id is not None and self.link_id % 2 == 0

    @property
    def back_link(self) -> bool:
        return self.link_id is not None and self.link_id % 2 == 1


class Schema:
    """Attribute syntaxes by name (case-insensitive), read once from the schema partition.

    An attribute the schema does not list is kept as ``bytes`` (exact, never guessed)."""

    def __init__(self, attributes: Iterable[AttributeSyntax]) -> None:
        self._by_lower = {a.name.lower(): a for a in attributes}
        self._plans: dict[str, tuple[str, int] | None] = {}

    def plan(self, name: str) -> tuple[str, int] | None:
        """How a paged search's attribute ``name`` (exact spelling) is normalized, cached per
        spelling: ``(stored name, _BYTES | _TEXT | _DN)``, or ``None`` for a back link or a
        dropped attribute (left out)."""
        try:
            return self._plans[name]
        except KeyError:
            pass
        syntax = self.get(name)
        plan: tuple[str, int] | None
        if syntax.back_link or name in DROPPED_ATTRIBUTES:
            plan = None
        elif syntax.syntax == "unknown":
            plan = (name, _BYTES)
        elif syntax.binary:
            plan = (syntax.name, _BYTES)
        else:
            plan = (syntax.name, _DN if syntax.syntax == DN_SYNTAX else _TEXT)
        if ";" not in name or parse_ranged(name) is None:  # normalize_entry refuses ranged ones
            self._plans[name] = plan
        return plan

    def __len__(self) -> int:
        return len(self._by_lower)

    def attributes(self) -> Iterable[AttributeSyntax]:
        return self._by_lower.values()

    def get(self, name: str) -> AttributeSyntax:
        known = self._by_lower.get(name.lower())
        if known is not None:
            return known
        return AttributeSyntax(name=name, syntax="unknown")

    def is_binary(self, name: str) -> bool:
        found = self._by_lower.get(name.lower())
        return found is None or found.binary

    def single_valued(self, name: str) -> bool:
        return self.get(name).single_valued


@dataclass(frozen=True, kw_only=True)
class RangedName:
    """``member;range=1-1`` split up; DirSync incremental values: 1-1 added, 0-0 removed."""

    name: str
    low: int
    high: int | None


def parse_ranged(name: str) -> RangedName | None:
    match = _RANGE.match(name)
    if match is None:
        return None
    high = match["high"]
    return RangedName(
        name=match["name"], low=int(match["low"]), high=None if high == "*" else int(high)
    )


def strip_extended_dn(value: str) -> str:
    return _EXTENDED_DN.sub("", value)


def normalize_values(schema: Schema, name: str, raw: Iterable[bytes]) -> list[Value]:
    """Values of one attribute: bytes kept for binary syntaxes, UTF-8 text otherwise."""
    syntax = schema.get(name)
    if syntax.syntax == "unknown" or syntax.binary:
        return [bytes(v) for v in raw]
    texts = [bytes(v).decode("utf-8") for v in raw]
    if syntax.syntax == DN_SYNTAX:
        texts = [strip_extended_dn(t) for t in texts]
    return list[Value](texts)


def normalize_entry(schema: Schema, dn: str, raw: Mapping[str, Iterable[bytes]]) -> Content:
    """A paged-search entry as a normalized object (DN included as ``distinguishedName``).

    Same result as :func:`normalize_values` per attribute, with the schema lookup cached per
    attribute spelling (:meth:`Schema.plan`): a snapshot normalizes hundreds of thousands. The
    values must be ``bytes`` (as python-ldap returns them)."""
    content: Content = {}
    plans = schema._plans  # the cache read inline: one dict lookup per attribute
    for name, values in raw.items():
        plan = plans.get(name, _UNPLANNED)
        if plan is _UNPLANNED:  # a spelling seen first (a ranged one is never cached)
            if ";" in name and parse_ranged(name) is not None:
                raise ValueError(f"{dn}: ranged attribute {name!r}; fetch all values first")
            plan = schema.plan(name)
        if plan is None:
            continue
        stored, kind = plan
        normalized: list[Value]
        if kind == _BYTES:
            normalized = list(map(bytes, values))
        elif kind == _TEXT:
            normalized = list(map(bytes.decode, values))
        else:
            normalized = [
                strip_extended_dn(text) if text.startswith("<") else text
                for text in map(bytes.decode, values)
            ]
        if normalized:
            content[stored] = normalized
    content[DN_ATTRIBUTE] = [dn]
    return content


def guid_text(raw: bytes) -> str:
    """objectGUID bytes (little-endian fields, as AD sends them) in the usual text form."""
    if len(raw) != 16:
        raise ValueError(f"objectGUID has {len(raw)} bytes; expected 16")
    return str(uuid.UUID(bytes_le=raw))


def guid_bytes(text: str) -> bytes:
    return uuid.UUID(text).bytes_le


def guid_filter_value(raw: bytes) -> str:
    """objectGUID bytes escaped for an LDAP filter."""
    return "".join(f"\\{b:02x}" for b in raw)


def is_tombstone_dn(dn: str) -> bool:
    return "\\0ADEL:" in dn or "\nDEL:" in dn


def first_text(content: Mapping[str, list[Value]], name: str) -> str | None:
    values = content.get(name)
    if not values:
        return None
    value = values[0]
    return value if isinstance(value, str) else None


_DN_PIECE = re.compile(r"\\([0-9A-Fa-f]{2})|\\(.)|(.)", re.DOTALL)


def rdn_value(dn: str, attribute: str) -> str | None:
    """The value of ``dn``'s RDN when its attribute is ``attribute`` (``OU=Sales,DC=…`` with
    ``ou`` gives ``Sales``), escapes undone (``\\,``, and ``\\c3\\a9`` as UTF-8); ``None``
    for another attribute or a multi-valued RDN. In AD the RDN attribute holds the RDN's value,
    and a DirSync answer for a new object may leave that attribute out (Samba's does)."""
    name, sep, value = split_dn(dn)[0].partition("=")
    if not sep or name.strip().lower() != attribute.lower() or re.search(r"(?<!\\)\+", value):
        return None
    out = bytearray()
    for hex_pair, escaped, plain in _DN_PIECE.findall(value.strip()):
        out += bytes.fromhex(hex_pair) if hex_pair else (escaped or plain).encode("utf-8")
    return out.decode("utf-8", errors="replace")


def classify(
    types: Iterable[ResourceType], partition: Partition, content: Mapping[str, list[Value]]
) -> ResourceType | None:
    """The row of an object read from ``partition``: among the rows read from that partition,
    the first whose selector (its LDAP filter) accepts it, else the one taking the rest;
    ``None`` when none fits."""
    candidates = [
        t for t in types if isinstance(t.source, LdapSource) and t.source.partition is partition
    ]
    return select_type(candidates, content)


def split_dn(dn: str) -> tuple[str, str]:
    """``(rdn, parent)``, honouring backslash escapes in the RDN."""
    escaped = False
    for index, char in enumerate(dn):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            return dn[:index], dn[index + 1 :]
    return dn, ""
