"""When a change happened at its origin: the replication metadata of the objects DirSync names.

Every AD object carries ``replPropertyMetaData`` (NDR ``replPropertyMetaDataBlob``, MS-DRSR
5.167 / Samba ``drsblobs.idl``): for each attribute, by its ATTRTYP (attid), the version and the
*originating change time* — when the write was made, on whichever DC took it, to the second.
A DirSync pass that runs minutes after the change (the monitor was stopped) reads the object's
metadata in the same pass — one search per page for all of the page's objects, not one per
event — and each event's ``occurred_at`` is the originating time of its attribute: the object's
``objectClass`` for a create, ``isDeleted`` for a delete or undelete, ``name`` for a move or a
rename. ``observed_at`` stays the capture time.

The DC keeps that time to the whole second, so a change stands at the *last* instant of its
second (``hh:mm:ss.999999``), never after dirguard observed it: a moment taken just before the
change (``--since``, ``show --at``, ``diff --from``), even in the same second, still lies before
it, and the event is shown at the DC's second.

ATTRTYPs are the schema's ``msDS-IntId`` where set, else made from the attribute's OID and the
DC's prefix table (the schema head's ``prefixMap``), as MS-DRSR 5.16.4 "ATTRTYP-to-OID
Conversion" (``MakeAttid``) says. Linked values (``member``, ``manager``) have no attribute
metadata: Windows keeps their times in ``msDS-ReplValueMetaData``, which Samba does not
construct (nor does it show a value's ``RMD_CHANGETIME`` over LDAP), so their ``occurred_at``
stays unknown — never taken from another attribute's time.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import ldap

from dirguard.providers.ad.values import Schema

METADATA_ATTRIBUTE = "replPropertyMetaData"
PREFIX_MAP_ATTRIBUTE = "prefixMap"
_NTTIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_PREFIX_MAP_DSDB = 0x44534442
_ENTRY = struct.Struct("<IIQ16sQQ")
"""replPropertyMetaData1: attid, version, originating_change_time (seconds since 1601),
originating_invocation_id, originating_usn, local_usn."""
_LAST_INSTANT = timedelta(seconds=1) - timedelta(microseconds=1)
GUIDS_PER_SEARCH = 200
"""objectGUIDs ORed in one filter (a DirSync page holds up to about a thousand entries)."""

AttidTimes = Mapping[int, datetime]


class MetadataError(ValueError):
    """A replication metadata blob or prefix table that does not parse."""


def parse_property_metadata(blob: bytes) -> dict[int, datetime]:
    """Originating change time of each attribute (by attid) in a ``replPropertyMetaData``, as
    the last instant of the second the DC gives."""
    try:
        version, _reserved, count, _reserved2 = struct.unpack_from("<IIII", blob, 0)
    except struct.error as error:
        raise MetadataError(f"replPropertyMetaData of {len(blob)} bytes: {error}") from None
    if version != 1 or len(blob) < 16 + count * _ENTRY.size:
        raise MetadataError(f"replPropertyMetaData version {version}, {count} entries: not v1")
    times: dict[int, datetime] = {}
    for index in range(count):
        attid, _version, seconds, *_rest = _ENTRY.unpack_from(blob, 16 + index * _ENTRY.size)
        times[attid] = _NTTIME_EPOCH + timedelta(seconds=seconds) + _LAST_INSTANT
    return times


def parse_prefix_map(blob: bytes) -> dict[bytes, int]:
    """The DC's prefix table (schema head ``prefixMap``, NDR ``prefixMapBlob`` of version
    DSDB): each OID prefix (BER bytes) and its index, the attid's upper 16 bits."""
    try:
        version, _reserved, count, _pointer, _size = struct.unpack_from("<IIIII", blob, 0)
        if version != _PREFIX_MAP_DSDB:
            raise MetadataError(f"prefixMap version {version:#x}, not DSDB")
        heads = [struct.unpack_from("<III", blob, 20 + 12 * i) for i in range(count)]
        offset = 20 + 12 * count
        table: dict[bytes, int] = {}
        for id_prefix, length, pointer in heads:
            if not pointer:
                continue
            (size,) = struct.unpack_from("<I", blob, offset)
            if size != length:
                raise MetadataError(f"prefixMap entry {id_prefix}: {size} bytes, said {length}")
            table[bytes(blob[offset + 4 : offset + 4 + size])] = id_prefix
            offset += 4 + size + (-size % 4)
    except struct.error as error:
        raise MetadataError(f"prefixMap of {len(blob)} bytes: {error}") from None
    return table


