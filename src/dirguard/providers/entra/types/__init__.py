"""The cloud rows of the resource-type registry: Entra ID, Intune, Exchange Online, Azure.

They are read and written with the tenant's Guardian application, so their provider is
``entra``. One module per area (``directory``, ``applications``, ``roles``, ``policies``,
``other_services``); each Graph row declares its collection and ``$select``, delta or
poll-hash, its links and how each is read and written (``catalog/graph_rules.py``), and how
Graph wants its bodies (``writes``, built by ``providers/entra/write_bodies.py``). Graph field
names are v1.0 property names, checked against Microsoft's CSDL by the catalog contract test.
"""

from __future__ import annotations

from dirguard.catalog.resource_type import ResourceType
from dirguard.providers.entra.types.applications import APPLICATION_TYPES
from dirguard.providers.entra.types.directory import DIRECTORY_TYPES
from dirguard.providers.entra.types.other_services import SERVICE_TYPES
from dirguard.providers.entra.types.policies import POLICY_TYPES
from dirguard.providers.entra.types.roles import ROLE_TYPES
from dirguard.providers.entra.types.rows import cloud_restore, json_identity

ENTRA_TYPES: tuple[ResourceType, ...] = (
    DIRECTORY_TYPES + APPLICATION_TYPES + ROLE_TYPES + POLICY_TYPES + SERVICE_TYPES
)
"""Every row of the ``entra`` provider, in declaration order."""

__all__ = ["ENTRA_TYPES", "cloud_restore", "json_identity"]
