"""A Microsoft Graph client for one tenant: tokens, API versions, paging, errors and throttling.

Tokens come from azure-identity (client secret or certificate) against the configured authority,
with instance discovery off (so a national cloud or the sandbox tenant works) and the configured
CA bundle; they are asked for on the Graph resource of the configured Graph URL (a national
cloud's own, e.g. ``https://graph.microsoft.us/.default``, as Microsoft requires).

A long-running guardian outlives its tokens (Entra issues them for 60-90 minutes): the client
asks its credential for a new one five minutes before the one it holds expires (as azure-core's
bearer-token policy does; azure-identity answers from its cache until then), and once more when
Graph answers 401 ``InvalidAuthenticationToken`` anyway (a revoked token, a clock that differs),
passing on the claims a ``WWW-Authenticate`` challenge asks for, then repeats the request. A
token the credential hands back unchanged is not sent again: the 401 is raised.

Each call names its API version (``v1.0`` unless it asks for ``beta``); absolute URLs (an
``@odata.nextLink``, Resource Manager) are used as they are. Requests follow ``@odata.nextLink``;
a Graph error envelope becomes a ``GraphError`` naming the code, message and request id; a 429,
503 or 504 is retried after its ``Retry-After`` (fractional seconds honoured) a bounded number of
times. Every request carries a fresh ``client-request-id`` and is logged (at debug level; a
refusal at warning level) with Graph's ``request-id``, which Microsoft support asks for. A
:class:`~dirguard.providers.entra.collect.pacing.Pacer` (optional) is told before each send and
after each answer: it keeps the tenant's concurrency limit, the resource-unit budget and the
conditional-access budget, and decides how long a refused request waits.
Tests pass an httpx transport; the product passes none (httpx's own, with TLS verification).
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from azure.core.credentials import AccessToken, TokenCredential
from azure.core.exceptions import ClientAuthenticationError, ServiceRequestError

from dirguard import __version__
from dirguard.config.clouds import GRAPH_HOSTS

if TYPE_CHECKING:
    from dirguard.providers.entra.collect.pacing import Pacer

log = logging.getLogger(__name__)

GRAPH_RESOURCE = "https://graph.microsoft.com"
USER_AGENT = f"dirguard/{__version__}"
"""Sent with every Graph request, so that the traffic is dirguard's to whoever reads it (a proxy,
Microsoft support, the sandbox's fault storms aimed at dirguard alone), not httpx's."""
API_VERSIONS = ("v1.0", "beta")
"""What a call may ask for (``GraphSource.api_version`` of a resource type, or by hand)."""
MAX_RETRIES = 4
"""How many times one request is retried after a 429/503/504 or a dropped connection before the
error is raised."""
REFRESH_MARGIN = 300.0
"""Seconds before its expiry a token is replaced."""
_RETRY_STATUSES = frozenset({429, 503, 504})
_RETRY_TRANSPORT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
"""A connection that drops is retried only where repeating the request cannot create twice."""
_TOKEN_REJECTED = frozenset({"InvalidAuthenticationToken", "ExpiredAuthenticationToken"})
"""Graph's (and Resource Manager's) codes for a bearer token it no longer accepts."""
_AADSTS = re.compile(r"AADSTS\d+")
_UNREACHABLE = re.compile(
    r"Failed to establish a new connection|Connection refused|Connection reset|timed out"
    r"|Name or service not known|Temporary failure in name resolution"
)
_CLAIMS = re.compile(r'\bclaims="([^"]*)"')


class GraphError(Exception):
    """Graph answered with an error; the message names the status, code and Graph's message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        path: str,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        where = f" (request-id {request_id})" if request_id else ""
        super().__init__(f"Graph {path}: HTTP {status} {code}: {message}{where}")
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retry_after = retry_after
        """A refusal's ``Retry-After`` in seconds, when it gave one."""


