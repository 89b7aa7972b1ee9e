"""Binary security descriptors (``nTSecurityDescriptor``): parse, render as SDDL, compare.

:func:`parse_security_descriptor` reads a self-relative SECURITY_DESCRIPTOR (MS-DTYP 2.4.6):
owner and group SIDs, DACL and SACL with allowed/denied/audit ACEs and their object variants
(object type and inherited object type GUIDs). :meth:`SecurityDescriptor.sddl` renders it the
way Windows does (``O:DAG:DAD:AI(A;;RPWP;;;AU)…``); with ``domain_sid`` the domain's own groups
get their aliases (``DA``, ``DU``…), otherwise they stay full SIDs.

:func:`diff_security_descriptors` gives the ACE-level difference of two descriptors — owner or
group changed, ACEs added, ACEs removed, and DACL ACEs that kept their place in neither order
(order decides evaluation in a DACL) — each ACE as one SDDL string.

Malformed bytes raise :class:`SecurityDescriptorError` naming the offset where reading failed.
"""

from __future__ import annotations

import difflib
import struct
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Literal

from dirguard.providers.ad.sd import sddl_names as names


class SecurityDescriptorError(ValueError):
    """The bytes are not a valid self-relative security descriptor."""


@dataclass(frozen=True, kw_only=True)
class Ace:
    """One access control entry."""

    ace_type: int
    flags: int
    mask: int
    sid: str
    object_type: str | None = None
    """Lower-case GUID of the property, property set, class or extended right, when present."""
    inherited_object_type: str | None = None
    """Lower-case GUID of the class of child objects that inherit the ACE, when present."""

    def sddl(self, domain_sid: str | None = None) -> str:
        return "({};{};{};{};{};{})".format(
            names.ACE_TYPES[self.ace_type],
            names.flag_string(self.flags, names.ACE_FLAGS),
            names.rights_string(self.mask),
            self.object_type or "",
            self.inherited_object_type or "",
            names.sid_alias(self.sid, domain_sid),
        )


@dataclass(frozen=True, kw_only=True)
class Acl:
    revision: int
    aces: tuple[Ace, ...]


@dataclass(frozen=True, kw_only=True)
class SecurityDescriptor:
    revision: int
    control: int
    owner: str | None
    group: str | None
    dacl: Acl | None
    """``None`` when the descriptor has no DACL (or a NULL DACL: see :attr:`dacl_present`)."""
    sacl: Acl | None

    @property
    def dacl_present(self) -> bool:
        return bool(self.control & names.SE_DACL_PRESENT)

    @property
    def sacl_present(self) -> bool:
        return bool(self.control & names.SE_SACL_PRESENT)

    def dacl_flags(self) -> str:
        return names.flag_string(self.control, names.DACL_FLAGS)

    def sacl_flags(self) -> str:
        return names.flag_string(self.control, names.SACL_FLAGS)

    def sddl(self, domain_sid: str | None = None) -> str:
        parts = []
        if self.owner is not None:
            parts.append("O:" + names.sid_alias(self.owner, domain_sid))
        if self.group is not None:
            parts.append("G:" + names.sid_alias(self.group, domain_sid))
        if self.dacl_present:
            parts.append("D:" + _acl_sddl(self.dacl, self.dacl_flags(), domain_sid))
        if self.sacl_present:
            parts.append("S:" + _acl_sddl(self.sacl, self.sacl_flags(), domain_sid))
        return "".join(parts)


def _acl_sddl(acl: Acl | None, flags: str, domain_sid: str | None) -> str:
    if acl is None:
        return flags + "NO_ACCESS_CONTROL"
    return flags + "".join(ace.sddl(domain_sid) for ace in acl.aces)


# --- parsing ----------------------------------------------------------------------------------


def _need(data: bytes, offset: int, size: int, what: str) -> None:
    if offset < 0 or offset + size > len(data):
        raise SecurityDescriptorError(
            f"{what} at offset {offset} needs {size} bytes but the descriptor has {len(data)}"
        )


