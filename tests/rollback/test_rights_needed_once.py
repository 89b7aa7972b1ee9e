"""`rollback check` names each group a plan needs once, with its partition, though a
reanimation needs it for two features (restore and reanimate): it printed "Domain Admins
(domain), Domain Admins (domain)"."""

from dirguard.catalog.resource_type import Partition
from dirguard.providers.ad.plan.partition_rights import Need, RightsVerdict


def test_a_group_needed_for_two_features_is_named_once() -> None:
    needs = tuple(
        Need(group="Domain Admins", partition=Partition.DOMAIN, feature=feature)
        for feature in ("rollback.restore", "rollback.reanimate")
    )
    verdict = RightsVerdict(account="ro", partitions=(Partition.DOMAIN,), needs=needs, missing=())
    assert verdict.needed() == ("Domain Admins (domain)",)
