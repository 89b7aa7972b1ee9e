"""What the AD service account and the operator need (from the catalog), and DACL editing, without
a domain controller (the DC tests in test_connect_ad.py exercise both against Samba)."""

from __future__ import annotations

import pytest

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Mode, Principal
from dirguard.catalog.resource_type import Partition
from dirguard.providers.ad.sd.dacl_edit import (
    INHERITED_ACE,
    access_allowed_ace,
    control_access_ace,
    control_access_decision,
    dacl_descriptor,
    grants_control_access,
    sid_to_bytes,
    with_aces_added,
    with_aces_removed,
)
from dirguard.providers.ad.sd.security_descriptor import parse_security_descriptor, sid_from_bytes
from dirguard.providers.ad.setup.account_grants import (
    EXTENDED_RIGHT_GUIDS,
    account_grants,
    group_identity,
    operator_needs,
)

DOMAIN_SID = "S-1-5-21-1000-2000-3000"
ACCOUNT = f"{DOMAIN_SID}-1105"
GROUP = f"{DOMAIN_SID}-1200"
REANIMATE = EXTENDED_RIGHT_GUIDS["Reanimate Tombstones"]
RDC_ALL = EXTENDED_RIGHT_GUIDS["Replicate Directory Changes All"]


def test_read_only_mode_gets_no_rollback_rights() -> None:
    names = {g.name for g in account_grants(Mode.READ_ONLY, list(Partition))}
    rollback = {
        p.name
        for f in ("ad.recover-deleted", "ad.rollback.domain", "ad.rollback.schema")
        for p in MANIFEST.by_feature(f"guardian.{f}", Mode.FULL)
    }
    assert names
    assert not names & rollback
    assert "Replicate Directory Changes All" in names  # DirSync needs it in monitoring too


def test_full_mode_adds_admin_groups_only_for_the_partitions_chosen() -> None:
    domain_only = {g.name for g in account_grants(Mode.FULL, [Partition.DOMAIN])}
    everything = {g.name for g in account_grants(Mode.FULL, list(Partition))}
    assert {"Domain Admins", "Reanimate Tombstones"} <= domain_only
    assert not {"Enterprise Admins", "Schema Admins"} & domain_only
    assert everything - domain_only == {"Enterprise Admins", "Schema Admins"}
    every_row = {
        p.name
        for p in MANIFEST.permissions
        if p.principal is Principal.GUARDIAN_AD_ACCOUNT and Mode.FULL in p.modes
    }
    assert everything == every_row


def test_every_grant_names_the_features_it_serves() -> None:
    for grant in account_grants(Mode.FULL, list(Partition)):
        needing = {f.key for f in MANIFEST.features_for(grant.permission.key, Mode.FULL)}
        assert grant.features
        assert set(grant.features) <= needing
        if grant.permission.kind is Kind.AD_EXTENDED_RIGHT:
            assert grant.right_guid == EXTENDED_RIGHT_GUIDS[grant.name]


def test_operator_needs_the_admin_group_of_each_partition() -> None:
    needs = operator_needs([Partition.SCHEMA])
    assert [(n.partition, n.group) for n in needs] == [
        (Partition.DOMAIN, "Domain Admins"),
        (Partition.SCHEMA, "Schema Admins"),
    ]
    assert {n.setup_name for n in needs} == {"Domain Admin", "Schema Admin"}


def test_groups_are_found_by_well_known_sid_where_ad_has_one() -> None:
    root = "S-1-5-21-9-9-9"
    assert group_identity("Domain Admins").sid_in(DOMAIN_SID, root) == f"{DOMAIN_SID}-512"
    assert group_identity("enterprise admins").sid_in(DOMAIN_SID, root) == f"{root}-519"
    assert group_identity("Event Log Readers").sid_in(DOMAIN_SID, root) == "S-1-5-32-573"
    assert group_identity("ADSyncOperators").sid_in(DOMAIN_SID, root) is None


def test_sid_bytes_round_trip_and_bad_sids_are_named() -> None:
    assert sid_from_bytes(sid_to_bytes(ACCOUNT))[0] == ACCOUNT
    with pytest.raises(ValueError, match="'S-1-x' is not a SID string"):
        sid_to_bytes("S-1-x")


def _inherited(ace: bytes) -> bytes:
    return ace[:1] + bytes([ace[1] | INHERITED_ACE]) + ace[2:]


def test_a_grant_goes_after_explicit_aces_and_before_inherited_ones() -> None:
    sd = dacl_descriptor(
        [access_allowed_ace("S-1-5-11", 0x10), _inherited(access_allowed_ace("S-1-1-0", 0x4))]
    )
    edited = with_aces_added(sd, [control_access_ace(ACCOUNT, REANIMATE)])
    dacl = parse_security_descriptor(edited).dacl
    assert dacl is not None
    assert [a.sddl() for a in dacl.aces] == [
        "(A;;RP;;;AU)",
        f"(OA;;CR;{REANIMATE};;{ACCOUNT})",
        "(A;ID;LC;;;WD)",
    ]
    assert grants_control_access(dacl.aces[1], ACCOUNT, REANIMATE)
    assert not grants_control_access(dacl.aces[1], ACCOUNT, RDC_ALL)

    removed, count = with_aces_removed(
        edited, lambda a: grants_control_access(a, ACCOUNT, REANIMATE)
    )
    assert count == 1
    assert parse_security_descriptor(removed).sddl() == parse_security_descriptor(sd).sddl()


def test_the_right_is_evaluated_in_dacl_order_for_the_whole_token() -> None:
    deny = control_access_ace(GROUP, REANIMATE)
    deny = bytes([0x06]) + deny[1:]  # the same ACE as ACCESS_DENIED_OBJECT
    allow = control_access_ace(ACCOUNT, REANIMATE)
    allowed, ace = control_access_decision(dacl_descriptor([allow]), REANIMATE, {ACCOUNT})
    assert allowed and ace is not None and ace.sid == ACCOUNT
    assert control_access_decision(dacl_descriptor([allow]), RDC_ALL, {ACCOUNT}) == (False, None)
    assert not control_access_decision(dacl_descriptor([deny, allow]), REANIMATE, {ACCOUNT, GROUP})[
        0
    ]
    assert control_access_decision(dacl_descriptor([deny, allow]), REANIMATE, {ACCOUNT})[0]
    via_group = dacl_descriptor([access_allowed_ace(GROUP, 0x1000_0000)])  # GENERIC_ALL
    assert control_access_decision(via_group, RDC_ALL, {ACCOUNT, GROUP})[0]
