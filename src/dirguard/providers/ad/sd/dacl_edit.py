"""Editing a DACL in its binary form: grant or remove a control-access right, evaluate one.

The edited descriptor carries only the DACL (control ``SE_SELF_RELATIVE | SE_DACL_PRESENT`` plus
the DACL's own flags); written with the SD-flags control set to DACL_SECURITY_INFORMATION (4),
the server replaces the DACL and leaves group and SACL alone (the owner too on Windows; Samba
4.17 needs the owner written along: :func:`with_owner_and_group`). Existing ACEs are copied
byte for byte (types this code does not know survive unchanged); a new ACE goes after the last
explicit ACE, ahead of inherited ones, which keeps the canonical order (explicit before
inherited). Pure: no I/O.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Collection

from dirguard.providers.ad.sd import sddl_names as names
from dirguard.providers.ad.sd.security_descriptor import (
    Ace,
    SecurityDescriptorError,
    parse_security_descriptor,
)

ACCESS_ALLOWED = 0x00
ACCESS_DENIED = 0x01
ACCESS_ALLOWED_OBJECT = 0x05
ACCESS_DENIED_OBJECT = 0x06
INHERITED_ACE = 0x10
INHERIT_ONLY_ACE = 0x08
CONTROL_ACCESS = 0x0000_0100
GENERIC_ALL = 0x1000_0000
GENERIC_READ = 0x8000_0000
_GENERIC_READ_RIGHTS = 0x0002_0094
"""READ_CONTROL | LIST_CHILDREN | READ_PROPERTY | LIST_OBJECT: what GENERIC_READ means to AD."""
LIST_CHILDREN = 0x0000_0004
READ_PROPERTY = 0x0000_0010
OWNER_SECURITY_INFORMATION = 0x1
GROUP_SECURITY_INFORMATION = 0x2
DACL_SECURITY_INFORMATION = 0x4
"""SD-flags bits (LDAP_SERVER_SD_FLAGS_OID): which parts of a descriptor are read or written."""
_DACL_FLAG_BITS = sum(bit for _name, bit in names.DACL_FLAGS)


def sid_to_bytes(sid: str) -> bytes:
    """``S-1-5-21-…`` as the binary SID of MS-DTYP 2.4.2.2."""
    parts = sid.split("-")
    if len(parts) < 3 or parts[0].upper() != "S" or parts[1] != "1":
        raise ValueError(f"{sid!r} is not a SID string (S-1-…)")
    try:
        authority, subs = int(parts[2]), [int(p) for p in parts[3:]]
    except ValueError:
        raise ValueError(f"{sid!r} is not a SID string (S-1-…)") from None
    if len(subs) > 15:
        raise ValueError(f"{sid!r} has more than 15 sub-authorities")
    return (
        bytes([1, len(subs)])
        + authority.to_bytes(6, "big")
        + b"".join(struct.pack("<I", s) for s in subs)
    )


def control_access_ace(sid: str, right_guid: str) -> bytes:
    """An explicit ACCESS_ALLOWED_OBJECT_ACE granting the extended right ``right_guid`` (CR)."""
    body = (
        struct.pack("<II", CONTROL_ACCESS, names.ACE_OBJECT_TYPE_PRESENT)
        + uuid.UUID(right_guid).bytes_le
        + sid_to_bytes(sid)
    )
    return struct.pack("<BBH", ACCESS_ALLOWED_OBJECT, 0, 4 + len(body)) + body


def access_allowed_ace(sid: str, mask: int) -> bytes:
    """An explicit ACCESS_ALLOWED_ACE granting ``mask`` to ``sid``."""
    body = struct.pack("<I", mask) + sid_to_bytes(sid)
    return struct.pack("<BBH", ACCESS_ALLOWED, 0, 4 + len(body)) + body


def owner_descriptor(sid: str) -> bytes:
    """A self-relative descriptor holding only an owner (written with SD flags OWNER)."""
    owner = sid_to_bytes(sid)
    return struct.pack("<BBHIIII", 1, 0, names.SE_SELF_RELATIVE, 20, 0, 0, 0) + owner


def dacl_descriptor(aces: Collection[bytes]) -> bytes:
    """A self-relative descriptor holding only a DACL of ``aces`` (raw ACEs, in order)."""
    return _dacl_only(0, 4 if any(a[0] >= ACCESS_ALLOWED_OBJECT for a in aces) else 2, list(aces))


def _raw_dacl(sd: bytes) -> tuple[int, int, list[bytes]]:
    """(control, ACL revision, raw ACEs) of ``sd``'s DACL."""
    if len(sd) < 20:
        raise SecurityDescriptorError("security descriptor shorter than its 20-byte header")
    _rev, _sbz, control, _owner, _group, _sacl, dacl_at = struct.unpack_from("<BBHIIII", sd, 0)
    if not control & names.SE_DACL_PRESENT or not dacl_at:
        return control, 2, []
    if dacl_at + 8 > len(sd):
        raise SecurityDescriptorError(f"DACL at offset {dacl_at} lies beyond the descriptor")
    revision, _s1, _size, count, _s2 = struct.unpack_from("<BBHHH", sd, dacl_at)
    aces, position = [], dacl_at + 8
    for _ in range(count):
        if position + 4 > len(sd):
            raise SecurityDescriptorError(f"ACE at offset {position} lies beyond the descriptor")
        (size,) = struct.unpack_from("<H", sd, position + 2)
        if size < 8 or position + size > len(sd):
            raise SecurityDescriptorError(f"ACE at offset {position} has invalid size {size}")
        aces.append(sd[position : position + size])
        position += size
    return control, revision, aces


