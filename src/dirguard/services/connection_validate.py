"""Validating configured connections against the permission manifest, read from the source.

Entra: the tenant's token, application and delegated consent, directory and Azure roles, MFA
posture, credential expiry (:func:`dirguard.providers.entra.validate.validate_tenant`). AD: a
bind as the configured account, its groups and extended rights
(:func:`dirguard.providers.ad.setup.validate.validate_domain`). Both only read: nothing is
written to the directory or the tenant, in either mode. ``dirguard connect validate``, the
monitor's and ``dirguard serve``'s periodic consent check call these
(:mod:`dirguard.services.consent_state` records what they find).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dirguard.config.credentials import CredentialError, resolve_credential
from dirguard.config.schema import AdDomainConfig, Config, EntraTenantConfig
from dirguard.config.secret_store import SecretStore
from dirguard.services.errors import Problem, ServiceError

if TYPE_CHECKING:
    from dirguard.providers.ad.setup.validate import DomainValidation
    from dirguard.providers.entra.azure_rbac import ArmRbac
    from dirguard.providers.entra.graph_client import GraphClient
    from dirguard.providers.entra.validate import TenantValidation

# The LDAP side is imported by the functions that bind: validating an Entra-only site (no `ad`
# extra, so no python-ldap) never reaches them.

CREDENTIAL = "credential"
"""A domain's ``failure`` when its password reference does not resolve."""


@dataclass(frozen=True, kw_only=True)
class DomainOutcome:
    """One domain's validation, or why it could not be validated."""

    domain: str
    result: DomainValidation | None = None
    error: str | None = None
    failure: str | None = None
    """A ``BindFailure`` value, or :data:`CREDENTIAL`."""

    def to_dict(self) -> dict[str, Any]:
        if self.result is not None:
            return self.result.to_dict()
        return {"domain": self.domain, "bind": self.failure, "error": self.error}


def _tenant_client(config: Config, tenant: EntraTenantConfig) -> tuple[GraphClient, ArmRbac | None]:
    """The tenant's Graph client and, when it names subscriptions, its Resource Manager one."""
    from dirguard.providers.entra.azure_rbac import ArmRbac
    from dirguard.providers.entra.provider import open_graph, tenant_credential, tenant_label

    store = SecretStore(config.secrets.key_file, config.secrets.store_file)
    ref = tenant.client_secret or tenant.certificate
    field = "client_secret" if tenant.client_secret else "certificate"
    assert ref is not None  # the schema requires exactly one
    try:
        value = resolve_credential(ref, store)
    except CredentialError as exc:
        raise ServiceError(f"{tenant.name}: {field}: {exc}", Problem.CONFIG) from None
    graph = open_graph(tenant, value)
    rbac = None
    if tenant.subscriptions:
        rbac = ArmRbac.connect(
            tenant_credential(tenant, value),  # one per resource: see tenant_credential
            arm_url=tenant.arm_url,
            ca_file=tenant.ca_file,
            tenant=tenant_label(tenant),
            delegated=False,
        )
    return graph, rbac


def validate_tenant(config: Config, tenant: EntraTenantConfig) -> TenantValidation:
    """Validate one tenant; a :class:`ServiceError` when its token or a read failed (failure),
    its credential does not resolve (config) or it cannot be reached (unavailable)."""
    import httpx
    from azure.core.exceptions import ServiceRequestError

    from dirguard.providers.entra.graph_client import GraphAuthError, GraphError
    from dirguard.providers.entra.validate import validate_tenant as validate

    graph, rbac = _tenant_client(config, tenant)
    try:
        return validate(
            graph,
            tenant=tenant.name,
            client_id=str(tenant.client_id),
            services=tenant.services,
            mode=tenant.mode,
            rbac=rbac,
            subscriptions=[str(s) for s in tenant.subscriptions],
        )
    except GraphAuthError as exc:
        raise ServiceError(str(exc)) from None
    except GraphError as exc:
        raise ServiceError(f"{tenant.name}: {exc}") from None
    except (httpx.TransportError, ServiceRequestError) as exc:
        raise ServiceError(
            f"{tenant.name}: cannot reach the tenant ({type(exc).__name__})", Problem.UNAVAILABLE
        ) from None
    finally:
        graph.close()
        if rbac is not None:
            rbac.close()


def validate_domains(config: Config, domains: list[AdDomainConfig]) -> list[DomainOutcome]:
    """Validate each domain; one that cannot be validated does not stop the others."""
    if not domains:
        return []
    from dirguard.providers.ad.setup.validate import AdValidateError, validate_domain

    store = SecretStore(config.secrets.key_file, config.secrets.store_file)
    outcomes: list[DomainOutcome] = []
    for domain in domains:
        try:
            password = resolve_credential(domain.password, store) if domain.password else None
        except CredentialError as exc:
            outcomes.append(
                DomainOutcome(
                    domain=domain.name,
                    error=f"{domain.name}: password: {exc}",
                    failure=CREDENTIAL,
                )
            )
            continue
        try:
            outcomes.append(
                DomainOutcome(domain=domain.name, result=validate_domain(domain, password))
            )
        except AdValidateError as exc:
            outcomes.append(
                DomainOutcome(domain=domain.name, error=str(exc), failure=exc.failure.value)
            )
    return outcomes
