"""The rights check's pure part: which partition a DN is in, which groups the catalog names for
it, and what an account's token lacks (no DC needed: this is the logic the DC tests rely on)."""

from __future__ import annotations

import pytest

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.resource_type import Partition
from dirguard.providers.ad.plan.partition_rights import (
    HeldGroup,
    PartitionBases,
    feature_groups,
    partition_of,
    verdict,
)

BASES = PartitionBases(
    domain="DC=corp,DC=example,DC=com",
    configuration="CN=Configuration,DC=corp,DC=example,DC=com",
    schema="CN=Schema,CN=Configuration,DC=corp,DC=example,DC=com",
    applications=("DC=DomainDnsZones,DC=corp,DC=example,DC=com",),
)
DOMAIN_SID = "S-1-5-21-1-2-3"


@pytest.mark.parametrize(
    ("dn", "partition"),
    [
        ("CN=ann,OU=Sales,DC=corp,DC=example,DC=com", Partition.DOMAIN),
        ("cn=ann,ou=sales, dc=CORP,dc=example,dc=com", Partition.DOMAIN),
        ("CN=Sites,CN=Configuration,DC=corp,DC=example,DC=com", Partition.CONFIGURATION),
        (
            "CN=x,DC=corp.example.com,DC=DomainDnsZones,DC=corp,DC=example,DC=com",
            Partition.CONFIGURATION,
        ),
        ("CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=example,DC=com", Partition.SCHEMA),
    ],
)
def test_partition_of_picks_the_most_specific_naming_context(dn: str, partition: Partition) -> None:
    assert partition_of(dn, BASES) is partition


def test_a_dn_outside_the_forest_is_an_error() -> None:
    with pytest.raises(ValueError, match="none of this domain's naming contexts"):
        partition_of("CN=x,DC=other,DC=test", BASES)


def test_groups_come_from_the_catalog_features() -> None:
    for partition, group in (
        ("domain", "Domain Admins"),
        ("configuration", "Enterprise Admins"),
        ("schema", "Schema Admins"),
    ):
        names = [p.name for p in MANIFEST.by_feature(f"guardian.ad.rollback.{partition}")]
        assert feature_groups(f"guardian.ad.rollback.{partition}") == (group,) == tuple(names)
    # recover-deleted also names an extended right, which is not a group
    assert feature_groups("guardian.ad.recover-deleted") == ("Domain Admins",)


def test_missing_groups_are_named_with_their_partition() -> None:
    targets = [
        ("CN=a,DC=corp,DC=example,DC=com", False),
        ("CN=Sites,CN=Configuration,DC=corp,DC=example,DC=com", False),
        ("CN=b,CN=Schema,CN=Configuration,DC=corp,DC=example,DC=com", False),
    ]
    held = [HeldGroup(name="Domain Users", sid=f"{DOMAIN_SID}-513")]
    result = verdict("CORP\\ro", targets, BASES, held)
    assert not result.ok
    assert result.missing_groups == ("Domain Admins", "Enterprise Admins", "Schema Admins")
    text = result.message()
    assert "CORP\\ro is not a member of Domain Admins (needed for the domain partition)" in text
    assert "Schema Admins (needed for the schema partition)" in text
    assert "nothing was written" in text


def test_a_group_is_held_by_name_or_by_its_well_known_rid() -> None:
    targets = [("CN=a,DC=corp,DC=example,DC=com", True)]
    assert verdict("CORP\\adm", targets, BASES, [HeldGroup(name="Domain Admins", sid="S-1")]).ok
    localized = [HeldGroup(name="Domänen-Admins", sid=f"{DOMAIN_SID}-512")]
    assert verdict("CORP\\adm", targets, BASES, localized).ok
    other = [HeldGroup(name="Enterprise Admins", sid=f"{DOMAIN_SID}-519")]
    assert verdict("CORP\\adm", targets, BASES, other).missing_groups == ("Domain Admins",)
