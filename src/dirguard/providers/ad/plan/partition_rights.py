"""Which AD groups a rollback needs, and which of them an account lacks (pure).

The rights come from the rows of the objects the plan's steps write: each row's restore rules
name the features every restore write needs (``guardian.ad.rollback.domain``,
``guardian.ad.rollback.configuration``, ``guardian.ad.rollback.schema``) and those a tombstone
reanimation needs besides (``guardian.ad.recover-deleted``); the permission manifest gives each
feature's groups. Only the manifest's *group* rows are checked here; the Reanimate Tombstones
extended right of ``recover-deleted`` is an ACE on the domain object that Domain Admins hold by
default, so it is not read from the account's token. A write whose object has no known row (an
undelete of an object the store does not know) needs what any row of its DN's partition needs.
The partition each DN lies in is named with every need, and a DN outside the domain's naming
contexts is refused.

A group is held when the account's token names it, or names a SID whose relative id is the
group's well-known one (512, 519, 518), so a renamed or localized built-in group still counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind
from dirguard.catalog.resource_type import LdapSource, Partition, ResourceType
from dirguard.providers.ad.plan.restore_plan import PlannedStep, StepKind
from dirguard.providers.ad.sd import sddl_names
from dirguard.providers.ad.types import AD_TYPES

WELL_KNOWN_RIDS: Mapping[str, int] = {
    name: rid
    for rid, alias in sddl_names.DOMAIN_RIDS.items()
    for name, wanted in (
        ("domain admins", "DA"),
        ("schema admins", "SA"),
        ("enterprise admins", "EA"),
    )
    if alias == wanted
}
"""Relative ids of the built-in admin groups (the same in every domain, whatever the name)."""


class PartitionError(ValueError):
    """A DN lies in none of the domain's naming contexts."""


@dataclass(frozen=True, kw_only=True)
class PartitionBases:
    """Where each partition starts (the rootDSE's naming contexts)."""

    domain: str
    configuration: str
    schema: str
    applications: tuple[str, ...] = ()
    """Application partitions (e.g. DomainDnsZones): rolled back with configuration rights."""


@dataclass(frozen=True, kw_only=True)
class WriteTarget:
    """One DN a plan writes, the row of the object written there, and whether it is a
    reanimation."""

    dn: str
    resource_type: ResourceType | None
    """``None``: the store does not know the object (yet)."""
    reanimation: bool = False

    def features(self, partition: Partition) -> tuple[str, ...]:
        """What the write needs, from its row (or any row of ``partition``)."""
        rows = (
            [self.resource_type]
            if self.resource_type is not None
            else [
                t
                for t in AD_TYPES
                if isinstance(t.source, LdapSource) and t.source.partition is partition
            ]
        )
        found = (f for row in rows for f in row.restore.rights(reanimation=self.reanimation))
        return tuple(dict.fromkeys(found))


def write_targets(
    steps: Iterable[PlannedStep], rows: Mapping[str, ResourceType]
) -> list[WriteTarget]:
    """Every DN ``steps`` write (moves and reanimations: both ends), each with the row of the
    object written (``rows`` by objectGUID; an object missing there has no known row)."""
    targets: list[WriteTarget] = []
    for step in steps:
        reanimation = step.kind is StepKind.REANIMATE
        row = rows.get(step.object_guid)
        targets.append(WriteTarget(dn=step.dn, resource_type=row, reanimation=reanimation))
        if step.kind in (StepKind.MOVE, StepKind.REANIMATE) and step.values:
            targets.append(
                WriteTarget(dn=str(step.values[0]), resource_type=row, reanimation=reanimation)
            )
    return targets


@dataclass(frozen=True, kw_only=True)
class HeldGroup:
    """One group in the account's token: its name and SID."""

    name: str
    sid: str


@dataclass(frozen=True, kw_only=True)
class Need:
    """One group a plan needs, and why (the partition and the feature that names it)."""

    group: str
    partition: Partition
    feature: str


