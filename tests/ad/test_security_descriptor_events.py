"""A security descriptor change becomes one modify event with SDDL values and the ACE-level
difference (pure: descriptors built byte by byte as MS-DTYP 2.4.6 lays them out)."""

from __future__ import annotations

import struct

from dirguard.providers.ad.object_diff import DirSyncDelta, apply_delta, diff_contents
from dirguard.providers.ad.values import AttributeSyntax, Schema

DOMAIN_SID = "S-1-5-21-1111-2222-3333"
SCHEMA = Schema(
    [
        AttributeSyntax(name="nTSecurityDescriptor", syntax="2.5.5.15", single_valued=True),
        AttributeSyntax(name="distinguishedName", syntax="2.5.5.1", single_valued=True),
    ]
)
DN = "OU=x,DC=example,DC=com"


def _sid(text: str) -> bytes:
    parts = [int(p) for p in text.split("-")[2:]]
    authority, subs = parts[0], parts[1:]
    return (
        bytes([1, len(subs)]) + authority.to_bytes(6, "big") + struct.pack(f"<{len(subs)}I", *subs)
    )


def _descriptor(owner: str, aces: list[tuple[int, int, int, str]]) -> bytes:
    """Self-relative descriptor: owner, no group, a DACL of (type, flags, mask, sid) ACEs."""
    body = b"".join(
        struct.pack("<BBHI", kind, flags, 8 + len(_sid(sid)), mask) + _sid(sid)
        for kind, flags, mask, sid in aces
    )
    dacl = struct.pack("<BBHHH", 2, 0, 8 + len(body), len(aces), 0) + body
    owner_bytes = _sid(owner)
    control = 0x8000 | 0x0004  # self-relative, DACL present
    header = struct.pack("<BBHIIII", 1, 0, control, 20, 0, 0, 20 + len(owner_bytes))
    return header + owner_bytes + dacl


USERS = f"{DOMAIN_SID}-513"
DELEGATE = f"{DOMAIN_SID}-1104"
BEFORE = _descriptor(f"{DOMAIN_SID}-512", [(0, 0, 0x00020094, USERS)])
AFTER = _descriptor(f"{DOMAIN_SID}-512", [(0, 0, 0x00020094, USERS), (0, 2, 0x30, DELEGATE)])


def _content(sd: bytes) -> dict[str, list[str | bytes]]:
    return {"nTSecurityDescriptor": [sd], "distinguishedName": [DN]}


def test_descriptor_change_shows_sddl_and_the_added_ace() -> None:
    delta = DirSyncDelta(dn=DN, replaced={"nTSecurityDescriptor": [AFTER]})
    result = apply_delta(SCHEMA, _content(BEFORE), delta, domain_sid=DOMAIN_SID)
    assert result is not None
    [change] = result.changes
    assert (change.op, change.attribute) == ("modify", "nTSecurityDescriptor")
    assert change.old == "O:DAD:(A;;LCRPLORC;;;DU)"
    assert change.new == {
        "sddl": f"O:DAD:(A;;LCRPLORC;;;DU)(A;CI;RPWP;;;{DELEGATE})",
        "difference": {
            "aces_added": [{"acl": "DACL", "ace": f"(A;CI;RPWP;;;{DELEGATE})", "position": 1}]
        },
    }
    # The stored state keeps the exact bytes (for restore), not the SDDL.
    assert result.content["nTSecurityDescriptor"] == [AFTER]


def test_full_diff_without_domain_sid_and_an_unreadable_descriptor() -> None:
    [change] = diff_contents(SCHEMA, _content(AFTER), _content(BEFORE))
    assert change.old == f"O:{DOMAIN_SID}-512D:(A;;LCRPLORC;;;{USERS})(A;CI;RPWP;;;{DELEGATE})"
    assert change.new["difference"] == {
        "aces_removed": [{"acl": "DACL", "ace": f"(A;CI;RPWP;;;{DELEGATE})", "position": 1}]
    }
    [broken] = diff_contents(SCHEMA, _content(BEFORE), _content(b"\x01\x00"), domain_sid=DOMAIN_SID)
    assert broken.old == "O:DAD:(A;;LCRPLORC;;;DU)"
    assert broken.new["sddl"].startswith("(unreadable descriptor: ")
    assert "offset 0" in broken.new["sddl"]
    assert "error" in broken.new["difference"]
