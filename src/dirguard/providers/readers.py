"""The providers whose sources dirguard reads, by kind: how the source-neutral capture finds,
from a row's ``provider``, what an object's state says of its row in the store
(:meth:`~dirguard.providers.base.ReadingProvider.object_facts`)."""

from __future__ import annotations

from dirguard.providers.ad.provider import AdProvider
from dirguard.providers.base import ReadingProvider
from dirguard.providers.entra.provider import EntraProvider

READING_PROVIDERS: dict[str, ReadingProvider] = {"ad": AdProvider(), "entra": EntraProvider()}


def reading_provider(kind: str) -> ReadingProvider:
    """The reading provider of ``kind`` (``ad``, ``entra``); a clear error for one that
    cannot read yet."""
    found = READING_PROVIDERS.get(kind)
    if found is None:
        raise LookupError(f"no {kind!r} source can be read yet")
    return found