def _arc_bytes(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def ber_oid(oid: str) -> bytes:
    """The BER encoding of a dotted OID's arcs (without tag and length)."""
    arcs = [int(a) for a in oid.split(".")]
    if len(arcs) < 2:
        raise MetadataError(f"OID {oid!r} has fewer than two arcs")
    return _arc_bytes(40 * arcs[0] + arcs[1]) + b"".join(_arc_bytes(a) for a in arcs[2:])


def make_attid(oid: str, prefixes: Mapping[bytes, int]) -> int | None:
    """MS-DRSR MakeAttid of ``oid`` with the DC's prefix table; ``None`` when its prefix is not
    in the table (no attribute metadata can name it then)."""
    last = int(oid.rsplit(".", 1)[1])
    encoded = ber_oid(oid)
    prefix = encoded[:-1] if last < 128 else encoded[:-2]
    index = prefixes.get(prefix)
    if index is None:
        return None
    low = last % 16384 + (32768 if last >= 16384 else 0)
    return (index << 16) | low


class AttidMap:
    """Attribute names (any case) to the attids the DC's metadata uses for them."""

    def __init__(self, schema: Schema, prefixes: Mapping[bytes, int]) -> None:
        self._by_lower: dict[str, int] = {}
        for attribute in schema.attributes():
            attid = attribute.int_id
            if attid is None and attribute.attribute_id:
                attid = make_attid(attribute.attribute_id, prefixes)
            if attid is not None:
                self._by_lower[attribute.name.lower()] = attid

    def get(self, name: str) -> int | None:
        return self._by_lower.get(name.lower())

    def __len__(self) -> int:
        return len(self._by_lower)


def read_prefix_map(conn: Any, schema_dn: str) -> dict[bytes, int]:
    """The prefix table on the schema head (empty when the account may not read it)."""
    found = conn.search_s(schema_dn, ldap.SCOPE_BASE, "(objectClass=*)", [PREFIX_MAP_ATTRIBUTE])
    for _dn, attributes in found:
        if isinstance(attributes, dict) and attributes.get(PREFIX_MAP_ATTRIBUTE):
            return parse_prefix_map(bytes(attributes[PREFIX_MAP_ATTRIBUTE][0]))
    return {}


def _guid_filter_value(guid: str) -> str:
    return "".join(f"\\{byte:02x}" for byte in uuid.UUID(guid).bytes_le)


def read_change_times(
    conn: Any, base: str, guids: Iterable[str], controls: list[Any]
) -> dict[str, dict[int, datetime]]:
    """Each object's originating times by attid (``guids`` in text form), read under ``base``
    ``GUIDS_PER_SEARCH`` objects a search (``controls``: show-deleted, so tombstones answer);
    an object whose metadata the account cannot read is left out."""
    wanted = list(dict.fromkeys(guids))
    times: dict[str, dict[int, datetime]] = {}
    for start in range(0, len(wanted), GUIDS_PER_SEARCH):
        chunk = wanted[start : start + GUIDS_PER_SEARCH]
        terms = "".join(f"(objectGUID={_guid_filter_value(g)})" for g in chunk)
        found = conn.search_ext_s(
            base,
            ldap.SCOPE_SUBTREE,
            f"(|{terms})",
            ["objectGUID", METADATA_ATTRIBUTE],
            serverctrls=controls,
        )
        for dn, attributes in found:
            if not dn or not isinstance(attributes, dict):
                continue
            raw_guid, blob = attributes.get("objectGUID"), attributes.get(METADATA_ATTRIBUTE)
            if not raw_guid or not blob:
                continue
            try:
                parsed = parse_property_metadata(bytes(blob[0]))
            except MetadataError:
                continue
            times[str(uuid.UUID(bytes_le=bytes(raw_guid[0])))] = parsed
    return times