class GraphAuthError(Exception):
    """No token: names the tenant and the AADSTS code, never the secret."""

    def __init__(self, tenant: str, code: str | None, detail: str) -> None:
        where = f" ({code})" if code else ""
        super().__init__(f"cannot get a token for tenant {tenant}{where}: {detail}")
        self.code = code


def graph_resource(graph_url: str) -> str:
    """The resource tokens are asked for: a known Graph root's own (national clouds), else the
    global one (the sandbox tenant on loopback accepts it)."""
    host = (urlsplit(graph_url).hostname or "").lower()
    known = host in GRAPH_HOSTS or host.startswith(("graph.", "microsoftgraph."))
    return f"https://{host}" if known else GRAPH_RESOURCE


def make_credential(
    *,
    tenant_id: str,
    client_id: str,
    authority: str,
    ca_file: Path | None,
    client_secret: str | None = None,
    certificate_pem: str | None = None,
) -> TokenCredential:
    """An azure-identity credential for the app: exactly one of secret or PEM certificate."""
    # Imported here: azure-identity (with cryptography's x509) was a fifth of the start-up of
    # every command that imports this module without opening a tenant (an AD undelete, say).
    from azure.identity import CertificateCredential, ClientSecretCredential

    options: dict[str, Any] = {
        "authority": authority,
        "disable_instance_discovery": True,
    }
    if ca_file is not None:
        options["connection_verify"] = str(ca_file)
    if certificate_pem is not None:
        return CertificateCredential(
            tenant_id, client_id, certificate_data=certificate_pem.encode(), **options
        )
    if client_secret is None:
        raise ValueError("a client secret or a certificate is needed")
    return ClientSecretCredential(tenant_id, client_id, client_secret, **options)


