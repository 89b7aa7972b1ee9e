"""What the API-access application must hold for a choice of services and mode, from the manifest.

The manifest rows of the application principals (the Administrator API Access app and the
Guardian app: dirguard registers one application that is both) are sorted by how each is
granted: application permissions (app roles) and delegated permissions (scopes) per resource
application, directory roles, and Azure RBAC roles. Setup-only rows belong to the setup
application and are not the API-access app's.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Kind, Lifecycle, Mode, Permission, Principal, Service

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
EXCHANGE_APP_ID = "00000002-0000-0ff1-ce00-000000000000"
O365_MANAGEMENT_APP_ID = "c5393580-f805-4401-95e8-94b7a6ef2fc2"
AZURE_SERVICE_MANAGEMENT_APP_ID = "797f4846-ba00-4fd7-ba43-dac1f8f63013"

APP_PRINCIPALS = frozenset({Principal.ADMINISTRATOR_API_APP, Principal.GUARDIAN_APP})

ROLE = "Role"
"""requiredResourceAccess type of an application permission."""
SCOPE = "Scope"
"""requiredResourceAccess type of a delegated permission."""

RESOURCE_OF_KIND = MappingProxyType(
    {
        Kind.GRAPH_APPLICATION: (GRAPH_APP_ID, ROLE),
        Kind.GRAPH_DELEGATED: (GRAPH_APP_ID, SCOPE),
        Kind.EXCHANGE_APPLICATION: (EXCHANGE_APP_ID, ROLE),
        Kind.EXCHANGE_DELEGATED: (EXCHANGE_APP_ID, SCOPE),
        Kind.O365_MANAGEMENT_APPLICATION: (O365_MANAGEMENT_APP_ID, ROLE),
        Kind.O365_MANAGEMENT_DELEGATED: (O365_MANAGEMENT_APP_ID, SCOPE),
        Kind.AZURE_SERVICE_MANAGEMENT_DELEGATED: (AZURE_SERVICE_MANAGEMENT_APP_ID, SCOPE),
    }
)
"""Kind of a manifest row -> (resource application id, Role or Scope)."""

SETUP_SCOPES_ADDED = (
    "AppRoleAssignment.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
)
"""Delegated permissions the setup sign-in asks for besides the setup app's manifest rows:
Graph grants application permissions only with AppRoleAssignment.ReadWrite.All, delegated ones
only with DelegatedPermissionGrant.ReadWrite.All, and directory roles only with
RoleManagement.ReadWrite.Directory (each operation's page in Microsoft's API reference)."""


@dataclass(frozen=True, kw_only=True)
class Wanted:
    """One permission the API-access app must hold on one resource."""

    resource_app_id: str
    type: str
    """``Role`` or ``Scope``."""
    value: str
    permission_keys: tuple[str, ...]
    """Manifest rows this permission satisfies (the same name can serve several)."""


@dataclass(frozen=True, kw_only=True)
class SetupTarget:
    """Everything the API-access app of one connection must hold."""

    services: tuple[Service, ...]
    mode: Mode
    permissions: tuple[Wanted, ...]
    directory_roles: tuple[str, ...]
    """Display names of the Entra directory roles to assign."""
    rbac_roles: tuple[str, ...]
    """Names of the Azure RBAC roles to assign at subscription scope."""

    def resources(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(w.resource_app_id for w in self.permissions))

    def of(self, resource_app_id: str, kind: str) -> tuple[str, ...]:
        return tuple(
            w.value
            for w in self.permissions
            if w.resource_app_id == resource_app_id and w.type == kind
        )


def api_app_rows(services: Iterable[Service], mode: Mode) -> tuple[Permission, ...]:
    """Manifest rows the API-access app holds for ``services`` in ``mode``."""
    rows: list[Permission] = []
    for service in services:
        rows.extend(
            row
            for row in MANIFEST.select(service=service, mode=mode)
            if row.principal in APP_PRINCIPALS and row.lifecycle is not Lifecycle.SETUP_ONLY
        )
    return tuple(rows)


def setup_target(services: Sequence[Service], mode: Mode) -> SetupTarget:
    wanted: dict[tuple[str, str, str], list[str]] = {}
    directory_roles: dict[str, None] = {}
    rbac_roles: dict[str, None] = {}
    for row in api_app_rows(services, mode):
        if row.kind is Kind.DIRECTORY_ROLE:
            directory_roles.setdefault(row.name)
        elif row.kind is Kind.AZURE_RBAC_ROLE:
            rbac_roles.setdefault(row.name)
        elif row.kind in RESOURCE_OF_KIND:
            resource, kind = RESOURCE_OF_KIND[row.kind]
            wanted.setdefault((resource, kind, row.name), []).append(row.key)
    return SetupTarget(
        services=tuple(services),
        mode=mode,
        permissions=tuple(
            Wanted(resource_app_id=r, type=t, value=v, permission_keys=tuple(keys))
            for (r, t, v), keys in wanted.items()
        ),
        directory_roles=tuple(directory_roles),
        rbac_roles=tuple(rbac_roles),
    )


def setup_scopes() -> tuple[str, ...]:
    """Delegated Graph permissions the administrator's setup sign-in asks for."""
    names = [
        row.name
        for row in MANIFEST.permissions
        if row.principal is Principal.ADMINISTRATOR_SETUP_APP and row.kind is Kind.GRAPH_APPLICATION
    ]
    return tuple(dict.fromkeys([*names, *SETUP_SCOPES_ADDED]))
