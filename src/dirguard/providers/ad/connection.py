"""Connecting to a domain controller with python-ldap: TLS always, validated by default.

:func:`connect` tries the configured servers in order (failover) and returns an
:class:`AdConnection` bound by UPN (simple bind) or Kerberos (SASL GSSAPI, using the ticket the
host already has). Transport is LDAPS, or LDAP upgraded with StartTLS before any bind; the server
certificate is checked against ``ca_file`` (or the system store) unless ``verify_tls = false``,
which is logged as a warning at every connection. Errors say which server failed and why; they
never contain the password.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import socket
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import ldap
import ldap.sasl

from dirguard.catalog.resource_type import Partition
from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad.errors import AdAuthError as AdAuthError
from dirguard.providers.ad.errors import AdConnectionError as AdConnectionError
from dirguard.providers.ad.errors import AdTlsError as AdTlsError
from dirguard.providers.ad.errors import AdUnknownSpn as AdUnknownSpn
from dirguard.providers.ad.errors import AdUnreachable as AdUnreachable
from dirguard.providers.ad.errors import ldap_error_text
from dirguard.providers.ad.gssapi_errors import (
    is_unknown_spn,
    kerberos_hint,
    unknown_spn_advice,
    unknown_spn_problem,
)

log = logging.getLogger(__name__)

_ANNOUNCE = contextvars.ContextVar("dirguard_ad_announce_connects", default=True)


@contextlib.contextmanager
def connecting_quietly() -> Iterator[None]:
    """Within the block, a successful :func:`connect` logs at DEBUG, not INFO: for the extra
    connections of one read (its caller says once how many it opened)."""
    token = _ANNOUNCE.set(False)
    try:
        yield
    finally:
        _ANNOUNCE.reset(token)


DEFAULT_TIMEOUT_S = 15.0


@dataclass(frozen=True, kw_only=True)
class NamingContexts:
    """The rootDSE's naming contexts: where each partition starts."""

    default: str
    configuration: str
    schema: str
    dns_host_name: str | None = None

    def base(self, partition: Partition) -> str:
        return {
            Partition.DOMAIN: self.default,
            Partition.CONFIGURATION: self.configuration,
            Partition.SCHEMA: self.schema,
        }[partition]


@dataclass(frozen=True, kw_only=True)
class AdConnection:
    """A bound python-ldap connection and what the rootDSE said."""

    ldap: Any
    server: str
    uri: str
    contexts: NamingContexts

    def close(self) -> None:
        try:
            self.ldap.unbind_s()
        except ldap.LDAPError:
            log.debug("unbind from %s failed", self.server, exc_info=True)

    def __enter__(self) -> AdConnection:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _uri(domain: AdDomainConfig, server: str) -> str:
    scheme = "ldaps" if domain.transport == "ldaps" else "ldap"
    port = domain.port or (636 if domain.transport == "ldaps" else 389)
    return f"{scheme}://{server}:{port}"


def _tls_problem(text: str) -> bool:
    lowered = text.lower()
    return any(w in lowered for w in ("certificate", "tls", "ssl", "x509", "handshake"))


def _diagnose_tls(domain: AdDomainConfig, server: str, port: int, timeout: float) -> str | None:
    """Why the TLS handshake failed, when the port answers (``None``: it does not answer).

    OpenSSL's reason does not reach python-ldap's exception, so an LDAPS handshake is repeated
    with Python's ssl module, which names the certificate problem."""
    try:
        raw = socket.create_connection((server, port), timeout=timeout)
    except OSError:
        return None
    with raw:
        if domain.transport != "ldaps":
            return "the StartTLS handshake failed"
        context = ssl.create_default_context(
            cafile=str(domain.ca_file) if domain.ca_file is not None else None
        )
        try:
            with context.wrap_socket(raw, server_hostname=server):
                return "the TLS handshake failed (the certificate itself validates)"
        except ssl.SSLCertVerificationError as error:
            return f"certificate verify failed: {error.verify_message}"
        except (ssl.SSLError, OSError) as error:
            return f"TLS handshake failed: {error}"


