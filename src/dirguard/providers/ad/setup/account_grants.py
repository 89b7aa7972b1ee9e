"""What dirguard's AD service account must hold, per mode and partition, and what the operator
setting it up must hold (pure: reads the permission catalog, no I/O).

The catalog's ``guardian-ad-account`` rows are the account's groups (``ad-group``), extended
rights (``ad-extended-right``) and rights on a container (``ad-container-access``) with the
modes they are held in; a row is needed when a feature that lists it is offered in the mode and
applies to a selected partition (the
``guardian.ad.rollback.<partition>`` features apply to their partition only, every other AD
feature to the domain). The operator's needs come from ``guardian.ad.setup.<partition>``: the
setup row (``Domain Admin``…) is held by being a member of the group that the same partition's
rollback feature names (``Domain Admins``…).

Groups are found by their well-known SID where AD has one (a renamed or localized group still
counts) and otherwise by name; extended rights by their rightsGuid (MS-ADTS 5.1.3.2.1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Mode, Permission, Principal, Service
from dirguard.catalog.resource_type import Partition
from dirguard.providers.ad.sd import sddl_names
from dirguard.providers.ad.sd.dacl_edit import LIST_CHILDREN, READ_PROPERTY

EXTENDED_RIGHT_GUIDS: Final = MappingProxyType(
    {
        "Replicate Directory Changes": "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2",
        "Replicate Directory Changes All": "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2",
        "Reanimate Tombstones": "45ec5156-db7e-47bb-b53f-dbeb2d03c40f",
    }
)
"""Catalog extended-right name -> rightsGuid (the object type of the ACE granting it)."""


@dataclass(frozen=True, kw_only=True)
class ContainerAccess:
    """Rights on one container of the domain partition (an ``ad-container-access`` row)."""

    rdn: str
    """The container under the domain head, e.g. ``CN=Deleted Objects``."""
    mask: int
    """The access mask an ACCESS_ALLOWED ACE for the account grants there."""
    rights: str
    """The same as SDDL rights letters (``LCRP``), for the operator's commands."""
    deleted_container: bool
    """The container holds deleted objects: it is read and written with Show Deleted."""

    def dn(self, naming_context: str) -> str:
        return f"{self.rdn},{naming_context}"


CONTAINER_ACCESS: Final = MappingProxyType(
    {
        "List Contents and Read Property on Deleted Objects": ContainerAccess(
            rdn="CN=Deleted Objects",
            mask=LIST_CHILDREN | READ_PROPERTY,
            rights="LCRP",
            deleted_container=True,
        ),
    }
)
"""Catalog container-access name -> where and what it grants."""

GroupScope = Literal["domain", "forest-root", "builtin", "by-name"]


@dataclass(frozen=True, kw_only=True)
class GroupIdentity:
    """How to find a catalog group in a domain."""

    name: str
    scope: GroupScope
    rid: int | None = None
    """Relative id under the domain's (``domain``) or the forest root's (``forest-root``) SID."""
    sid: str | None = None
    """The full SID of a ``builtin`` group."""

    def sid_in(self, domain_sid: str, root_sid: str) -> str | None:
        """The group's SID in a domain (``None``: found by name only)."""
        if self.scope == "builtin":
            return self.sid
        if self.scope == "domain":
            return f"{domain_sid}-{self.rid}"
        if self.scope == "forest-root":
            return f"{root_sid}-{self.rid}"
        return None


def _alias_sid(alias: str) -> str:
    return next(sid for sid, name in sddl_names.WELL_KNOWN_SIDS.items() if name == alias)


def _alias_rid(alias: str) -> int:
    return next(rid for rid, name in sddl_names.DOMAIN_RIDS.items() if name == alias)


_WELL_KNOWN: Final = MappingProxyType(
    {
        "domain admins": GroupIdentity(name="Domain Admins", scope="domain", rid=_alias_rid("DA")),
        "enterprise admins": GroupIdentity(
            name="Enterprise Admins", scope="forest-root", rid=_alias_rid("EA")
        ),
        "schema admins": GroupIdentity(
            name="Schema Admins", scope="forest-root", rid=_alias_rid("SA")
        ),
        "event log readers": GroupIdentity(
            name="Event Log Readers", scope="builtin", sid=_alias_sid("ER")
        ),
        "remote management users": GroupIdentity(
            name="Remote Management Users", scope="builtin", sid=_alias_sid("RM")
        ),
    }
)


