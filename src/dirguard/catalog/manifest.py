"""The permission manifest: every permission row and feature, checked and indexed at import.

A feature lists every permission it may need; what it needs in one mode is the subset held in
that mode (``Permission.modes``). ``select`` answers "what must be granted, and why" for a
service, a mode and/or a feature.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from dirguard.catalog.features import FEATURES
from dirguard.catalog.permission_model import Feature, Mode, Permission, Principal, Service
from dirguard.catalog.permission_rows_administrator import ADMINISTRATOR_PERMISSIONS
from dirguard.catalog.permission_rows_administrator_ad import ADMINISTRATOR_AD_PERMISSIONS
from dirguard.catalog.permission_rows_guardian import GUARDIAN_PERMISSIONS


class ManifestError(ValueError):
    """The manifest's rows contradict each other (a programming error, raised at import)."""


def _needed_in(feature: Feature, permission: Permission, mode: Mode | None) -> bool:
    modes = feature.modes & permission.modes
    return bool(modes) if mode is None else mode in modes


@dataclass(frozen=True)
class PermissionManifest:
    """All permissions and features, validated, with lookups by service, mode and feature."""

    permissions: tuple[Permission, ...]
    features: tuple[Feature, ...]

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        keys = [p.key for p in self.permissions]
        for key in {k for k in keys if keys.count(k) > 1}:
            raise ManifestError(f"permission key {key!r} is declared more than once")
        feature_keys = [f.key for f in self.features]
        for key in {k for k in feature_keys if feature_keys.count(k) > 1}:
            raise ManifestError(f"feature key {key!r} is declared more than once")
        by_key = {p.key: p for p in self.permissions}
        used: set[str] = set()
        for feature in self.features:
            if not feature.permissions:
                raise ManifestError(f"feature {feature.key!r} lists no permissions")
            for key in feature.permissions:
                permission = by_key.get(key)
                if permission is None:
                    raise ManifestError(f"feature {feature.key!r} refers to unknown {key!r}")
                if permission.service is not feature.service:
                    raise ManifestError(
                        f"feature {feature.key!r} refers to {key!r} of another service"
                    )
                if not feature.modes & permission.modes:
                    raise ManifestError(
                        f"feature {feature.key!r} lists {key!r}, which is held in none of the"
                        " feature's modes"
                    )
                used.add(key)
            for mode in feature.modes:
                if not any(_needed_in(feature, by_key[k], mode) for k in feature.permissions):
                    raise ManifestError(f"feature {feature.key!r} needs nothing in mode {mode}")
        unused = [k for k in keys if k not in used]
        if unused:
            raise ManifestError(f"permissions needed by no feature: {', '.join(unused)}")
        for permission in self.permissions:
            for mode in permission.modes:
                if not any(
                    permission.key in f.permissions and _needed_in(f, permission, mode)
                    for f in self.features
                ):
                    raise ManifestError(
                        f"permission {permission.key!r} is held in mode {mode} but no feature"
                        " needs it there"
                    )
            if not permission.modes:
                raise ManifestError(f"permission {permission.key!r} is held in no mode")
            if not permission.seeds and not permission.added_by_project:
                raise ManifestError(
                    f"permission {permission.key!r} names no seed and no added_by_project reason"
                )

    # ---- lookups -------------------------------------------------------------------------

    def permission(self, key: str) -> Permission:
        for permission in self.permissions:
            if permission.key == key:
                return permission
        raise KeyError(f"unknown permission {key!r}")

    def feature(self, key: str) -> Feature:
        for feature in self.features:
            if feature.key == key:
                return feature
        known = ", ".join(f.key for f in self.features)
        raise KeyError(f"unknown feature {key!r}; known features: {known}")

    def feature_keys(self, service: Service | None = None) -> tuple[str, ...]:
        return tuple(f.key for f in self.features if service is None or f.service is service)

    def by_service(self, service: Service) -> tuple[Permission, ...]:
        return tuple(p for p in self.permissions if p.service is service)

    def by_mode(self, mode: Mode) -> tuple[Permission, ...]:
        return tuple(p for p in self.permissions if mode in p.modes)

    def by_feature(self, feature: str, mode: Mode | None = None) -> tuple[Permission, ...]:
        """Permissions ``feature`` needs (in ``mode``, or in any of its modes)."""
        found = self.feature(feature)
        return tuple(
            p for p in (self.permission(k) for k in found.permissions) if _needed_in(found, p, mode)
        )

    def features_for(self, permission_key: str, mode: Mode | None = None) -> tuple[Feature, ...]:
        """Features that need ``permission_key`` (in ``mode``, or in any mode)."""
        permission = self.permission(permission_key)
        return tuple(
            f
            for f in self.features
            if permission_key in f.permissions and _needed_in(f, permission, mode)
        )

    def principals(self, service: Service | None = None) -> tuple[Principal, ...]:
        """Principals holding permissions, in declaration order."""
        seen: dict[Principal, None] = {}
        for permission in self.permissions:
            if service is None or permission.service is service:
                seen.setdefault(permission.principal)
        return tuple(seen)

    def select(
        self,
        service: Service | None = None,
        mode: Mode | None = None,
        feature: str | None = None,
    ) -> tuple[Permission, ...]:
        """Permissions needed, filtered by service, mode and feature, in declaration order.

        With a ``mode``, only permissions some feature needs in that mode; with a ``feature``,
        only what that feature needs. Raises ``KeyError`` (naming the valid keys) for an unknown
        feature.
        """
        candidates: Iterable[Permission] = self.permissions
        if feature is not None:
            wanted = {p.key for p in self.by_feature(feature, mode)}
            candidates = (p for p in candidates if p.key in wanted)
        return tuple(
            p
            for p in candidates
            if (service is None or p.service is service)
            and (mode is None or self.features_for(p.key, mode))
        )

    def features_by_permission(self) -> Mapping[str, tuple[str, ...]]:
        """Permission key -> keys of the features that list it."""
        table: dict[str, list[str]] = {p.key: [] for p in self.permissions}
        for feature in self.features:
            for key in feature.permissions:
                table[key].append(feature.key)
        return MappingProxyType({k: tuple(v) for k, v in table.items()})


MANIFEST = PermissionManifest(
    permissions=ADMINISTRATOR_PERMISSIONS + ADMINISTRATOR_AD_PERMISSIONS + GUARDIAN_PERMISSIONS,
    features=FEATURES,
)


PRINCIPAL_TITLES: Mapping[Principal, str] = MappingProxyType(
    {
        Principal.ADMINISTRATOR_SETUP_APP: "dirguard Administrator app (setup application)",
        Principal.ADMINISTRATOR_API_APP: "dirguard Administrator API Access app",
        Principal.GUARDIAN_APP: "dirguard Guardian app (service principal)",
        Principal.GUARDIAN_AD_ACCOUNT: "dirguard Guardian AD account (gMSA)",
        Principal.AD_OPERATOR: "AD operator (the person running the AD connection setup)",
        Principal.ADMINISTRATOR_AD_ACCOUNT: "dirguard Administrator AD account",
    }
)
"""How people see each principal (CLI tables, generated docs)."""


def display_section(permission: Permission, mode: Mode | None = None) -> str:
    """The seed section to show a row under: in read-only mode the read-only section where the
    seed lists the row under several (the gMSA groups), else the first."""
    sections = [s.section for s in permission.seeds]
    if not sections:
        return "Added by the project"
    if mode is Mode.READ_ONLY:
        for section in sections:
            if "read-only" in section:
                return section
    return sections[0]
