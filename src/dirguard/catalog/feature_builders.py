"""Building blocks of the feature declarations (``features_administrator``,
``features_guardian``): permission keys looked up by name among the permission rows, and
constructors of ``Feature`` rows for each service.

A name that has no row raises ``LookupError`` at import, so a feature cannot refer to a
permission the catalog does not declare.
"""

from __future__ import annotations

from dirguard.catalog.permission_model import Feature, Kind, Mode, Permission, Principal, Service
from dirguard.catalog.permission_rows_administrator import ADMINISTRATOR_PERMISSIONS
from dirguard.catalog.permission_rows_administrator_ad import ADMINISTRATOR_AD_PERMISSIONS
from dirguard.catalog.permission_rows_guardian import GUARDIAN_PERMISSIONS

BOTH = frozenset({Mode.READ_ONLY, Mode.FULL})
FULL = frozenset({Mode.FULL})

_ROWS: dict[tuple[Principal, Kind, str], Permission] = {
    (p.principal, p.kind, p.name): p
    for p in ADMINISTRATOR_PERMISSIONS + ADMINISTRATOR_AD_PERMISSIONS + GUARDIAN_PERMISSIONS
}


def permission_key(principal: Principal, kinds: tuple[Kind, ...], name: str) -> str:
    """Key of the principal's row of that name, of the first of ``kinds`` that has one."""
    for kind in kinds:
        row = _ROWS.get((principal, kind, name))
        if row is not None:
            return row.key
    raise LookupError(f"a feature refers to {principal.value} {name!r}, which has no row")


def adm(*names: str) -> tuple[str, ...]:
    """Keys of Administrator API Access app permissions."""
    kinds = (Kind.GRAPH_APPLICATION, Kind.GRAPH_DELEGATED)
    return tuple(permission_key(Principal.ADMINISTRATOR_API_APP, kinds, n) for n in names)


def app(*names: str) -> tuple[str, ...]:
    """Keys of Guardian app-only permissions (Graph, Exchange, Office 365) and roles."""
    kinds = (
        Kind.GRAPH_APPLICATION,
        Kind.EXCHANGE_APPLICATION,
        Kind.O365_MANAGEMENT_APPLICATION,
        Kind.DIRECTORY_ROLE,
        Kind.AZURE_RBAC_ROLE,
    )
    return tuple(permission_key(Principal.GUARDIAN_APP, kinds, n) for n in names)


def dlg(*names: str) -> tuple[str, ...]:
    """Keys of Guardian delegated permissions."""
    kinds = (
        Kind.GRAPH_DELEGATED,
        Kind.EXCHANGE_DELEGATED,
        Kind.O365_MANAGEMENT_DELEGATED,
        Kind.AZURE_SERVICE_MANAGEMENT_DELEGATED,
    )
    return tuple(permission_key(Principal.GUARDIAN_APP, kinds, n) for n in names)


def gmsa(*names: str) -> tuple[str, ...]:
    """Keys of the Guardian AD account's groups, extended rights and container access."""
    kinds = (Kind.AD_GROUP, Kind.AD_EXTENDED_RIGHT, Kind.AD_CONTAINER_ACCESS)
    return tuple(permission_key(Principal.GUARDIAN_AD_ACCOUNT, kinds, n) for n in names)


def adm_ad(*names: str) -> tuple[str, ...]:
    """Keys of the Administrator AD account's groups."""
    return tuple(
        permission_key(Principal.ADMINISTRATOR_AD_ACCOUNT, (Kind.AD_GROUP,), n) for n in names
    )


def operator(name: str) -> tuple[str, ...]:
    return (permission_key(Principal.AD_OPERATOR, (Kind.AD_SETUP_GROUP,), name),)


def _feature(
    service: Service,
    key: str,
    title: str,
    description: str,
    permissions: tuple[str, ...],
    modes: frozenset[Mode] = BOTH,
) -> Feature:
    return Feature(
        key=key,
        service=service,
        title=title,
        description=description,
        permissions=permissions,
        modes=modes,
    )


def administrator(key: str, title: str, description: str, permissions: tuple[str, ...]) -> Feature:
    return _feature(Service.ADMINISTRATOR, f"administrator.{key}", title, description, permissions)


def guardian(
    key: str,
    title: str,
    description: str,
    permissions: tuple[str, ...],
    modes: frozenset[Mode] = BOTH,
) -> Feature:
    return _feature(Service.GUARDIAN, f"guardian.{key}", title, description, permissions, modes)


_BY_KEY: dict[str, Permission] = {p.key: p for p in _ROWS.values()}


def audit_and_recover(
    key: str, what: str, permissions: tuple[str, ...], *, read: tuple[str, ...] = ()
) -> tuple[Feature, ...]:
    """A seed usage 'audit and recover X': monitoring in both modes, recovery in full mode.

    ``permissions`` are the seed's; ``read`` the permissions that only read X. Monitoring needs
    both, each in the modes it is held in (read-only mode: the read ones; full mode: the seed's
    write permissions, which also read, and the read ones held there too); recovery needs the
    seed's permissions and the read ones held in full mode."""
    in_full = tuple(k for k in read if Mode.FULL in _BY_KEY[k].modes)
    return (
        guardian(
            f"{key}.monitor",
            f"Monitor {what}",
            f"Collect and audit changes of {what}.",
            tuple(dict.fromkeys(read + permissions)),
        ),
        guardian(
            f"{key}.rollback",
            f"Recover {what}",
            f"Roll back changes of {what}.",
            tuple(dict.fromkeys(in_full + permissions)),
            FULL,
        ),
    )
