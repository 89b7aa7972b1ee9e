"""The elevation use cases: which just-in-time elevations are pending or recent, and revoking
the pending ones (left by a dirguard that stopped while an account was elevated).

:func:`revoke_pending_elevations` runs at the start of every command that writes to AD or an
Entra tenant or monitors them; a failure is a problem to report, not an error: the elevation
stays pending and the next start (or ``dirguard elevation revoke``) tries again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dirguard.config.schema import AdDomainConfig, EntraTenantConfig
from dirguard.providers.ad import KIND as AD_KIND
from dirguard.providers.base import store_source
from dirguard.services.errors import ServiceError
from dirguard.services.rollback import elevation
from dirguard.services.rollback.elevation import ElevationRow
from dirguard.services.rollback.entra_access import KIND as ENTRA_KIND
from dirguard.services.rollback.entra_access import entra_grants_opener
from dirguard.services.runtime import Runtime

if TYPE_CHECKING:
    from dirguard.providers.ad.grants import AdGrants


@dataclass(frozen=True, kw_only=True)
class Revoked:
    """The pending elevations ended, and a problem per domain where that failed."""

    ended: list[ElevationRow] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"revoked": [r.as_dict() for r in self.ended], "problems": self.problems}


@dataclass(frozen=True, kw_only=True)
class StatusRequest:
    domain: str | None = None
    limit: int = 20


@dataclass(frozen=True, kw_only=True)
class ElevationStatus:
    pending: list[ElevationRow]
    recent: list[ElevationRow]

    def as_dict(self) -> dict[str, Any]:
        return {
            "pending": [r.as_dict() for r in self.pending],
            "recent": [r.as_dict() for r in self.recent],
        }


@dataclass(frozen=True, kw_only=True)
class RevokeRequest:
    domain: str | None = None


def grants_opener(runtime: Runtime, domain: AdDomainConfig) -> elevation.Opener | None:
    """Opens the domain's elevation account (``None`` when none is configured)."""
    elevator = runtime.openers(domain).elevator
    if elevator is None:
        return None

    def grants() -> AdGrants:
        from dirguard.providers.ad.grants import AdGrants  # python-ldap: only when elevating

        return AdGrants(elevator())

    return grants


def revoke_pending_elevations(
    runtime: Runtime,
    domains: Sequence[AdDomainConfig],
    tenants: Sequence[EntraTenantConfig] = (),
) -> Revoked:
    """End the pending elevations of ``domains`` and ``tenants`` on behalf of the runtime's
    principal."""
    sources: list[tuple[str, elevation.Opener | None]] = [
        (store_source(AD_KIND, d.name), grants_opener(runtime, d)) for d in domains
    ]
    sources += [
        (store_source(ENTRA_KIND, t.name), entra_grants_opener(runtime, t)) for t in tenants
    ]
    result = Revoked()
    for source, opener in sources:
        try:
            result.ended.extend(
                elevation.revoke_pending(runtime.sessions, source, opener, by=runtime.principal)
            )
        except ServiceError as error:
            result.problems.append(str(error))
    return result


def revoke(runtime: Runtime, request: RevokeRequest) -> Revoked:
    """Remove every pending elevation's grant now, with the elevation credential (of the AD
    domain named, or of every configured domain and tenant)."""
    if request.domain is not None:
        return revoke_pending_elevations(runtime, runtime.ad_domains(request.domain))
    domains = runtime.ad_domains() if runtime.config.ad.domains else []
    return revoke_pending_elevations(runtime, domains, runtime.entra_tenants())


def status(runtime: Runtime, request: StatusRequest) -> ElevationStatus:
    """Pending elevations and the most recent ones (reads the store only)."""
    names = {d.name for d in runtime.ad_domains(request.domain)} if request.domain else None
    pending = [r for r in elevation.pending(runtime.sessions) if names is None or r.source in names]
    recent = [
        r
        for r in elevation.recent(runtime.sessions, request.limit)
        if names is None or r.source in names
    ]
    return ElevationStatus(pending=pending, recent=recent)
