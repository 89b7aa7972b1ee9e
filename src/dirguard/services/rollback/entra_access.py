"""How the rollback use cases reach an Entra tenant: its write access (dirguard's application,
and the tenant's elevation application when one is configured), the same
:class:`~dirguard.services.rollback.guarded_apply.WriteAccess` the AD rollback uses.

In read-only mode dirguard's application holds read permissions only; with ``elevation_client_id``
configured, the elevation application grants it exactly the Graph application permissions and
directory roles the plan's steps lack (:mod:`dirguard.providers.entra.grants`) for the rollback,
the writer is opened anew (a fresh token, whose ``roles`` and ``wids`` carry the new grants),
and the grants are removed when it ends — by :mod:`dirguard.services.rollback.elevation`, as for
AD, with its lease, audit records and revocation at the next start.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from dirguard.catalog.permission_model import Mode
from dirguard.config.schema import EntraTenantConfig
from dirguard.providers.base import StepWriter, store_source
from dirguard.services.rollback import elevation
from dirguard.services.rollback.guarded_apply import WriteAccess
from dirguard.services.runtime import Runtime

if TYPE_CHECKING:
    # imported where a tenant's elevation application is opened: an AD rollback (whose
    # revocation of pending elevations reaches this module) never loads the Graph client
    from dirguard.providers.entra.grants import EntraGrants

KIND = "entra"
GRANTS_SETTLE = 120.0
"""How long a token may take to carry a new app role assignment (Entra replicates it)."""
ELEVATION_HINT = (
    "elevation_client_id with elevation_client_secret or elevation_certificate: an application"
    " with AppRoleAssignment.ReadWrite.All, Application.Read.All and"
    " RoleManagement.ReadWrite.Directory that may grant {account} what the plan needs"
)


def entra_grants_opener(runtime: Runtime, tenant: EntraTenantConfig) -> elevation.Opener | None:
    """Opens the tenant's elevation application (``None`` when none is configured)."""
    if tenant.elevation_client_id is None:
        return None

    def grants() -> EntraGrants:
        from dirguard.providers.entra.grants import EntraGrants

        return EntraGrants(runtime.open_entra_elevation(tenant), minutes=tenant.elevation_minutes)

    return grants


def entra_access(
    runtime: Runtime,
    tenant: EntraTenantConfig,
    writer: Callable[[], AbstractContextManager[StepWriter]],
) -> WriteAccess:
    """The tenant's write access; ``writer`` opens dirguard's application for writing (a new
    Graph client each time, so a writer opened after an elevation has a fresh token)."""
    return WriteAccess(
        source=store_source(KIND, tenant.name),
        read_only=tenant.mode is Mode.READ_ONLY,
        mode=tenant.mode.value,
        account=str(tenant.client_id),
        elevator_account=(
            str(tenant.elevation_client_id) if tenant.elevation_client_id is not None else None
        ),
        writer=writer,
        grants=entra_grants_opener(runtime, tenant),
        elevation_hint=ELEVATION_HINT,
        grants_settle=GRANTS_SETTLE,
    )
