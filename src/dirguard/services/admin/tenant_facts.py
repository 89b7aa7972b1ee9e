"""Tenant facts for the Administrator's overview: the subscribed SKUs with their seats (enabled,
used, free, suspended, in warning) and the domains with their verification, read live from Graph
as the Administrator's service identity (``Organization.Read.All``, the catalog's
``administrator.tenant-metadata`` feature).

Microsoft's pages: "List subscribedSkus" (``prepaidUnits`` enabled / suspended / warning /
lockedOut, ``consumedUnits``, ``capabilityStatus``) and "List domains" (``isVerified``,
``isDefault``, ``isInitial``, ``authenticationType``, ``supportedServices``).

Who may read them: a console administrator, or anyone holding a delegated assignment (a help desk
picking a license needs the free seats) — decided here, on the server, for the page and the API
alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from dirguard.catalog.permission_model import Service
from dirguard.core.delegation import ConsoleUser, holding
from dirguard.services.admin.actions import with_ad_groups
from dirguard.services.admin.delegation import current_delegation
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime, choose_entra_tenant
from dirguard.store.column_types import utcnow


@dataclass(frozen=True)
class SkuFacts:
    part_number: str
    sku_id: str
    capability: str
    enabled: int
    suspended: int
    warning: int
    consumed: int

    @property
    def free(self) -> int:
        return max(self.enabled - self.consumed, 0)

    @property
    def overused(self) -> bool:
        return self.consumed > self.enabled


@dataclass(frozen=True)
class DomainFacts:
    name: str
    verified: bool
    default: bool
    initial: bool
    authentication: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class TenantFacts:
    tenant: str
    skus: tuple[SkuFacts, ...]
    domains: tuple[DomainFacts, ...]
    read_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "read_at": self.read_at.isoformat(),
            "skus": [{**asdict(s), "free": s.free, "overused": s.overused} for s in self.skus],
            "domains": [{**asdict(d), "services": list(d.services)} for d in self.domains],
        }


def _count(record: Mapping[str, Any], where: str, name: str) -> int:
    value = record.get(name, 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ServiceError(
            f"Graph answered {where} with {name} = {value!r}, not a count", Problem.FAILURE
        )
    return value


def _record(record: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(record, Mapping):
        raise ServiceError(f"Graph answered {where} with {record!r}, not an object")
    return record


def sku_facts(record: Any) -> SkuFacts:
    sku = _record(record, "subscribedSkus")
    part = sku.get("skuPartNumber")
    if not isinstance(part, str) or not part:
        raise ServiceError(f"Graph answered a subscribedSku without skuPartNumber: {sku!r}")
    where = f"subscribedSku {part}"
    prepaid = _record(sku.get("prepaidUnits") or {}, f"{where}'s prepaidUnits")
    return SkuFacts(
        part_number=part,
        sku_id=str(sku.get("skuId") or ""),
        capability=str(sku.get("capabilityStatus") or ""),
        enabled=_count(prepaid, where, "enabled"),
        suspended=_count(prepaid, where, "suspended"),
        warning=_count(prepaid, where, "warning"),
        consumed=_count(sku, where, "consumedUnits"),
    )


def domain_facts(record: Any) -> DomainFacts:
    domain = _record(record, "domains")
    name = domain.get("id")
    if not isinstance(name, str) or not name:
        raise ServiceError(f"Graph answered a domain without its name (id): {domain!r}")
    services = domain.get("supportedServices") or []
    return DomainFacts(
        name=name,
        verified=domain.get("isVerified") is True,
        default=domain.get("isDefault") is True,
        initial=domain.get("isInitial") is True,
        authentication=str(domain.get("authenticationType") or ""),
        services=tuple(str(s) for s in services) if isinstance(services, list) else (),
    )


def may_read_facts(runtime: Runtime, user: ConsoleUser, *, console_admin: bool) -> bool:
    if console_admin:
        return True
    every = current_delegation(runtime).assignments
    return bool(holding(every, with_ad_groups(runtime, user, every)))


def tenant_facts(
    runtime: Runtime, user: ConsoleUser, tenant_name: str | None, *, console_admin: bool = False
) -> TenantFacts:
    """The tenant's SKUs (by part number) and domains (default first), as Graph shows them now."""
    if not may_read_facts(runtime, user, console_admin=console_admin):
        raise ServiceError(
            f"{user.name} holds no delegated role: tenant facts are for administrators and"
            " delegated operators",
            Problem.PERMISSION,
        )
    tenant = choose_entra_tenant(runtime.config, tenant_name)
    if Service.ADMINISTRATOR not in tenant.services:
        raise ServiceError(
            f"{tenant.name}: the tenant does not run the Administrator service", Problem.CONFIG
        )
    from dirguard.providers.entra.graph_client import GraphError

    with runtime.open_entra(tenant) as graph:
        try:
            skus = [sku_facts(s) for s in graph.pages("subscribedSkus")]
            domains = [domain_facts(d) for d in graph.pages("domains")]
        except GraphError as error:
            problem = Problem.PERMISSION if error.status in (401, 403) else Problem.UNAVAILABLE
            raise ServiceError(f"{tenant.name}: {error}", problem) from None
    return TenantFacts(
        tenant=tenant.name,
        skus=tuple(sorted(skus, key=lambda s: s.part_number.casefold())),
        domains=tuple(sorted(domains, key=lambda d: (not d.default, d.name.casefold()))),
        read_at=utcnow(),
    )