def _dacl_only(control: int, revision: int, aces: list[bytes]) -> bytes:
    body = b"".join(aces)
    acl = struct.pack("<BBHHH", revision, 0, 8 + len(body), len(aces), 0) + body
    flags = names.SE_SELF_RELATIVE | names.SE_DACL_PRESENT | (control & _DACL_FLAG_BITS)
    return struct.pack("<BBHIIII", 1, 0, flags, 0, 0, 0, 20) + acl


def _parsed(raw_ace: bytes) -> Ace:
    """One raw ACE parsed, by wrapping it in a one-ACE DACL."""
    parsed = parse_security_descriptor(_dacl_only(0, 4, [raw_ace]))
    assert parsed.dacl is not None
    return parsed.dacl.aces[0]


def with_aces_added(sd: bytes, new_aces: Collection[bytes]) -> bytes:
    """A DACL-only descriptor: ``sd``'s DACL with ``new_aces`` after its explicit ACEs."""
    control, revision, aces = _raw_dacl(bytes(sd))
    cut = next((i for i, a in enumerate(aces) if a[1] & INHERITED_ACE), len(aces))
    merged = aces[:cut] + list(new_aces) + aces[cut:]
    return _dacl_only(control, max(revision, 4) if new_aces else revision, merged)


def with_aces_removed(sd: bytes, unwanted: Callable[[Ace], bool]) -> tuple[bytes, int]:
    """A DACL-only descriptor without the explicit ACEs ``unwanted`` selects, and how many
    were removed (inherited ACEs are never removed: they come back from the parent)."""
    control, revision, aces = _raw_dacl(bytes(sd))
    kept = [a for a in aces if a[1] & INHERITED_ACE or not unwanted(_parsed(a))]
    return _dacl_only(control, revision, kept), len(aces) - len(kept)


def grants_control_access(ace: Ace, sid: str, right_guid: str) -> bool:
    """Whether ``ace`` is an explicit allow of ``right_guid`` to exactly ``sid``."""
    return (
        ace.ace_type == ACCESS_ALLOWED_OBJECT
        and ace.sid == sid
        and bool(ace.mask & CONTROL_ACCESS)
        and (ace.object_type or "").lower() == right_guid.lower()
        and not ace.flags & (INHERITED_ACE | INHERIT_ONLY_ACE)
    )


def _covers(ace: Ace, right_guid: str) -> bool:
    if ace.mask & GENERIC_ALL:
        return True
    if not ace.mask & CONTROL_ACCESS:
        return False
    return ace.object_type is None or ace.object_type.lower() == right_guid.lower()


def control_access_decision(
    sd: bytes, right_guid: str, token: Collection[str]
) -> tuple[bool, Ace | None]:
    """Whether a caller whose token holds the SIDs ``token`` has the extended right on the
    object, evaluated in DACL order (the first allow or deny that covers it decides), and the
    ACE that decided (``None``: no ACE covers it, i.e. denied)."""
    parsed = parse_security_descriptor(bytes(sd))
    if parsed.dacl is None:
        return not parsed.dacl_present, None
    for ace in parsed.dacl.aces:
        if ace.flags & INHERIT_ONLY_ACE or ace.sid not in token:
            continue
        if ace.ace_type not in (
            ACCESS_ALLOWED,
            ACCESS_DENIED,
            ACCESS_ALLOWED_OBJECT,
            ACCESS_DENIED_OBJECT,
        ):
            continue
        if _covers(ace, right_guid):
            return ace.ace_type in (ACCESS_ALLOWED, ACCESS_ALLOWED_OBJECT), ace
    return False, None