@dataclass(frozen=True, kw_only=True)
class RightsVerdict:
    """The outcome of a pre-check: what the plan needs, and what the account lacks."""

    account: str
    partitions: tuple[Partition, ...]
    needs: tuple[Need, ...]
    missing: tuple[Need, ...]

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def missing_groups(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n.group for n in self.missing))

    def message(self) -> str:
        if self.ok:
            return f"{self.account} holds every group the plan needs"
        parts = [
            f"{group} (needed for the {', '.join(_partitions_of(self.missing, group))} partition)"
            for group in self.missing_groups
        ]
        return (
            f"{self.account} is not a member of {'; '.join(parts)}; nothing was written. "
            "Add the account to the group, or configure elevation_bind_upn and "
            "elevation_password for just-in-time elevation"
        )

    def needed(self) -> tuple[str, ...]:
        """What the steps need, as people read it: each group with its partition, once (a
        reanimation needs Domain Admins for two features)."""
        return tuple(dict.fromkeys(f"{n.group} ({n.partition.value})" for n in self.needs))

    def as_dict(self) -> dict[str, object]:
        return {
            "account": self.account,
            "partitions": [p.value for p in self.partitions],
            "needs": [_need_dict(n) for n in self.needs],
            "missing": [_need_dict(n) for n in self.missing],
            "ok": self.ok,
        }


def _need_dict(need: Need) -> dict[str, str]:
    return {"group": need.group, "partition": need.partition.value, "feature": need.feature}


def _partitions_of(needs: Iterable[Need], group: str) -> list[str]:
    return list(dict.fromkeys(n.partition.value for n in needs if n.group == group))


def feature_groups(feature: str) -> tuple[str, ...]:
    """The catalog's group names for ``feature`` (its AD group rows only)."""
    return tuple(p.name for p in MANIFEST.by_feature(feature) if p.kind is Kind.AD_GROUP)


def _norm(dn: str) -> str:
    return ",".join(part.strip() for part in dn.lower().split(","))


def _under(dn: str, base: str) -> bool:
    dn_n, base_n = _norm(dn), _norm(base)
    return dn_n == base_n or dn_n.endswith("," + base_n)


def partition_of(dn: str, bases: PartitionBases) -> Partition:
    """The partition holding ``dn``; the most specific naming context wins (the schema lies
    under the configuration, which lies under the forest root domain's name)."""
    if _under(dn, bases.schema):
        return Partition.SCHEMA
    if _under(dn, bases.configuration):
        return Partition.CONFIGURATION
    if any(_under(dn, app) for app in bases.applications):
        return Partition.CONFIGURATION
    if _under(dn, bases.domain):
        return Partition.DOMAIN
    raise PartitionError(
        f"{dn} is in none of this domain's naming contexts ({bases.domain}, "
        f"{bases.configuration}, {bases.schema}); is the plan for another domain?"
    )


def needs_for(
    targets: Iterable[WriteTarget], bases: PartitionBases
) -> tuple[tuple[Partition, ...], tuple[Need, ...]]:
    """The partitions and groups needed to write each target."""
    partitions: dict[Partition, None] = {}
    needs: dict[tuple[str, Partition, str], Need] = {}
    for target in targets:
        partition = partition_of(target.dn, bases)
        partitions[partition] = None
        for feature in target.features(partition):
            for group in feature_groups(feature):
                needs.setdefault(
                    (group.lower(), partition, feature),
                    Need(group=group, partition=partition, feature=feature),
                )
    return tuple(partitions), tuple(needs.values())


def holds(group: str, held: Iterable[HeldGroup]) -> bool:
    """Whether the token names ``group``, by name or by its well-known relative id."""
    rid = WELL_KNOWN_RIDS.get(group.lower())
    for entry in held:
        if entry.name.lower() == group.lower():
            return True
        if rid is not None and entry.sid.rsplit("-", 1)[-1] == str(rid):
            return True
    return False


def verdict(
    account: str,
    targets: Iterable[WriteTarget],
    bases: PartitionBases,
    held: Iterable[HeldGroup],
) -> RightsVerdict:
    """What the account lacks to write every target."""
    held_list = list(held)
    partitions, needs = needs_for(targets, bases)
    missing = tuple(n for n in needs if not holds(n.group, held_list))
    return RightsVerdict(account=account, partitions=partitions, needs=needs, missing=missing)
