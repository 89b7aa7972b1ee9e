"""The shapes of the permission manifest: permissions, the identities holding them, features.

Pure data, no I/O. The rows themselves live in ``permission_rows_*.py`` and ``features_*.py``;
``manifest.py`` assembles and indexes them. Features refer to permissions by key; resource
types refer to features by key (see ``resource_type.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Service(StrEnum):
    """The two dirguard services of the seeds."""

    ADMINISTRATOR = "administrator"
    GUARDIAN = "guardian"


class Mode(StrEnum):
    """Operating mode of a connection: monitoring only, or monitoring plus writes/rollback."""

    READ_ONLY = "read-only"
    FULL = "full"


class Lifecycle(StrEnum):
    """When a permission is held or used.

    ``REQUIRED``: held permanently in the modes listed on the permission.
    ``SETUP_ONLY``: used only while connecting / re-consenting / upgrading (setup app, operator).
    ``DELEGATED_CONSENT``: delegated (interactive) permission consented during setup.
    ``LEGACY``: still requested, planned for removal.
    """

    REQUIRED = "required"
    SETUP_ONLY = "setup-only"
    DELEGATED_CONSENT = "delegated-consent"
    LEGACY = "legacy"


class Principal(StrEnum):
    """The identity that holds a permission."""

    ADMINISTRATOR_SETUP_APP = "administrator-setup-app"
    """'dirguard Administrator' app: creates/updates the API-access app (seed 000)."""
    ADMINISTRATOR_API_APP = "administrator-api-app"
    """'dirguard Administrator API Access' app: day-to-day operations (seed 000)."""
    GUARDIAN_APP = "guardian-app"
    """Guardian's Entra application / service principal (seed 001)."""
    GUARDIAN_AD_ACCOUNT = "guardian-ad-account"
    """Guardian's AD service account (gMSA or regular account) (seed 001)."""
    AD_OPERATOR = "ad-operator"
    """The person running the initial AD connection setup (seed 001)."""
    ADMINISTRATOR_AD_ACCOUNT = "administrator-ad-account"
    """The AD account the Administrator's web actions run as (added by the project)."""


class Kind(StrEnum):
    """What sort of grant a permission is; decides how it is granted and checked."""

    GRAPH_APPLICATION = "graph-application"
    GRAPH_DELEGATED = "graph-delegated"
    DIRECTORY_ROLE = "entra-directory-role"
    AZURE_RBAC_ROLE = "azure-rbac-role"
    EXCHANGE_APPLICATION = "exchange-application"
    EXCHANGE_DELEGATED = "exchange-delegated"
    O365_MANAGEMENT_APPLICATION = "o365-management-application"
    O365_MANAGEMENT_DELEGATED = "o365-management-delegated"
    AZURE_SERVICE_MANAGEMENT_DELEGATED = "azure-service-management-delegated"
    AD_GROUP = "ad-group"
    AD_EXTENDED_RIGHT = "ad-extended-right"
    AD_CONTAINER_ACCESS = "ad-container-access"
    AD_SETUP_GROUP = "ad-setup-group"


@dataclass(frozen=True, kw_only=True)
class SeedRef:
    """Where a row comes from: the seed document and the heading it is listed under."""

    document: str
    """Seed file name, e.g. ``001_c634a233c6d74026.txt``."""
    section: str
    """The heading (table title) in the seed under which the row appears."""


@dataclass(frozen=True, kw_only=True)
class Permission:
    """One grant some dirguard identity needs.

    ``key`` is unique across the manifest, e.g.
    ``guardian-app:graph-application:Group.ReadWrite.All``.
    ``usage`` is the seed's own usage text (product names rewritten from the seed's vendor
    names to dirguard's, nothing else). ``description`` is the seed's description column, or the
    permission's Microsoft description where the seed has a single text column.
    """

    key: str
    name: str
    service: Service
    principal: Principal
    kind: Kind
    description: str
    usage: str
    modes: frozenset[Mode]
    lifecycle: Lifecycle
    seeds: tuple[SeedRef, ...] = ()
    display_name: str | None = None
    """Microsoft's display name where the seed gives one (e.g. 'Read and write applications')."""
    added_by_project: str | None = None
    """Set (to the reason) when the seeds do not name this row for this identity/mode."""


@dataclass(frozen=True, kw_only=True)
class Feature:
    """A product capability; the unit in which missing permissions are reported."""

    key: str
    """Dotted key, e.g. ``guardian.ad.collect-changes``."""
    service: Service
    title: str
    description: str
    permissions: tuple[str, ...]
    """Keys of the permissions this feature needs (all of them)."""
    modes: frozenset[Mode]
    """Modes in which the feature is offered."""


PRODUCT_NAME_REWRITES: tuple[tuple[str, str], ...] = (
    ("Cayosoft Administrator API Access", "dirguard Administrator API Access"),
    ("Cayosoft Administrator", "dirguard Administrator"),
    ("Cayosoft Guardian", "dirguard Guardian"),
    ("Cayosoft", "dirguard"),
)
"""The seeds' vendor product names and dirguard's names for them, longest first."""


def rewrite_product_names(text: str) -> str:
    """The seed text with the vendor's product names replaced by dirguard's (nothing else).

    The only transformation between a seed's usage/description text and a manifest row; the
    seed-conformance test applies the same function to the seed before comparing.
    """
    for vendor, ours in PRODUCT_NAME_REWRITES:
        text = text.replace(vendor, ours)
    return text
