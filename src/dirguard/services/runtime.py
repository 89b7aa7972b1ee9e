"""Everything a use case needs from its surroundings, passed in instead of looked up.

A :class:`Runtime` holds the loaded configuration, the store's session factory, how to open an
authenticated connection to each configured source, who is acting (the person dirguard works for)
and a clock. The CLI builds one per command (:func:`open_runtime`), the web console one per
process with the principal set per request (:meth:`Runtime.acting_as`), tests one with their own
openers and clock. Turning configuration into a connection is written here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dirguard.config.credentials import CredentialError, resolve_credential
from dirguard.config.schema import AdDomainConfig, Config, EntraTenantConfig
from dirguard.config.secret_store import SecretStore
from dirguard.services.errors import Problem, ServiceError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from dirguard.providers.ad.connection import AdConnection
    from dirguard.providers.entra.graph_client import GraphClient


def utc_now() -> datetime:
    return datetime.now(UTC)


AdOpener = Callable[[], "AdConnection"]


@dataclass(frozen=True, kw_only=True)
class AdOpeners:
    """Connections for one domain: the bind account, and the elevation account if configured.
    Each resolves its credential when it is first called."""

    bind: AdOpener
    elevator: AdOpener | None
    administrator: AdOpener | None = None
    """Bound as the Administrator AD account (web actions); ``None`` when none is configured."""


def resolve_secret(config: Config, owner: str, key: str, reference: str | None) -> str | None:
    """The secret a credential reference names (``None`` when none is configured)."""
    if reference is None:
        return None
    store = SecretStore(config.secrets.key_file, config.secrets.store_file)
    try:
        return resolve_credential(reference, store)
    except CredentialError as error:
        raise ServiceError(f"{owner}: {key}: {error}", Problem.CONFIG) from None


def connect_ad(domain: AdDomainConfig, password: str | None) -> AdConnection:
    """Bind to the domain; connection failures become :class:`ServiceError` of the right kind."""
    from dirguard.providers.ad.connection import (
        AdAuthError,
        AdConnectionError,
        AdTlsError,
        AdUnreachable,
        connect,
    )

    try:
        return connect(domain, password)
    except AdTlsError as error:  # the CA file or the server name is wrong: configuration
        raise ServiceError(str(error), Problem.CONFIG) from None
    except AdUnreachable as error:
        raise ServiceError(str(error), Problem.UNAVAILABLE) from None
    except AdAuthError as error:
        raise ServiceError(str(error), Problem.PERMISSION) from None
    except AdConnectionError as error:
        raise ServiceError(str(error), Problem.UNAVAILABLE) from None


def config_ad_openers(config: Config, domain: AdDomainConfig) -> AdOpeners:
    """Openers bound with the domain's configured credentials."""

    def bind() -> AdConnection:
        return connect_ad(domain, resolve_secret(config, domain.name, "password", domain.password))

    administrator = None
    if domain.admin_bind_upn is not None:
        as_administrator = domain.model_copy(update={"bind_upn": domain.admin_bind_upn})

        def administrator() -> AdConnection:
            secret = resolve_secret(config, domain.name, "admin_password", domain.admin_password)
            return connect_ad(as_administrator, secret or "")

    if domain.elevation_bind_upn is None:
        return AdOpeners(bind=bind, elevator=None, administrator=administrator)
    as_elevator = domain.model_copy(update={"bind_upn": domain.elevation_bind_upn})

    def elevator() -> AdConnection:
        secret = resolve_secret(
            config, domain.name, "elevation_password", domain.elevation_password
        )
        return connect_ad(as_elevator, secret or "")

    return AdOpeners(bind=bind, elevator=elevator, administrator=administrator)


def connect_entra(config: Config, tenant: EntraTenantConfig) -> GraphClient:
    """The tenant's Graph client as its Guardian application, the secret or certificate
    resolved now (a token is asked for with the first request)."""
    from dirguard.providers.entra.provider import open_graph

    key = "client_secret" if tenant.client_secret is not None else "certificate"
    secret = resolve_secret(config, tenant.name, key, tenant.client_secret or tenant.certificate)
    assert secret is not None  # the schema requires exactly one of them
    return open_graph(tenant, secret)


def connect_entra_elevation(config: Config, tenant: EntraTenantConfig) -> GraphClient:
    """The tenant's Graph client as its elevation application (``elevation_client_id``), which
    grants dirguard's application what a rollback needs in read-only mode."""
    from dirguard.providers.entra.provider import open_graph

    if tenant.elevation_client_id is None:
        raise ServiceError(f"{tenant.name}: no elevation_client_id is configured", Problem.CONFIG)
    with_secret = tenant.elevation_client_secret is not None
    key = "elevation_client_secret" if with_secret else "elevation_certificate"
    reference = tenant.elevation_client_secret or tenant.elevation_certificate
    secret = resolve_secret(config, tenant.name, key, reference)
    assert secret is not None  # the schema requires exactly one of them
    elevator = tenant.model_copy(
        update={
            "client_id": tenant.elevation_client_id,
            "client_secret": tenant.elevation_client_secret,
            "certificate": tenant.elevation_certificate,
        }
    )
    return open_graph(elevator, secret)


