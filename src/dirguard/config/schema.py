"""The configuration file's schema: one TOML file, validated strictly (unknown keys are errors).

Credentials appear only as references (``env:``, ``file:``, ``secret:``), never inline.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from dirguard.catalog.permission_model import Mode, Service
from dirguard.catalog.resource_type import Partition
from dirguard.config.approvals_schema import ApprovalsConfig
from dirguard.config.clouds import cloud_mismatch
from dirguard.config.credential_ref import CredentialRef
from dirguard.config.notifications_schema import NotificationsConfig
from dirguard.config.paths import (
    config_dir,
    data_dir,
    default_checkpoint_file,
    default_store_url,
)
from dirguard.config.reports_schema import ReportsConfig
from dirguard.config.scheduler_schema import SchedulerConfig
from dirguard.config.threats_schema import ThreatsConfig

SECRET_FIELDS = frozenset(
    {
        "password",
        "client_secret",
        "certificate",
        "elevation_password",
        "admin_password",
        "signing_secret",
        "elevation_client_secret",
        "elevation_certificate",
    }
)
"""Keys holding credential references: their values are never echoed in error messages."""


def _check_ref(value: str) -> str:
    CredentialRef.parse(value)
    return value


CredentialRefText = Annotated[str, AfterValidator(_check_ref)]


_PEM_CERTIFICATE = re.compile(
    rb"-----BEGIN CERTIFICATE-----\r?\n.+?\r?\n-----END CERTIFICATE-----", re.DOTALL
)


def _is_certificate(block: bytes) -> bool:
    """Whether one PEM block parses as an X.509 certificate. Each block on its own: a system
    bundle holds a few old certificates that strict parsers warn about or refuse, and one of
    those must not make the whole file unusable."""
    import warnings

    from cryptography import x509  # only configurations that name a CA file pay for it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            x509.load_pem_x509_certificate(block)
        except ValueError:
            return False
    return True


def _check_ca_file(value: Path | None) -> Path | None:
    """A CA file must be there and hold at least one PEM certificate: a wrong path or a file of
    something else is a configuration error when the file is loaded, not a TLS failure later."""
    if value is None:
        return None
    if not value.is_file():
        raise ValueError(f"{value} does not exist or is not a file")
    try:
        data = value.read_bytes()
    except OSError as error:
        raise ValueError(f"{value} cannot be read ({error.strerror})") from None
    if not any(_is_certificate(block) for block in _PEM_CERTIFICATE.findall(data)):
        raise ValueError(
            f"{value} holds no PEM certificate (expected '-----BEGIN CERTIFICATE-----' blocks:"
            " the CA that issued the server's certificate)"
        )
    return value


CaFile = Annotated[Path | None, AfterValidator(_check_ca_file)]

_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_HOST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$|^\[[0-9A-Fa-f:]+\]$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StoreConfig(_Strict):
    url: str = Field(default_factory=default_store_url)
    """SQLAlchemy URL: sqlite:///path (embedded default) or postgresql://user@host/db."""
    checkpoint_file: Path
    """Where signed checkpoints of the event chains are appended (``dirguard db checkpoint``,
    checked by ``dirguard db verify``): keep it where the database's writers cannot rewrite it.
    Default: one file per store (:func:`~dirguard.config.paths.default_checkpoint_file`)."""
    checkpoint_syslog: bool = False
    """Also send every checkpoint to the local syslog (``/dev/log``), e.g. on to a SIEM."""
    checkpoint_interval: float = Field(default=300.0, ge=0)
    """Seconds between the checkpoints ``dirguard monitor`` writes (0: none; ``dirguard db
    checkpoint`` from a timer instead)."""

    @model_validator(mode="before")
    @classmethod
    def _checkpoints_of_this_store(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("checkpoint_file") is None:
            url = data.get("url")
            url = url if isinstance(url, str) else default_store_url()
            return {**data, "checkpoint_file": default_checkpoint_file(url)}
        return data

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        scheme = value.partition(":")[0]
        if not scheme.startswith(("sqlite", "postgresql")):
            raise ValueError(
                f"unsupported database {scheme!r}; use sqlite:///path or postgresql://host/db"
            )
        if "@" in value and re.search(r"//[^/@]*:[^/@]*@", value):
            raise ValueError(
                "the URL carries a password; leave it out and set PGPASSWORD or ~/.pgpass"
            )
        return value


class LogConfig(_Strict):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


class SecretsConfig(_Strict):
    key_file: Path = Field(default_factory=lambda: config_dir() / "secret.key")
    """Key of the encrypted secret store; created with mode 0600 on first use."""
    store_file: Path = Field(default_factory=lambda: data_dir() / "secrets.json")


class AdDomainConfig(_Strict):
    name: str
    """DNS name of the domain, e.g. corp.example.com."""
    servers: list[str] = Field(min_length=1)
    """Domain controllers to talk to, in order of preference."""
    transport: Literal["ldaps", "starttls"] = "ldaps"
    port: int | None = Field(default=None, ge=1, le=65535)
    verify_tls: bool = True
    """Certificate validation; turning it off is logged at every connection."""
    ca_file: CaFile = None
    auth: Literal["simple", "gssapi"] = "simple"
    bind_upn: str | None = None
    password: CredentialRefText | None = None
    mode: Mode = Mode.READ_ONLY
    elevation_bind_upn: str | None = None
    """Read-only mode: the account that adds ``bind_upn`` to the admin group a rollback needs,
    just for the rollback (just-in-time elevation)."""
    elevation_password: CredentialRefText | None = None
    admin_bind_upn: str | None = None
    """The Administrator AD account the web actions run as (a member of Account Operators);
    unset: the domain offers no web actions."""
    admin_password: CredentialRefText | None = None
    partitions: list[Partition] = Field(default_factory=lambda: [Partition.DOMAIN])
    snapshot_connections: int = Field(default=2, ge=1, le=16)
    """Connections a full read (``snapshot ad``, ``diff --live``) uses at once, each reading a
    part of the partition (1: one paged search)."""
    samba_audit_files: list[Path] = Field(default_factory=list, max_length=3)
    """Samba's JSON audit files for who-and-where (``dsdb_json_audit``, then
    ``dsdb_group_json_audit``, then ``dsdb_password_json_audit``: keep this order, the stored
    read position is kept per place in the list). Empty: actors stay unknown."""

    @field_validator("name")
    @classmethod
    def _dns_name(cls, value: str) -> str:
        if not _DNS_NAME.match(value):
            raise ValueError("not a DNS domain name (e.g. corp.example.com)")
        return value.lower()

    @field_validator("servers")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for host in value:
            if not _HOST.match(host):
                raise ValueError(f"{host!r} is not a host name or address")
        return value

    @field_validator("partitions")
    @classmethod
    def _domain_partition(cls, value: list[Partition]) -> list[Partition]:
        if Partition.DOMAIN not in value:
            raise ValueError("the domain partition is always monitored; add 'domain'")
        if len(set(value)) != len(value):
            raise ValueError("a partition is listed twice")
        return value

    @field_validator("samba_audit_files")
    @classmethod
    def _distinct_files(cls, value: list[Path]) -> list[Path]:
        if len(set(value)) != len(value):
            raise ValueError("an audit file is listed twice")
        return value

    @model_validator(mode="after")
    def _simple_bind_needs_credentials(self) -> AdDomainConfig:
        if self.auth == "simple" and (self.bind_upn is None or self.password is None):
            raise ValueError(
                "auth = 'simple' needs bind_upn (user@domain) and password (a credential "
                "reference); or use auth = 'gssapi' with a Kerberos ticket"
            )
        if self.bind_upn is not None and "@" not in self.bind_upn:
            raise ValueError("bind_upn must be a user principal name such as svc@corp.example.com")
        if (self.admin_bind_upn is None) != (self.admin_password is None):
            raise ValueError("set both admin_bind_upn and admin_password, or neither")
        if self.admin_bind_upn is not None and "@" not in self.admin_bind_upn:
            raise ValueError("admin_bind_upn must be a user principal name")
        if (self.elevation_bind_upn is None) != (self.elevation_password is None):
            raise ValueError("set both elevation_bind_upn and elevation_password, or neither")
        if self.elevation_bind_upn is not None:
            if "@" not in self.elevation_bind_upn:
                raise ValueError("elevation_bind_upn must be a user principal name")
            if self.auth != "simple":
                raise ValueError(
                    "elevation needs auth = 'simple': the elevated account binds anew with its "
                    "password so that its new group counts (a Kerberos ticket keeps old groups)"
                )
        return self


class EntraTenantConfig(_Strict):
    name: str
    tenant_id: UUID
    client_id: UUID
    client_secret: CredentialRefText | None = None
    certificate: CredentialRefText | None = None
    """Reference to a PEM file/secret holding the certificate and its private key."""
    authority: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com"
    ca_file: CaFile = None
    """Extra CA bundle (TLS inspection proxies, the sandbox tenant)."""
    mode: Mode = Mode.READ_ONLY
    services: list[Service] = Field(default_factory=lambda: [Service.GUARDIAN])
    subscriptions: list[UUID] = Field(default_factory=list)
    """Azure subscriptions whose RBAC roles the connection checks (and in full mode assigns)."""
    arm_url: str = "https://management.azure.com"
    """Azure Resource Manager (a sovereign cloud's, or the sandbox tenant's)."""
    elevation_client_id: UUID | None = None
    """Read-only mode: a separate application (with AppRoleAssignment.ReadWrite.All,
    Application.Read.All and RoleManagement.ReadWrite.Directory) that grants dirguard's
    application the write permissions and directory roles a rollback needs, just for the
    rollback (just-in-time elevation)."""
    elevation_client_secret: CredentialRefText | None = None
    elevation_certificate: CredentialRefText | None = None
    elevation_minutes: int = Field(default=60, ge=5, le=1440)
    """How long a just-in-time directory role assignment lasts at most (its
    ``scheduleInfo.expiration``); it is removed as soon as the rollback ends."""

    @field_validator("authority", "graph_url", "arm_url")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must be an https:// URL (Entra ID refuses plain HTTP)")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_credential(self) -> EntraTenantConfig:
        if (self.client_secret is None) == (self.certificate is None):
            raise ValueError("set exactly one of client_secret or certificate")
        credentials = (self.elevation_client_secret, self.elevation_certificate)
        if self.elevation_client_id is None and any(c is not None for c in credentials):
            raise ValueError(
                "elevation_client_secret/elevation_certificate need elevation_client_id"
            )
        if self.elevation_client_id is not None and (credentials[0] is None) == (
            credentials[1] is None
        ):
            raise ValueError(
                "elevation_client_id needs exactly one of elevation_client_secret or"
                " elevation_certificate"
            )
        if self.elevation_client_id is not None and self.elevation_client_id == self.client_id:
            raise ValueError(
                "elevation_client_id must be another application than client_id: the elevation"
                " identity grants dirguard's application its rights"
            )
        return self

    @model_validator(mode="after")
    def _one_cloud(self) -> EntraTenantConfig:
        mixed = cloud_mismatch(
            self.authority, self.graph_url, self.arm_url if self.subscriptions else None
        )
        if mixed is not None:
            raise ValueError(mixed)
        return self


class AdSection(_Strict):
    domains: list[AdDomainConfig] = Field(default_factory=list)


class EntraSection(_Strict):
    tenants: list[EntraTenantConfig] = Field(default_factory=list)


ConsoleRole = Literal["viewer", "operator", "approver", "administrator"]
"""A console role, least to most: viewer (history), operator (plans), approver (apply),
administrator (connections, accounts, settings)."""


class WebOidcConfig(_Strict):
    """Entra ID single sign-on for the console: OpenID Connect authorization code with PKCE."""

    tenant_id: UUID
    client_id: UUID
    """The console's app registration (a Web platform redirect URI ``…/signin/entra/callback``)."""
    client_secret: CredentialRefText | None = None
    """The app's client secret (a Web app is a confidential client); ``None``: PKCE only."""
    authority: str = "https://login.microsoftonline.com"
    ca_file: CaFile = None
    """Extra CA bundle for the authority (TLS inspection proxies, the sandbox tenant)."""
    redirect_url: str | None = None
    """The callback URL registered on the app; ``None``: derived from the request's own URL."""
    group_roles: dict[str, ConsoleRole] = Field(default_factory=dict)
    """Entra group object id -> console role (the ID token's ``groups`` claim)."""
    app_roles: dict[str, ConsoleRole] = Field(default_factory=dict)
    """App role value -> console role (the ID token's ``roles`` claim)."""
    default_role: ConsoleRole | None = None
    """Role of a signed-in person no mapping names; ``None``: such a sign-in is refused."""
    people_read: bool = False
    """Also ask for the delegated ``People.Read`` at sign-in, so that approval requests a
    person files suggest approvers from their own relevant people (``GET /me/people``; the
    token stays in the console process's memory). The app must hold People.Read (the seed's
    API Access app does), or Entra refuses people who have not consented; off, suggestions come
    from the organisation chart (manager, direct reports, peers)."""

    @field_validator("authority")
    @classmethod
    def _https(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must be an https:// URL (Entra ID refuses plain HTTP)")
        return value.rstrip("/")


class WebConfig(_Strict):
    """``dirguard serve``: the console and REST API."""

    host: str = "127.0.0.1"
    """Address to listen on; loopback by default (put a reverse proxy or --host in front)."""
    port: int = Field(default=8443, ge=1, le=65535)
    tls: bool = True
    """Serve HTTPS; without ``tls_cert`` a self-signed certificate is generated (and said so)."""
    tls_cert: Path | None = None
    """PEM certificate (chain) for HTTPS."""
    tls_key: Path | None = None
    """PEM private key of ``tls_cert``."""
    session_idle_minutes: float = Field(default=30.0, gt=0)
    """A console session unused this long is over."""
    session_absolute_hours: float = Field(default=12.0, gt=0)
    """A console session is over this long after sign-in, used or not."""
    login_attempts: int = Field(default=5, ge=1)
    """Failed sign-ins allowed per account and per address within ``login_window_minutes``."""
    login_window_minutes: float = Field(default=15.0, gt=0)
    oidc: WebOidcConfig | None = None

    @model_validator(mode="after")
    def _cert_and_key(self) -> WebConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("set both tls_cert and tls_key, or neither")
        for path in (self.tls_cert, self.tls_key):
            if path is not None and not path.is_file():
                raise ValueError(f"{path} does not exist or is not a file")
        return self


class ConsentConfig(_Strict):
    check_interval: float = Field(default=900.0, ge=0)
    """Seconds between the consent checks ``dirguard monitor`` and ``dirguard serve`` run against
    every configured connection (0: only ``dirguard connect validate`` checks). The console's red
    banner shows what the newest check found missing."""


class RollbackConfig(_Strict):
    four_eyes: bool = False
    """A plan may be applied only after an approver other than the person who planned it has
    approved it (the console's and the API's apply; each approval is in the audit log)."""


class Config(_Strict):
    store: StoreConfig = Field(default_factory=lambda: StoreConfig.model_validate({}))
    consent: ConsentConfig = Field(default_factory=ConsentConfig)
    rollback: RollbackConfig = Field(default_factory=RollbackConfig)
    log: LogConfig = Field(default_factory=LogConfig)
    secrets: SecretsConfig = Field(default_factory=SecretsConfig)
    ad: AdSection = Field(default_factory=AdSection)
    entra: EntraSection = Field(default_factory=EntraSection)
    web: WebConfig = Field(default_factory=WebConfig)
    threats: ThreatsConfig = Field(default_factory=ThreatsConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    approvals: ApprovalsConfig = Field(default_factory=ApprovalsConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)
    scheduler: SchedulerConfig = Field(default_factory=SchedulerConfig)

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        for kind, names in (
            ("ad.domains", [d.name for d in self.ad.domains]),
            ("entra.tenants", [t.name for t in self.entra.tenants]),
        ):
            seen: set[str] = set()
            for name in names:
                if not _NAME.match(name) and kind == "entra.tenants":
                    raise ValueError(f"{kind}: name {name!r} must be letters, digits, . _ -")
                if name in seen:
                    raise ValueError(f"{kind}: {name!r} is configured twice")
                seen.add(name)
        return self
