"""The rights check's pure part: which partition a DN is in, which groups the rows of the
written objects need through the manifest, and what an account's token lacks (no DC needed: this
is the logic the DC tests rely on)."""

from __future__ import annotations

import pytest

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.resource_type import Partition
from dirguard.providers.ad.plan.partition_rights import (
    HeldGroup,
    PartitionBases,
    WriteTarget,
    feature_groups,
    partition_of,
    verdict,
    write_targets,
)
from dirguard.providers.ad.plan.restore_plan import PlannedStep, StepKind
from dirguard.providers.registry import RESOURCE_TYPES

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
        WriteTarget(dn="CN=a,DC=corp,DC=example,DC=com", resource_type=RESOURCE_TYPES["ad.user"]),
        WriteTarget(
            dn="CN=Sites,CN=Configuration,DC=corp,DC=example,DC=com",
            resource_type=RESOURCE_TYPES["ad.configuration_object"],
        ),
        WriteTarget(
            dn="CN=b,CN=Schema,CN=Configuration,DC=corp,DC=example,DC=com",
            resource_type=RESOURCE_TYPES["ad.schema_object"],
        ),
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
    targets = [
        WriteTarget(dn="CN=a,DC=corp,DC=example,DC=com", resource_type=None, reanimation=True)
    ]
    assert verdict("CORP\\adm", targets, BASES, [HeldGroup(name="Domain Admins", sid="S-1")]).ok
    localized = [HeldGroup(name="Domänen-Admins", sid=f"{DOMAIN_SID}-512")]
    assert verdict("CORP\\adm", targets, BASES, localized).ok
    other = [HeldGroup(name="Enterprise Admins", sid=f"{DOMAIN_SID}-519")]
    assert verdict("CORP\\adm", targets, BASES, other).missing_groups == ("Domain Admins",)


def test_the_rights_come_from_the_row_of_the_written_object() -> None:
    """A reanimation needs the row's reanimation features besides its writes; an object of no
    known row needs what any row of its DN's partition needs."""
    subnet = "CN=10.1.2.0/24,CN=Subnets,CN=Sites,CN=Configuration,DC=corp,DC=example,DC=com"
    row = RESOURCE_TYPES["ad.configuration_object"]
    for resource_type in (row, None):
        written = WriteTarget(dn=subnet, resource_type=resource_type)
        back = WriteTarget(dn=subnet, resource_type=resource_type, reanimation=True)
        held = [HeldGroup(name="Domain Users", sid=f"{DOMAIN_SID}-513")]
        assert verdict("CORP\\ro", [written], BASES, held).missing_groups == ("Enterprise Admins",)
        assert verdict("CORP\\ro", [back], BASES, held).missing_groups == (
            "Enterprise Admins",
            "Domain Admins",
        )
    features = {n.feature for n in verdict("CORP\\ro", [back], BASES, []).needs}
    assert features == set(row.restore.rights(reanimation=True))
    assert features <= set(row.write_features)


def test_each_step_writes_its_dns_with_the_row_of_its_object() -> None:
    user = RESOURCE_TYPES["ad.user"]
    old, new = "CN=a,OU=Old,DC=corp,DC=example,DC=com", "CN=a,OU=New,DC=corp,DC=example,DC=com"
    steps = [
        PlannedStep(kind=StepKind.MOVE, object_guid="g1", dn=old, values=(new,), description="m"),
        PlannedStep(
            kind=StepKind.REANIMATE, object_guid="g2", dn="x", values=(new,), description="r"
        ),
        PlannedStep(kind=StepKind.SET, object_guid="g2", dn=new, attribute="c", description="s"),
    ]
    assert write_targets(steps, {"g1": user}) == [
        WriteTarget(dn=old, resource_type=user),
        WriteTarget(dn=new, resource_type=user),
        WriteTarget(dn="x", resource_type=None, reanimation=True),
        WriteTarget(dn=new, resource_type=None, reanimation=True),
        WriteTarget(dn=new, resource_type=None),
    ]