def choose_entra_tenant(config: Config, name: str | None = None) -> EntraTenantConfig:
    """The tenant named, or the only one configured; a clear error otherwise."""
    tenants = config.entra.tenants
    if not tenants:
        raise ServiceError("no [[entra.tenants]] in the configuration", Problem.CONFIG)
    known = ", ".join(t.name for t in tenants)
    if name is None:
        if len(tenants) > 1:
            raise ServiceError(f"several Entra tenants are configured ({known}): name one")
        return tenants[0]
    for tenant in tenants:
        if tenant.name == name:
            return tenant
    raise ServiceError(
        f"no Entra tenant {name!r} configured (configured: {known})", Problem.NOT_FOUND
    )


def choose_ad_domains(config: Config, name: str | None = None) -> list[AdDomainConfig]:
    """The configured AD domains, or the one named; a clear error when there is none."""
    domains = config.ad.domains
    if not domains:
        raise ServiceError("no [[ad.domains]] in the configuration", Problem.CONFIG)
    if name is None:
        return list(domains)
    chosen = [d for d in domains if d.name == name.lower()]
    if not chosen:
        known = ", ".join(d.name for d in domains)
        raise ServiceError(
            f"no AD domain {name!r} configured (configured: {known})", Problem.NOT_FOUND
        )
    return chosen


@dataclass(frozen=True, kw_only=True)
class Runtime:
    """Configuration, store, connection openers, the acting principal and a clock."""

    config: Config
    sessions: sessionmaker[Session]
    principal: str
    """The person on whose behalf dirguard acts (``dirguard`` for its own jobs)."""
    clock: Callable[[], datetime] = utc_now
    ad_openers: Callable[[AdDomainConfig], AdOpeners] | None = field(default=None)
    """How to open a domain's connections; ``None``: from the configuration's credentials."""
    entra_opener: Callable[[EntraTenantConfig], GraphClient] | None = field(default=None)
    """How to open a tenant's Graph client; ``None``: from the configuration's credential."""

    def acting_as(self, principal: str) -> Runtime:
        """The same runtime working for someone else (the web console: one per request)."""
        return replace(self, principal=principal)

    def ad_domains(self, name: str | None = None) -> list[AdDomainConfig]:
        """The configured AD domains, or the one named; a clear error when there is none."""
        return choose_ad_domains(self.config, name)

    def ad_domain(self, name: str | None = None) -> AdDomainConfig:
        """One domain: the one named, or the only one configured."""
        domains = self.ad_domains(name)
        if len(domains) > 1:
            known = ", ".join(d.name for d in domains)
            raise ServiceError(f"several AD domains are configured ({known}): name one")
        return domains[0]

    def openers(self, domain: AdDomainConfig) -> AdOpeners:
        if self.ad_openers is not None:
            return self.ad_openers(domain)
        return config_ad_openers(self.config, domain)

    def open_ad(self, domain: AdDomainConfig) -> AdConnection:
        """A connection bound as the domain's configured account."""
        return self.openers(domain).bind()

    # What providers open their connections with (providers.base.Connections).

    def source_config(self, kind: str, name: str) -> AdDomainConfig | EntraTenantConfig:
        if kind == "ad":
            return self.ad_domain(name)
        if kind == "entra":
            return choose_entra_tenant(self.config, name)
        raise ServiceError(f"no {kind!r} source can be read yet", Problem.NOT_FOUND)

    def connection(self, kind: str, name: str) -> AdConnection | GraphClient:
        source = self.source_config(kind, name)
        if isinstance(source, EntraTenantConfig):
            return self.open_entra(source)
        return self.open_ad(source)

    def open_entra(self, tenant: EntraTenantConfig) -> GraphClient:
        """A Graph client acting as the tenant's configured application."""
        if self.entra_opener is not None:
            return self.entra_opener(tenant)
        return connect_entra(self.config, tenant)

    def entra_tenants(self, name: str | None = None) -> list[EntraTenantConfig]:
        """The configured tenants, or the one named (an error when it is not configured)."""
        if name is None:
            return list(self.config.entra.tenants)
        return [choose_entra_tenant(self.config, name)]

    def open_entra_elevation(self, tenant: EntraTenantConfig) -> GraphClient:
        """A Graph client acting as the tenant's elevation application."""
        return connect_entra_elevation(self.config, tenant)


@contextmanager
def open_runtime(config: Config, principal: str) -> Iterator[Runtime]:
    """A runtime over the configured store (migrated to the newest schema), closed at the end."""
    from dirguard.store.database import (
        StoreError,
        create_engine_for,
        session_factory,
        upgrade_to_newest,
    )

    try:
        engine = create_engine_for(config.store.url)
        upgrade_to_newest(engine)
    except StoreError as error:
        raise ServiceError(str(error), Problem.UNAVAILABLE) from None
    try:
        yield Runtime(config=config, sessions=session_factory(engine), principal=principal)
    finally:
        engine.dispose()
