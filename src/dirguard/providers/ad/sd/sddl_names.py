"""The short names SDDL uses: well-known SIDs, access rights, ACE types and flags, ACL flags.

Tables follow MS-DTYP 2.5.1.1 (SDDL) and the names Windows' ``ConvertSecurityDescriptorTo
StringSecurityDescriptor`` prints; only aliases that Samba also knows are listed, so that an SDDL
string rendered here reads back the same in both. Domain-relative aliases (``DA``, ``DU``…) apply
only to SIDs of the domain whose SID the caller names.
"""

from __future__ import annotations

from typing import Final

WELL_KNOWN_SIDS: Final[dict[str, str]] = {
    "S-1-1-0": "WD",
    "S-1-3-0": "CO",
    "S-1-3-1": "CG",
    "S-1-3-4": "OW",
    "S-1-5-2": "NU",
    "S-1-5-4": "IU",
    "S-1-5-6": "SU",
    "S-1-5-7": "AN",
    "S-1-5-9": "ED",
    "S-1-5-10": "PS",
    "S-1-5-11": "AU",
    "S-1-5-12": "RC",
    "S-1-5-18": "SY",
    "S-1-5-19": "LS",
    "S-1-5-20": "NS",
    "S-1-5-33": "WR",
    "S-1-5-32-544": "BA",
    "S-1-5-32-545": "BU",
    "S-1-5-32-546": "BG",
    "S-1-5-32-547": "PU",
    "S-1-5-32-548": "AO",
    "S-1-5-32-549": "SO",
    "S-1-5-32-550": "PO",
    "S-1-5-32-551": "BO",
    "S-1-5-32-552": "RE",
    "S-1-5-32-554": "RU",
    "S-1-5-32-555": "RD",
    "S-1-5-32-556": "NO",
    "S-1-5-32-558": "MU",
    "S-1-5-32-559": "LU",
    "S-1-5-32-568": "IS",
    "S-1-5-32-569": "CY",
    "S-1-5-32-573": "ER",
    "S-1-5-32-574": "CD",
    "S-1-5-32-575": "RA",
    "S-1-5-32-576": "ES",
    "S-1-5-32-577": "MS",
    "S-1-5-32-578": "HA",
    "S-1-5-32-579": "AA",
    "S-1-5-32-580": "RM",
}
"""SID string → alias, for SIDs that are the same in every domain."""

DOMAIN_RIDS: Final[dict[int, str]] = {
    500: "LA",
    501: "LG",
    512: "DA",
    513: "DU",
    514: "DG",
    515: "DC",
    516: "DD",
    517: "CA",
    518: "SA",
    519: "EA",
    520: "PA",
    553: "RS",
}
"""Relative id → alias, for SIDs of the domain being rendered (``<domain SID>-<rid>``)."""

ACCESS_RIGHTS: Final[tuple[tuple[str, int], ...]] = (
    ("CC", 0x0000_0001),  # create child
    ("DC", 0x0000_0002),  # delete child
    ("LC", 0x0000_0004),  # list children
    ("SW", 0x0000_0008),  # validated write (self)
    ("RP", 0x0000_0010),  # read property
    ("WP", 0x0000_0020),  # write property
    ("DT", 0x0000_0040),  # delete tree
    ("LO", 0x0000_0080),  # list object
    ("CR", 0x0000_0100),  # control access (extended right)
    ("SD", 0x0001_0000),  # delete
    ("RC", 0x0002_0000),  # read control
    ("WD", 0x0004_0000),  # write DAC
    ("WO", 0x0008_0000),  # write owner
    ("GA", 0x1000_0000),  # generic all
    ("GX", 0x2000_0000),  # generic execute
    ("GW", 0x4000_0000),  # generic write
    ("GR", 0x8000_0000),  # generic read
)
"""Directory access rights in the order Windows prints them (ascending bit)."""

ACE_FLAGS: Final[tuple[tuple[str, int], ...]] = (
    ("OI", 0x01),  # object inherit
    ("CI", 0x02),  # container inherit
    ("NP", 0x04),  # no propagate inherit
    ("IO", 0x08),  # inherit only
    ("ID", 0x10),  # inherited
    ("SA", 0x40),  # successful access (audit)
    ("FA", 0x80),  # failed access (audit)
)

ACE_TYPES: Final[dict[int, str]] = {
    0x00: "A",  # ACCESS_ALLOWED_ACE
    0x01: "D",  # ACCESS_DENIED_ACE
    0x02: "AU",  # SYSTEM_AUDIT_ACE
    0x03: "AL",  # SYSTEM_ALARM_ACE
    0x05: "OA",  # ACCESS_ALLOWED_OBJECT_ACE
    0x06: "OD",  # ACCESS_DENIED_OBJECT_ACE
    0x07: "OU",  # SYSTEM_AUDIT_OBJECT_ACE
    0x08: "OL",  # SYSTEM_ALARM_OBJECT_ACE
}
OBJECT_ACE_TYPES: Final[frozenset[int]] = frozenset({0x05, 0x06, 0x07, 0x08})

# SECURITY_DESCRIPTOR control bits (MS-DTYP 2.4.6).
SE_OWNER_DEFAULTED: Final = 0x0001
SE_GROUP_DEFAULTED: Final = 0x0002
SE_DACL_PRESENT: Final = 0x0004
SE_SACL_PRESENT: Final = 0x0010
SE_SELF_RELATIVE: Final = 0x8000

DACL_FLAGS: Final[tuple[tuple[str, int], ...]] = (
    ("P", 0x1000),  # SE_DACL_PROTECTED
    ("AR", 0x0100),  # SE_DACL_AUTO_INHERIT_REQ
    ("AI", 0x0400),  # SE_DACL_AUTO_INHERITED
)
SACL_FLAGS: Final[tuple[tuple[str, int], ...]] = (
    ("P", 0x2000),  # SE_SACL_PROTECTED
    ("AR", 0x0200),  # SE_SACL_AUTO_INHERIT_REQ
    ("AI", 0x0800),  # SE_SACL_AUTO_INHERITED
)

# Object ACE flags: which GUIDs follow the mask.
ACE_OBJECT_TYPE_PRESENT: Final = 0x1
ACE_INHERITED_OBJECT_TYPE_PRESENT: Final = 0x2


def sid_alias(sid: str, domain_sid: str | None) -> str:
    """The SDDL alias of ``sid`` where one exists (``DA`` only under ``domain_sid``), else the
    SID string itself."""
    if alias := WELL_KNOWN_SIDS.get(sid):
        return alias
    if domain_sid is not None:
        prefix, _, rid = sid.rpartition("-")
        if prefix == domain_sid and rid.isdigit() and (alias := DOMAIN_RIDS.get(int(rid))):
            return alias
    return sid


def rights_string(mask: int) -> str:
    """``mask`` as rights letters (``RPWPCR``), or ``0x…`` when a bit has no letter (as Windows
    prints masks it cannot name in full)."""
    letters, rest = [], mask
    for name, bit in ACCESS_RIGHTS:
        if mask & bit:
            letters.append(name)
            rest &= ~bit
    if rest or not letters:
        return f"0x{mask:x}"
    return "".join(letters)


def flag_string(value: int, table: tuple[tuple[str, int], ...]) -> str:
    """The names of the bits of ``value`` that ``table`` knows, in table order."""
    return "".join(name for name, bit in table if value & bit)