def access_mask_decision(sd: bytes, mask: int, token: Collection[str]) -> tuple[bool, str]:
    """Whether a caller whose token holds the SIDs ``token`` is granted every bit of ``mask``
    on the whole object, evaluated in DACL order (a bit is decided by the first ACE that allows
    or denies it; object ACEs, which grant on a property or class only, are not counted), and
    what decided: the bits still missing, or the ACEs that granted."""
    parsed = parse_security_descriptor(bytes(sd))
    if parsed.dacl is None:
        held = not parsed.dacl_present
        return held, "no DACL: everyone is allowed" if held else "an empty DACL allows nothing"
    granted = denied = 0
    deciding: list[Ace] = []
    for ace in parsed.dacl.aces:
        if ace.flags & INHERIT_ONLY_ACE or ace.sid not in token:
            continue
        bits = _expanded(ace.mask) & mask & ~(granted | denied)
        if not bits:
            continue
        if ace.ace_type == ACCESS_ALLOWED:
            granted |= bits
            deciding.append(ace)
        elif ace.ace_type in (ACCESS_DENIED, ACCESS_DENIED_OBJECT) and ace.object_type is None:
            denied |= bits
    missing = mask & ~granted
    if missing:
        return False, f"{names.rights_string(missing)} not granted"
    return True, "allowed by " + "".join(ace.sddl() for ace in deciding)


def _expanded(mask: int) -> int:
    """``mask`` with its generic bits mapped to directory rights (MS-ADTS 5.1.3.2)."""
    if mask & GENERIC_ALL:
        return 0xFFFF_FFFF
    if mask & GENERIC_READ:
        mask |= _GENERIC_READ_RIGHTS
    return mask


def _sid_at(sd: bytes, offset: int) -> bytes:
    if not offset:
        return b""
    if offset + 8 > len(sd):
        raise SecurityDescriptorError(f"SID at offset {offset} lies beyond the descriptor")
    size = 8 + 4 * sd[offset + 1]
    if offset + size > len(sd):
        raise SecurityDescriptorError(f"SID at offset {offset} lies beyond the descriptor")
    return sd[offset : offset + size]


def _acl_at(sd: bytes, offset: int) -> bytes:
    if not offset:
        return b""
    if offset + 8 > len(sd):
        raise SecurityDescriptorError(f"ACL at offset {offset} lies beyond the descriptor")
    (size,) = struct.unpack_from("<H", sd, offset + 2)
    if size < 8 or offset + size > len(sd):
        raise SecurityDescriptorError(f"ACL at offset {offset} has invalid size {size}")
    return sd[offset : offset + size]


def with_owner_and_group(descriptor: bytes, source: bytes) -> bytes:
    """``descriptor`` carrying ``source``'s owner and group where it has none of its own.

    Samba 4.17 gives an object the writer's default owner (Domain Admins) when a descriptor
    without an owner is written, even under an SD-flags control naming the DACL alone; a Windows
    DC keeps the owner. Writing the live owner and group along (the flags unchanged) keeps them
    on both."""
    for sd in (descriptor, source):
        if len(sd) < 20:
            raise SecurityDescriptorError("security descriptor shorter than its 20-byte header")
    _r, _s, control, owner_at, group_at, sacl_at, dacl_at = struct.unpack_from(
        "<BBHIIII", descriptor, 0
    )
    _r, _s, _c, source_owner_at, source_group_at, _sa, _da = struct.unpack_from(
        "<BBHIIII", source, 0
    )
    owner = _sid_at(descriptor, owner_at) or _sid_at(source, source_owner_at)
    group = _sid_at(descriptor, group_at) or _sid_at(source, source_group_at)
    sacl = _acl_at(descriptor, sacl_at) if control & names.SE_SACL_PRESENT else b""
    dacl = _acl_at(descriptor, dacl_at) if control & names.SE_DACL_PRESENT else b""
    offsets, position = [], 20
    for part in (owner, group, sacl, dacl):
        offsets.append(position if part else 0)
        position += len(part)
    header = struct.pack("<BBHIIII", 1, 0, control | names.SE_SELF_RELATIVE, *offsets)
    return header + owner + group + sacl + dacl
