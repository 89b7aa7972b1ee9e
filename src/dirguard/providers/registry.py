"""The resource-type registry: one table, assembled from each provider's rows.

Snapshot, capture, diff, rollback, permission checks and the generated docs all read their rows
here (``catalog/`` holds the row dataclass and the permission manifest, and imports no
provider).
"""

from __future__ import annotations

from dirguard.catalog.resource_type import ResourceTypeRegistry
from dirguard.providers.ad.types import AD_TYPES
from dirguard.providers.entra.types import ENTRA_TYPES

RESOURCE_TYPES = ResourceTypeRegistry(AD_TYPES + ENTRA_TYPES)
"""Every resource type dirguard knows, keyed by ``ResourceType.key``."""