def sid_from_bytes(data: bytes, offset: int = 0) -> tuple[str, int]:
    """The SID (MS-DTYP 2.4.2.2) at ``offset`` as ``S-1-…`` and the offset just after it."""
    _need(data, offset, 8, "SID")
    revision, count = data[offset], data[offset + 1]
    if revision != 1:
        raise SecurityDescriptorError(f"SID at offset {offset} has revision {revision}, not 1")
    if count > 15:
        raise SecurityDescriptorError(
            f"SID at offset {offset} claims {count} sub-authorities (at most 15)"
        )
    _need(data, offset, 8 + 4 * count, "SID")
    authority = int.from_bytes(data[offset + 2 : offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, offset + 8)
    return "-".join(["S", "1", str(authority), *map(str, subs)]), offset + 8 + 4 * count


def _guid(data: bytes, offset: int) -> str:
    _need(data, offset, 16, "object GUID")
    return str(uuid.UUID(bytes_le=bytes(data[offset : offset + 16])))


def _parse_ace(data: bytes, offset: int, end: int) -> tuple[Ace, int]:
    _need(data, offset, 8, "ACE header")
    ace_type, flags, size = struct.unpack_from("<BBH", data, offset)
    if size < 8 or offset + size > end:
        raise SecurityDescriptorError(
            f"ACE at offset {offset} has size {size}, which does not fit its ACL (ends at {end})"
        )
    if ace_type not in names.ACE_TYPES:
        raise SecurityDescriptorError(
            f"ACE at offset {offset} has type 0x{ace_type:02x}, which is not supported "
            "(allowed, denied, audit, alarm and their object variants are)"
        )
    (mask,) = struct.unpack_from("<I", data, offset + 4)
    position = offset + 8
    object_type = inherited = None
    if ace_type in names.OBJECT_ACE_TYPES:
        _need(data, position, 4, "object ACE flags")
        (object_flags,) = struct.unpack_from("<I", data, position)
        position += 4
        if object_flags & names.ACE_OBJECT_TYPE_PRESENT:
            object_type = _guid(data, position)
            position += 16
        if object_flags & names.ACE_INHERITED_OBJECT_TYPE_PRESENT:
            inherited = _guid(data, position)
            position += 16
    sid, sid_end = sid_from_bytes(data[: offset + size], position)
    del sid_end
    ace = Ace(
        ace_type=ace_type,
        flags=flags,
        mask=mask,
        sid=sid,
        object_type=object_type,
        inherited_object_type=inherited,
    )
    return ace, offset + size


def _parse_acl(data: bytes, offset: int, what: str) -> Acl:
    _need(data, offset, 8, f"{what} header")
    revision, _, size, count, _ = struct.unpack_from("<BBHHH", data, offset)
    if revision not in (2, 4):
        raise SecurityDescriptorError(
            f"{what} at offset {offset} has revision {revision} (expected 2 or 4)"
        )
    end = offset + size
    _need(data, offset, size, what)
    position, aces = offset + 8, []
    for _ in range(count):
        ace, position = _parse_ace(data, position, end)
        aces.append(ace)
    return Acl(revision=revision, aces=tuple(aces))


def parse_security_descriptor(data: bytes) -> SecurityDescriptor:
    """Parse a self-relative security descriptor as stored in ``nTSecurityDescriptor``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError(f"a security descriptor is bytes, not {type(data).__name__}")
    data = bytes(data)
    _need(data, 0, 20, "security descriptor header")
    revision, _, control, owner_at, group_at, sacl_at, dacl_at = struct.unpack_from(
        "<BBHIIII", data, 0
    )
    if revision != 1:
        raise SecurityDescriptorError(f"descriptor revision at offset 0 is {revision}, not 1")
    if not control & names.SE_SELF_RELATIVE:
        raise SecurityDescriptorError(
            f"control flags 0x{control:04x} at offset 2 lack SE_SELF_RELATIVE; only the "
            "self-relative form (as stored in the directory) can be parsed"
        )
    owner = sid_from_bytes(data, owner_at)[0] if owner_at else None
    group = sid_from_bytes(data, group_at)[0] if group_at else None
    dacl = (
        _parse_acl(data, dacl_at, "DACL") if control & names.SE_DACL_PRESENT and dacl_at else None
    )
    sacl = (
        _parse_acl(data, sacl_at, "SACL") if control & names.SE_SACL_PRESENT and sacl_at else None
    )
    return SecurityDescriptor(
        revision=revision, control=control, owner=owner, group=group, dacl=dacl, sacl=sacl
    )


def to_sddl(data: bytes, domain_sid: str | None = None) -> str:
    """SDDL of the binary descriptor ``data``."""
    return parse_security_descriptor(data).sddl(domain_sid)


# --- difference -------------------------------------------------------------------------------

AclName = Literal["DACL", "SACL"]
AceChangeKind = Literal["added", "removed", "moved"]


@dataclass(frozen=True, kw_only=True)
class AceChange:
    acl: AclName
    kind: AceChangeKind
    ace: str
    """The ACE in SDDL, e.g. ``(A;CI;RPWP;;;S-1-5-21-…-1104)``."""
    position: int
    """Index in the new ACL (added, moved) or in the old one (removed)."""

    def line(self) -> str:
        sign = {"added": "+", "removed": "-", "moved": "~"}[self.kind]
        return f"{self.acl} {sign} {self.ace} ({self.kind} at {self.position})"


@dataclass(frozen=True, kw_only=True)
class SecurityDescriptorDiff:
    owner: tuple[str | None, str | None] | None = None
    """(old, new) when the owner changed."""
    group: tuple[str | None, str | None] | None = None
    dacl_flags: tuple[str, str] | None = None
    sacl_flags: tuple[str, str] | None = None
    aces: tuple[AceChange, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.owner or self.group or self.dacl_flags or self.sacl_flags or self.aces)

    def lines(self) -> list[str]:
        """One readable line per difference."""
        out = []
        for label, pair in (
            ("owner", self.owner),
            ("group", self.group),
            ("DACL flags", self.dacl_flags),
            ("SACL flags", self.sacl_flags),
        ):
            if pair is not None:
                out.append(f"{label}: {pair[0] or '-'} -> {pair[1] or '-'}")
        out.extend(change.line() for change in self.aces)
        return out


def _ace_strings(acl: Acl | None, domain_sid: str | None) -> list[str]:
    return [] if acl is None else [ace.sddl(domain_sid) for ace in acl.aces]


def _acl_changes(
    name: AclName, old: list[str], new: list[str], *, order_matters: bool
) -> list[AceChange]:
    removed_left = Counter(old) - Counter(new)
    added_left = Counter(new) - Counter(old)
    changes: list[AceChange] = []
    kept_old, kept_new = [], []
    for index, ace in enumerate(old):
        if removed_left[ace]:
            removed_left[ace] -= 1
            changes.append(AceChange(acl=name, kind="removed", ace=ace, position=index))
        else:
            kept_old.append(ace)
    new_kept_index = []
    for index, ace in enumerate(new):
        if added_left[ace]:
            added_left[ace] -= 1
            changes.append(AceChange(acl=name, kind="added", ace=ace, position=index))
        else:
            kept_new.append(ace)
            new_kept_index.append(index)
    if order_matters and kept_old != kept_new:
        matcher = difflib.SequenceMatcher(a=kept_old, b=kept_new, autojunk=False)
        in_place = {
            j
            for block in matcher.get_matching_blocks()
            for j in range(block.b, block.b + block.size)
        }
        for j, ace in enumerate(kept_new):
            if j not in in_place:
                changes.append(
                    AceChange(acl=name, kind="moved", ace=ace, position=new_kept_index[j])
                )
    return changes


def diff_security_descriptors(
    old: bytes | SecurityDescriptor, new: bytes | SecurityDescriptor, domain_sid: str | None = None
) -> SecurityDescriptorDiff:
    """ACE-level difference from ``old`` to ``new`` (binary descriptors or parsed ones).

    Identical ACEs count as a multiset: adding a second copy shows as one added ACE. In the DACL
    an ACE present in both that changed its relative order is reported as ``moved``; the SACL's
    order does not change what is audited, so it is compared as a set.
    """
    before = old if isinstance(old, SecurityDescriptor) else parse_security_descriptor(old)
    after = new if isinstance(new, SecurityDescriptor) else parse_security_descriptor(new)

    def alias(sid: str | None) -> str | None:
        return None if sid is None else names.sid_alias(sid, domain_sid)

    changes = _acl_changes(
        "DACL",
        _ace_strings(before.dacl, domain_sid),
        _ace_strings(after.dacl, domain_sid),
        order_matters=True,
    ) + _acl_changes(
        "SACL",
        _ace_strings(before.sacl, domain_sid),
        _ace_strings(after.sacl, domain_sid),
        order_matters=False,
    )
    return SecurityDescriptorDiff(
        owner=(alias(before.owner), alias(after.owner)) if before.owner != after.owner else None,
        group=(alias(before.group), alias(after.group)) if before.group != after.group else None,
        dacl_flags=(before.dacl_flags(), after.dacl_flags())
        if before.dacl_flags() != after.dacl_flags()
        else None,
        sacl_flags=(before.sacl_flags(), after.sacl_flags())
        if before.sacl_flags() != after.sacl_flags()
        else None,
        aces=tuple(changes),
    )
