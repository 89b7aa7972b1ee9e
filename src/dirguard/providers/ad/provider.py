"""The Active Directory provider: one domain over LDAP (the domain, configuration and schema
partitions of its DCs).

What the :class:`~dirguard.providers.base.ReadingProvider` protocol asks of every provider: its
kind, its rows of the resource-type registry (``providers/ad/types.py``) and how a configured
domain is opened for reading (:class:`~dirguard.providers.ad.read.AdReader`, bound through the
runtime, which resolves the credential).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dirguard.catalog.resource_type import ResourceType
from dirguard.providers.ad.types import AD_TYPES
from dirguard.providers.base import Connections

if TYPE_CHECKING:
    from dirguard.providers.ad.read import AdReader


class AdProvider:
    """Active Directory as a kind of source."""

    @property
    def kind(self) -> str:
        return "ad"

    def resource_types(self) -> tuple[ResourceType, ...]:
        """The AD rows (``providers/ad/types.py``), in declaration order."""
        return AD_TYPES

    def open_reader(self, runtime: Connections, name: str) -> AdReader:
        """The configured domain ``name``, bound with its configured account, for reading."""
        from dirguard.providers.ad.read import AdReader

        return AdReader(runtime.connection("ad", name), runtime.source_config("ad", name))