def group_identity(name: str) -> GroupIdentity:
    """How to find the catalog group ``name`` (by name when AD gives it no well-known SID, as
    for ADSyncOperators, which Entra Connect creates)."""
    return _WELL_KNOWN.get(name.lower(), GroupIdentity(name=name, scope="by-name"))


ROLLBACK_FEATURE_PREFIX = "guardian.ad.rollback."
SETUP_FEATURE_PREFIX = "guardian.ad.setup."


def _feature_partition(feature_key: str) -> Partition:
    for prefix in (ROLLBACK_FEATURE_PREFIX, SETUP_FEATURE_PREFIX):
        if feature_key.startswith(prefix):
            return Partition(feature_key.removeprefix(prefix))
    return Partition.DOMAIN


@dataclass(frozen=True, kw_only=True)
class AccountGrant:
    """One group membership or extended right the account needs, and the features it serves."""

    permission: Permission
    features: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.permission.name

    @property
    def is_group(self) -> bool:
        return self.permission.kind is Kind.AD_GROUP

    @property
    def is_right(self) -> bool:
        return self.permission.kind is Kind.AD_EXTENDED_RIGHT

    @property
    def right_guid(self) -> str:
        return EXTENDED_RIGHT_GUIDS[self.permission.name]

    @property
    def container(self) -> ContainerAccess | None:
        """Where and what an ``ad-container-access`` row grants (``None`` for other kinds)."""
        if self.permission.kind is not Kind.AD_CONTAINER_ACCESS:
            return None
        return CONTAINER_ACCESS[self.permission.name]


def account_grants(mode: Mode, partitions: Iterable[Partition]) -> tuple[AccountGrant, ...]:
    """The account's catalog rows needed in ``mode`` for ``partitions``, in catalog order."""
    chosen = set(partitions) | {Partition.DOMAIN}
    grants: list[AccountGrant] = []
    for row in MANIFEST.select(service=Service.GUARDIAN, mode=mode):
        if row.principal is not Principal.GUARDIAN_AD_ACCOUNT:
            continue
        features = tuple(
            f.key
            for f in MANIFEST.features_for(row.key, mode)
            if _feature_partition(f.key) in chosen
        )
        if features:
            grants.append(AccountGrant(permission=row, features=features))
    return tuple(grants)


@dataclass(frozen=True, kw_only=True)
class OperatorNeed:
    """A group the operator must be in to set up a partition."""

    partition: Partition
    setup_name: str
    """The catalog's setup row, e.g. ``Domain Admin``."""
    group: str
    """The group that holds it, e.g. ``Domain Admins``."""
    feature: str


def operator_needs(partitions: Iterable[Partition]) -> tuple[OperatorNeed, ...]:
    """What the operator must hold for each selected partition (the domain always)."""
    needs: list[OperatorNeed] = []
    for partition in dict.fromkeys([Partition.DOMAIN, *partitions]):
        feature = f"{SETUP_FEATURE_PREFIX}{partition.value}"
        setup = [p for p in MANIFEST.by_feature(feature) if p.kind is Kind.AD_SETUP_GROUP]
        groups = [
            p.name
            for p in MANIFEST.by_feature(f"{ROLLBACK_FEATURE_PREFIX}{partition.value}")
            if p.kind is Kind.AD_GROUP
        ]
        for row in setup:
            for group in groups:
                needs.append(
                    OperatorNeed(
                        partition=partition, setup_name=row.name, group=group, feature=feature
                    )
                )
    return tuple(needs)


def _check_catalog() -> None:
    """Every extended right and container access the catalog names is declared here (a
    programming error otherwise)."""
    for row in MANIFEST.permissions:
        if row.kind is Kind.AD_EXTENDED_RIGHT and row.name not in EXTENDED_RIGHT_GUIDS:
            raise LookupError(f"catalog right {row.name!r} has no rightsGuid in {__name__}")
        if row.kind is Kind.AD_CONTAINER_ACCESS and row.name not in CONTAINER_ACCESS:
            raise LookupError(f"catalog access {row.name!r} has no container in {__name__}")


_check_catalog()
