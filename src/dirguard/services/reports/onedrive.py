"""A user's OneDrive address, read live (``GET users/{id}/drive``, ``webUrl``; Files.Read.All,
the seed's "retrieving drive URLs"), for the console's user page."""

from __future__ import annotations

from dataclasses import dataclass

from dirguard.providers.base import store_source
from dirguard.providers.entra.graph_client import GraphAuthError, GraphError
from dirguard.services.errors import ServiceError
from dirguard.services.runtime import Runtime


@dataclass(frozen=True, kw_only=True)
class OneDrive:
    url: str | None
    note: str | None = None
    """Why there is no URL (no OneDrive, no permission, tenant not reachable)."""


def onedrive_of(runtime: Runtime, source: str, user_id: str) -> OneDrive:
    """The OneDrive of the Entra user ``user_id`` in the tenant stored as ``source``."""
    tenant = next(
        (t for t in runtime.config.entra.tenants if store_source("entra", t.name) == source), None
    )
    if tenant is None:
        return OneDrive(url=None, note="the tenant is not configured")
    try:
        with runtime.open_entra(tenant) as graph:
            drive = graph.request("GET", f"users/{user_id}/drive").json()
    except GraphError as error:
        if error.status == 404:
            return OneDrive(
                url=None, note="no OneDrive (the user has no OneDrive license or never used it)"
            )
        if error.status == 403:
            return OneDrive(url=None, note="dirguard's application lacks Files.Read.All")
        return OneDrive(url=None, note=f"not read: {error}")
    except (GraphAuthError, ServiceError) as error:
        return OneDrive(url=None, note=f"not read: {error}")
    url = drive.get("webUrl")
    return OneDrive(url=str(url) if url else None, note=None if url else "Graph gave no webUrl")


def holds_onedrive(resource_type: str) -> bool:
    """Whether objects of this type (its registry row) are Graph users, who may own a OneDrive."""
    from dirguard.catalog.resource_type import GraphSource
    from dirguard.providers.registry import RESOURCE_TYPES

    row = RESOURCE_TYPES.get(resource_type)
    return row is not None and isinstance(row.source, GraphSource) and row.source.entity == "user"
