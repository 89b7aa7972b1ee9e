"""The permissions a resource type needs to be read or written, through its features and the
permission manifest (pure)."""

from __future__ import annotations

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Mode, Permission
from dirguard.catalog.resource_type import ResourceType


def modes_offered(resource_type: ResourceType, *, write: bool) -> frozenset[Mode]:
    """Modes in which some read (or write) feature of the type is offered."""
    keys = resource_type.write_features if write else resource_type.read_features
    modes: set[Mode] = set()
    for key in keys:
        modes |= MANIFEST.feature(key).modes
    return frozenset(modes)


def permissions_for_type(
    resource_type: ResourceType, mode: Mode, *, write: bool
) -> tuple[Permission, ...]:
    """What reading (or writing) the type needs in ``mode``, via its features, in manifest order."""
    keys = resource_type.write_features if write else resource_type.read_features
    wanted = {p.key for key in keys for p in MANIFEST.by_feature(key, mode)}
    return tuple(p for p in MANIFEST.permissions if p.key in wanted)
