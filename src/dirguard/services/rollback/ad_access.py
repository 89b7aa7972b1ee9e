"""How the rollback use cases reach an AD domain: its write access (bind and elevation
accounts), the capture before planning and after applying, and the tombstone check.

Everything here goes through the :class:`~dirguard.services.runtime.Runtime`'s openers, so a
credential, an unreachable DC or a refused bind is a :class:`ServiceError` of the right kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

from dirguard.catalog.permission_model import Mode
from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad import KIND as AD_KIND
from dirguard.providers.ad.provider import AdProvider
from dirguard.providers.base import RollbackProvider, StepWriter, store_source
from dirguard.services.capture.capture import CaptureError, capture_domain, fill_domain_actors
from dirguard.services.errors import ServiceError
from dirguard.services.rollback.elevation_cases import grants_opener
from dirguard.services.rollback.guarded_apply import WriteAccess
from dirguard.services.rollback.plans import TombstoneCheck
from dirguard.services.runtime import Runtime

if TYPE_CHECKING:
    from dirguard.providers.ad.values import Schema

AD: RollbackProvider = AdProvider()


def one_domain(runtime: Runtime, name: str | None) -> AdDomainConfig:
    """The domain named, or the only one configured."""
    domains = runtime.ad_domains(name)
    if len(domains) > 1:
        known = ", ".join(d.name for d in domains)
        raise ServiceError(f"several AD domains are configured ({known}); choose one with --domain")
    return domains[0]


def ad_access(runtime: Runtime, domain: AdDomainConfig) -> WriteAccess:
    def writer() -> StepWriter:
        return AD.open_writer(runtime, domain.name)

    return WriteAccess(
        source=store_source(AD_KIND, domain.name),
        read_only=domain.mode is Mode.READ_ONLY,
        mode=domain.mode.value,
        account=domain.bind_upn,
        elevator_account=domain.elevation_bind_upn,
        writer=writer,
        grants=grants_opener(runtime, domain),
    )


def capture(
    runtime: Runtime, domain: AdDomainConfig, *, actors: bool = False, schema: Schema | None = None
) -> None:
    """One capture pass (with ``actors``: and the audit trail's actors), e.g. to record
    dirguard's own writes in the history; ``schema``: the domain's, when the use case read it
    already (else the pass reads it)."""
    with runtime.open_ad(domain) as conn:
        try:
            capture_domain(runtime.sessions, conn, domain, schema=schema)
        except CaptureError as error:
            raise ServiceError(str(error)) from None
        if not actors:
            return
        try:
            fill_domain_actors(runtime.sessions, conn, domain)
        except OSError as error:
            raise ServiceError(f"{domain.name}: reading the audit files: {error}") from None


@contextmanager
def refreshed(
    runtime: Runtime, domain: AdDomainConfig, refresh: bool
) -> Iterator[TombstoneCheck | None]:
    """With ``refresh``: capture first, then a tombstone check over a connection open for the
    block (a deleted object with no tombstone left is re-created instead); else nothing."""
    if not refresh:
        yield None
        return
    from dirguard.providers.ad.tombstones import missing_tombstones

    capture(runtime, domain, actors=True)
    with runtime.open_ad(domain) as conn:
        yield partial(missing_tombstones, conn)