def _open(domain: AdDomainConfig, server: str, password: str | None, timeout: float) -> Any:
    uri = _uri(domain, server)
    if not domain.verify_tls:
        log.warning(
            "TLS certificate validation is OFF for %s (verify_tls = false): the connection "
            "is encrypted but the server is not authenticated",
            uri,
        )
    conn = ldap.initialize(uri)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, timeout)
    conn.set_option(ldap.OPT_TIMEOUT, timeout)
    conn.set_option(
        ldap.OPT_X_TLS_REQUIRE_CERT,
        ldap.OPT_X_TLS_DEMAND if domain.verify_tls else ldap.OPT_X_TLS_NEVER,
    )
    if domain.ca_file is not None:
        if not domain.ca_file.is_file():
            raise AdTlsError(f"{domain.name}: ca_file {domain.ca_file} does not exist")
        conn.set_option(ldap.OPT_X_TLS_CACERTFILE, str(domain.ca_file))
    conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    where = f"{server}:{uri.rsplit(':', 1)[1]}"
    try:
        if domain.transport == "starttls":
            conn.start_tls_s()
        if domain.auth == "gssapi":
            _gssapi_bind(conn)
        else:
            conn.simple_bind_s(domain.bind_upn, password or "")
    except ldap.INVALID_CREDENTIALS:
        _quiet_unbind(conn)
        if domain.auth == "gssapi":
            raise AdAuthError(f"{where}: the server refused the Kerberos ticket") from None
        raise AdAuthError(
            f"{where}: the server refused the credentials of {domain.bind_upn} "
            "(wrong password, locked or disabled account)"
        ) from None
    except ldap.SERVER_DOWN as error:
        _quiet_unbind(conn)
        text = ldap_error_text(error)
        if not _tls_problem(text):
            port = int(uri.rsplit(":", 1)[1])
            text = _diagnose_tls(domain, server, port, timeout) or text
        if _tls_problem(text):
            raise AdTlsError(
                f"{where}: TLS failed: {text}; check ca_file (the CA that issued the DC's "
                "certificate) and that the server name matches the certificate"
            ) from None
        raise AdUnreachable(f"{where}: unreachable ({text})") from None
    except ldap.CONNECT_ERROR as error:
        _quiet_unbind(conn)
        text = ldap_error_text(error)
        if _tls_problem(text):
            raise AdTlsError(f"{where}: TLS failed: {text}; check ca_file") from None
        raise AdUnreachable(f"{where}: cannot connect ({text})") from None
    except ldap.LDAPError as error:
        _quiet_unbind(conn)
        if domain.auth == "gssapi":
            text = ldap_error_text(error)
            if is_unknown_spn(text):
                problem = unknown_spn_problem(server, text)
                raise AdUnknownSpn(f"{where}: Kerberos bind failed: {problem}") from None
            hint = kerberos_hint(text, principal=domain.bind_upn or "<account>@<REALM>")
            raise AdAuthError(f"{where}: Kerberos bind failed: {hint}") from None
        raise AdConnectionError(f"{where}: bind failed: {ldap_error_text(error)}") from None
    return conn


def _gssapi_bind(conn: Any) -> None:
    """SASL GSSAPI with the ticket in the default credential cache (``KRB5CCNAME``).

    The service principal is ``ldap/<server as configured>``: no reverse DNS by libldap
    (``SASL_NOCANON``), so the name in ``servers`` must be one the DC has an SPN for. TLS already
    protects the connection and AD refuses a SASL security layer inside TLS, so none is
    negotiated (``maxssf=0``)."""
    conn.set_option(ldap.OPT_X_SASL_NOCANON, 1)
    conn.set_option(ldap.OPT_X_SASL_SECPROPS, "maxssf=0")
    conn.sasl_interactive_bind_s("", ldap.sasl.gssapi())


def _quiet_unbind(conn: Any) -> None:
    with contextlib.suppress(ldap.LDAPError):
        conn.unbind_s()


def read_root_dse(conn: Any) -> NamingContexts:
    result = conn.search_s(
        "",
        ldap.SCOPE_BASE,
        "(objectClass=*)",
        [
            "defaultNamingContext",
            "configurationNamingContext",
            "schemaNamingContext",
            "dnsHostName",
        ],
    )
    attrs = result[0][1]

    def one(name: str) -> str:
        values = attrs.get(name)
        if not values:
            raise AdConnectionError(f"the rootDSE has no {name}; is this an AD domain controller?")
        return bytes(values[0]).decode("utf-8")

    host = attrs.get("dnsHostName")
    return NamingContexts(
        default=one("defaultNamingContext"),
        configuration=one("configurationNamingContext"),
        schema=one("schemaNamingContext"),
        dns_host_name=bytes(host[0]).decode("utf-8") if host else None,
    )


def connect(
    domain: AdDomainConfig,
    password: str | None,
    *,
    servers: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> AdConnection:
    """Connect to the first server of ``domain.servers`` that answers, bind, read the rootDSE.

    An unreachable server moves on to the next, and so does a server name the KDC has no
    ``ldap/`` service principal for (Kerberos); refused credentials, a missing or expired ticket
    stop at once (trying them on every DC fails the same way, and for a password only brings the
    account closer to lockout). The final error names every server tried and why it failed."""
    if domain.auth == "simple" and not password:
        raise AdAuthError(f"{domain.name}: simple bind needs a password (none was resolved)")
    problems: list[str] = []
    no_spn: list[str] = []
    for server in servers or domain.servers:
        try:
            conn = _open(domain, server, password, timeout)
        except AdUnknownSpn as error:
            log.warning("domain %s: skipping %s: %s", domain.name, server, error)
            problems.append(str(error))
            no_spn.append(server)
            continue
        except AdAuthError as error:
            if problems:
                raise type(error)(f"{error} (tried before: {'; '.join(problems)})") from None
            raise
        except AdConnectionError as error:
            log.warning("domain %s: %s", domain.name, error)
            problems.append(str(error))
            continue
        try:
            contexts = read_root_dse(conn)
        except ldap.LDAPError as error:
            _quiet_unbind(conn)
            problems.append(f"{server}: reading the rootDSE failed: {ldap_error_text(error)}")
            continue
        level = logging.INFO if _ANNOUNCE.get() else logging.DEBUG
        log.log(level, "domain %s: connected to %s", domain.name, _uri(domain, server))
        return AdConnection(ldap=conn, server=server, uri=_uri(domain, server), contexts=contexts)
    if no_spn:
        raise AdUnknownSpn(
            f"{domain.name}: no configured server accepted a Kerberos bind: "
            + "; ".join(problems)
            + f"; {unknown_spn_advice(no_spn)}"
        )
    if problems and all("TLS failed" in p for p in problems):
        raise AdTlsError(f"{domain.name}: " + "; ".join(problems))
    raise AdUnreachable(f"{domain.name}: no domain controller answered: " + "; ".join(problems))
