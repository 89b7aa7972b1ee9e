"""Security descriptors read from the real DC: our SDDL describes what Samba describes, and the
ACE-level difference of a ``samba-tool dsacl set`` is exactly the ACE it added."""

from __future__ import annotations

import re
import shutil
import struct
from typing import Any

import pytest

from dirguard.providers.ad.sd.security_descriptor import (
    SecurityDescriptorError,
    diff_security_descriptors,
    parse_security_descriptor,
    to_sddl,
)
from dirguard.throwaway.samba_dc import SambaDC
from tests.fixtures.requirements import unavailable
from tests.who.conftest import Delegation
from tests.who.helpers import read_attribute, samba_sddl, samba_tool


@pytest.fixture(scope="module", autouse=True)
def _samba_bindings() -> None:
    if shutil.which("/usr/bin/python3") is None:
        unavailable("samba", "/usr/bin/python3 with Samba's bindings is needed as SDDL oracle")


def test_sddl_of_domain_head_user_and_ou_matches_samba(
    samba_dc: SambaDC, ldap_admin: Any, delegation: Delegation
) -> None:
    dns = [samba_dc.base_dn, samba_dc.admin_dn, delegation.user_dn, delegation.ou_dn]
    raws = [read_attribute(ldap_admin, dn, "nTSecurityDescriptor") for dn in dns]
    ours = [to_sddl(raw, delegation.domain_sid) for raw in raws]
    for (theirs, ours_read_back), mine in zip(
        samba_sddl(delegation.domain_sid, list(zip(raws, ours, strict=True))), ours, strict=True
    ):
        assert ours_read_back == theirs, mine
    head = parse_security_descriptor(raws[0])
    assert head.dacl is not None and head.sacl is not None
    assert any(ace.object_type and ace.inherited_object_type for ace in head.dacl.aces)
    # Other tests of the session add ACEs to the domain head; owner and group stay BA.
    assert ours[0].startswith("O:BAG:BAD:AI("), ours[0][:40]
    # The SACL stays (Samba drops its AI flag once a DACL write made it recompute the head).
    assert re.search(r"S:(AI)?\(", ours[0]), ours[0][-80:]


def _aces_with_rights_as_sets(sddl: str) -> list[tuple[str, ...]]:
    out = []
    for ace in sddl.split("D:", 1)[1].split("S:", 1)[0].strip("AIP(").rstrip(")").split(")("):
        kind, flags, rights, *rest = ace.split(";")
        letters = "".join(sorted(rights[i : i + 2] for i in range(0, len(rights), 2)))
        out.append(
            (
                kind,
                "".join(sorted(flags[i : i + 2] for i in range(0, len(flags), 2))),
                letters,
                *rest,
            )
        )
    return out


def test_sddl_has_the_aces_samba_tool_prints(delegation: Delegation, samba_dc: SambaDC) -> None:
    printed = samba_tool(samba_dc, "dsacl", "get", f"--objectdn={delegation.ou_dn}")
    theirs = printed.strip().splitlines()[-1]
    ours = to_sddl(delegation.sd_after, delegation.domain_sid)
    # samba-tool orders rights letters its own way (RPWPCR…), Windows by bit (CCDCLC…).
    assert ours.split("(")[0] == theirs.split("(")[0] == "O:DAG:DAD:AI"
    assert _aces_with_rights_as_sets(ours) == _aces_with_rights_as_sets(theirs)
    assert delegation.ace in ours


def test_dsacl_set_shows_as_one_added_ace(delegation: Delegation) -> None:
    diff = diff_security_descriptors(
        delegation.sd_before, delegation.sd_after, delegation.domain_sid
    )
    assert diff.owner is None and diff.group is None
    assert [(c.acl, c.kind, c.ace, c.position) for c in diff.aces] == [
        ("DACL", "added", delegation.ace, 0)
    ]
    assert diff.lines() == [f"DACL + {delegation.ace} (added at 0)"]
    back = diff_security_descriptors(delegation.sd_after, delegation.sd_before)
    assert [(c.kind, c.ace) for c in back.aces] == [("removed", delegation.ace)]


def test_owner_change_and_reordered_dacl(delegation: Delegation) -> None:
    sd = parse_security_descriptor(delegation.sd_after)
    assert sd.dacl is not None
    first, second, *rest = sd.dacl.aces
    swapped = type(sd.dacl)(revision=sd.dacl.revision, aces=(second, first, *rest))
    changed = type(sd)(
        revision=sd.revision,
        control=sd.control,
        owner=delegation.user_sid,
        group=sd.group,
        dacl=swapped,
        sacl=sd.sacl,
    )
    diff = diff_security_descriptors(sd, changed, delegation.domain_sid)
    assert diff.owner == ("DA", delegation.user_sid)
    assert [c.kind for c in diff.aces] == ["moved"]
    assert diff.aces[0].ace in (
        first.sddl(delegation.domain_sid),
        second.sddl(delegation.domain_sid),
    )
    assert diff_security_descriptors(sd, sd).empty


def test_without_domain_sid_domain_groups_stay_full_sids(delegation: Delegation) -> None:
    assert to_sddl(delegation.sd_after).startswith(f"O:{delegation.domain_sid}-512G:")


@pytest.mark.parametrize(
    ("mangle", "expected"),
    [
        (lambda raw: raw[:10], "offset 0 needs 20 bytes"),
        (lambda raw: b"\x02" + raw[1:], "revision at offset 0 is 2"),
        (lambda raw: raw[:4] + struct.pack("<I", len(raw) - 4) + raw[8:], "SID at offset"),
        (lambda raw: raw[: len(raw) // 2], "offset"),
    ],
)
def test_malformed_descriptor_names_the_offset(
    delegation: Delegation, mangle: Any, expected: str
) -> None:
    with pytest.raises(SecurityDescriptorError, match=expected):
        parse_security_descriptor(mangle(delegation.sd_after))