class GraphClient:
    """Authenticated Graph requests for one tenant (``v1.0`` unless a call asks for ``beta``)."""

    def __init__(
        self,
        *,
        tenant_id: str,
        credential: TokenCredential,
        graph_url: str,
        ca_file: Path | None,
        secret: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``clock`` tells when a token is due for renewal (seconds since the epoch, as the
        credential's ``expires_on``); ``transport`` replaces httpx's (tests only)."""
        self._tenant = tenant_id
        self._credential = credential
        self._scope = f"{graph_resource(graph_url)}/.default"
        self._secret = secret
        self._sleep = sleep
        self._clock = clock
        self._token: AccessToken | None = None
        self.pacer: Pacer | None = None
        """Set by the collection engine (:mod:`dirguard.providers.entra.collect.pacing`)."""
        self._counted = 0
        self._count_lock = threading.Lock()
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(ca_file)) if ca_file is not None else True
        )
        self._http = httpx.Client(
            base_url=graph_url.rstrip("/"),
            verify=verify,
            timeout=30.0,
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()
        close = getattr(self._credential, "close", None)
        if callable(close):
            close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def token(self) -> str:
        """A token good for at least ``REFRESH_MARGIN`` more seconds, renewed when due;
        ``GraphAuthError`` when Entra ID refuses."""
        held = self._token
        if held is None or self._clock() >= held.expires_on - REFRESH_MARGIN:
            held = self._token = self._acquire()
        return held.token

    def _acquire(self, claims: str | None = None) -> AccessToken:
        try:
            return self._credential.get_token(self._scope, claims=claims)
        except ServiceRequestError as exc:  # the authority did not answer: worth retrying
            raise GraphError(
                0, "AuthorityUnreachable", f"{type(exc).__name__}: {exc.message}", "token"
            ) from None
        except ClientAuthenticationError as exc:
            text = str(exc.message or exc)
            if self._secret:
                text = text.replace(self._secret, "***")
            found = _AADSTS.search(text)
            if found is None and _UNREACHABLE.search(text):
                # no answer from the authority (azure-identity wraps it so): worth retrying
                raise GraphError(
                    0, "AuthorityUnreachable", text.splitlines()[0][:300], "token"
                ) from None
            first = next((line for line in text.splitlines() if "AADSTS" in line), text)
            first = first.split(" Trace ID:", 1)[0]
            raise GraphAuthError(
                self._tenant, found.group(0) if found else None, first.strip()[:300]
            ) from None

    def _renew_rejected(self, rejected: str, answer: httpx.Response) -> bool:
        """After a 401 for ``rejected``: a new token (with the challenge's claims, if any);
        False when the credential has no other token to give."""
        fresh = self._acquire(_challenge_claims(answer))
        self._token = fresh
        return fresh.token != rejected

    def request(
        self,
        method: str,
        path: str,
        *,
        api_version: str = "v1.0",
        headers: Mapping[str, str] | None = None,
        throttle_retries: int = MAX_RETRIES,
        **kwargs: Any,
    ) -> httpx.Response:
        """One request, retried after throttling (``throttle_retries`` times: 0 for a caller
        that schedules its own retry, as the notification outbox does) and once with a renewed
        token after a 401 ``InvalidAuthenticationToken``; raises ``GraphError`` on an error
        answer."""
        if api_version not in API_VERSIONS:
            raise ValueError(f"Graph API version {api_version!r}: one of {API_VERSIONS}")
        url = path if "://" in path else f"/{api_version}/{path.lstrip('/')}"
        answer, sent = self._send(method, url, path, headers, kwargs, throttle_retries)
        if _token_rejected(answer) and self._renew_rejected(sent, answer):
            answer, _ = self._send(method, url, path, headers, kwargs, throttle_retries)
        if answer.is_error:
            code, message = _error_of(answer)
            wait = _stated_retry_after(answer)
            raise GraphError(
                answer.status_code,
                code,
                message,
                path,
                answer.headers.get("request-id"),
                retry_after=wait,
            )
        return answer

    def _send(
        self,
        method: str,
        url: str,
        path: str,
        headers: Mapping[str, str] | None,
        kwargs: dict[str, Any],
        throttle_retries: int = MAX_RETRIES,
    ) -> tuple[httpx.Response, str]:
        """The answer after throttling retries, and the token it was sent with (each attempt
        takes the token anew: a long Retry-After may outlast one)."""
        pacer = self.pacer
        for attempt in range(MAX_RETRIES + 1):
            token = self.token()
            client_id = str(uuid.uuid4())
            sent = {
                **(headers or {}),
                "Authorization": f"Bearer {token}",
                "client-request-id": client_id,
            }
            try:
                with self._count_lock:
                    self._counted += 1
                if pacer is not None:
                    with pacer.slot(url):
                        answer = self._http.request(method, url, headers=sent, **kwargs)
                    pacer.answered(url, answer)
                else:
                    answer = self._http.request(method, url, headers=sent, **kwargs)
            except httpx.TransportError as error:
                retry = method.upper() in _RETRY_TRANSPORT_METHODS and attempt < MAX_RETRIES
                if not retry:
                    raise GraphError(
                        0, "ConnectionFailed", f"{type(error).__name__}: {error}", path
                    ) from None
                self._sleep(min(2.0**attempt, 60.0))
                continue
            _log_answer(method, path, answer, client_id)
            if answer.status_code in _RETRY_STATUSES and attempt < throttle_retries:
                if pacer is not None:
                    pacer.refused(url, answer, attempt)
                else:
                    self._sleep(_retry_after(answer, attempt))
                continue
            break
        return answer, token

    @property
    def requests(self) -> int:
        """Requests sent so far (each retry counts; thread-safe): what the benchmark reports."""
        return self._counted

    def pause(self, seconds: float) -> None:
        """Wait ``seconds`` (with the client's injected sleep): a Retry-After inside a batch."""
        if seconds > 0:
            self._sleep(seconds)

    def get(self, path: str, *, api_version: str = "v1.0", **params: str) -> dict[str, Any]:
        answer = self.request("GET", path, api_version=api_version, params=params or None)
        body: dict[str, Any] = answer.json()
        return body

    def report_csv(self, path: str) -> str:
        """A Microsoft 365 usage report (``reports/get…(period='D30')``): Graph answers 302 to a
        preauthenticated download URL, which is fetched without the bearer token (the URL is
        the credential; the token is never sent to another host). The CSV's text, without its
        byte order mark."""
        answer = self.request("GET", path, follow_redirects=False)
        location = answer.headers.get("Location")
        if answer.status_code != 302 or not location:
            return answer.content.decode("utf-8-sig")
        download = self._http.get(location, follow_redirects=True)
        if download.is_error:
            raise GraphError(
                download.status_code, "DownloadFailed", "the report download failed", path
            )
        return download.content.decode("utf-8-sig")

    def pages(
        self, path: str, *, api_version: str = "v1.0", **params: str
    ) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following ``@odata.nextLink``."""
        body = self.get(path, api_version=api_version, **params)
        while True:
            yield from body.get("value", [])
            link = body.get("@odata.nextLink")
            if not link:
                return
            body = self.request("GET", link).json()


def _log_answer(method: str, path: str, answer: httpx.Response, client_id: str) -> None:
    """One line per answer with Graph's ``request-id`` and our ``client-request-id`` (what
    Microsoft support asks for): a server error at WARNING, a refusal or throttling (4xx) at
    INFO — its :class:`GraphError` (which names the request-id too) reaches the caller, which
    says what it means once (a collection the application may not read, a probe of consent)
    instead of a warning per request; a success at DEBUG. The path only, never the query (a
    ``$skiptoken`` or ``$deltatoken`` is a capability)."""
    status = answer.status_code
    level = logging.WARNING if status >= 500 else logging.INFO if status >= 400 else logging.DEBUG
    if log.isEnabledFor(level):
        log.log(
            level,
            "Graph %s %s: HTTP %d (request-id %s, client-request-id %s%s)",
            method,
            urlsplit(path).path,
            answer.status_code,
            answer.headers.get("request-id", "-"),
            client_id,
            f", Retry-After {answer.headers['Retry-After']}"
            if "Retry-After" in answer.headers
            else "",
        )


def _token_rejected(answer: httpx.Response) -> bool:
    if answer.status_code != 401:
        return False
    if _challenge_claims(answer) is not None:
        return True
    code, _ = _error_of(answer)
    return code in _TOKEN_REJECTED


def _challenge_claims(answer: httpx.Response) -> str | None:
    """The claims a ``WWW-Authenticate: Bearer ... error="insufficient_claims", claims="..."``
    challenge asks for (base64 in the header; the JSON text the token request takes)."""
    found = _CLAIMS.search(answer.headers.get("WWW-Authenticate", ""))
    if found is None or not found.group(1):
        return None
    raw = found.group(1)
    try:
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def retry_after(answer: httpx.Response, attempt: int) -> float:
    """Seconds to wait after a refusal: its ``Retry-After`` (fractional seconds honoured), else
    an exponential backoff (``2**attempt``), at most 60."""
    return _retry_after(answer, attempt)


def _stated_retry_after(answer: httpx.Response) -> float | None:
    """The answer's own ``Retry-After`` in seconds (uncapped), if it has a number there."""
    try:
        return max(float(answer.headers["Retry-After"]), 0.0)
    except (KeyError, ValueError):
        return None


def _retry_after(answer: httpx.Response, attempt: int) -> float:
    raw = answer.headers.get("Retry-After")
    try:
        wait = float(raw) if raw is not None else 2.0**attempt
    except ValueError:
        wait = 2.0**attempt
    return min(max(wait, 0.0), 60.0)


def _error_of(answer: httpx.Response) -> tuple[str, str]:
    try:
        error = answer.json().get("error", {})
    except ValueError:
        return answer.reason_phrase or "error", answer.text[:200] or "no details"
    if not isinstance(error, dict):
        return "error", str(error)[:200]
    return str(error.get("code", "error")), str(error.get("message", "no message"))
