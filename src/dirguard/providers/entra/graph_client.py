"""A Microsoft Graph client for one tenant: token acquisition, paging, errors and throttling.

Tokens come from azure-identity (client secret or certificate) against the configured authority,
with instance discovery off (so a sovereign cloud or the sandbox tenant works) and the configured
CA bundle. Requests follow ``@odata.nextLink``; a Graph error envelope becomes a ``GraphError``
naming the code and message; a 429 or 503 is retried after its ``Retry-After`` (fractional seconds
honoured) a bounded number of times.
"""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from azure.core.credentials import TokenCredential
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, ClientSecretCredential

GRAPH_RESOURCE = "https://graph.microsoft.com"
MAX_RETRIES = 4
"""How many times one request is retried after a 429/503/504 or a dropped connection before the
error is raised."""
_RETRY_STATUSES = frozenset({429, 503, 504})
_RETRY_TRANSPORT_METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
"""A connection that drops is retried only where repeating the request cannot create twice."""
_AADSTS = re.compile(r"AADSTS\d+")


class GraphError(Exception):
    """Graph answered with an error; the message names the status, code and Graph's message."""

    def __init__(self, status: int, code: str, message: str, path: str) -> None:
        super().__init__(f"Graph {path}: HTTP {status} {code}: {message}")
        self.status = status
        self.code = code


class GraphAuthError(Exception):
    """No token: names the tenant and the AADSTS code, never the secret."""

    def __init__(self, tenant: str, code: str | None, detail: str) -> None:
        where = f" ({code})" if code else ""
        super().__init__(f"cannot get a token for tenant {tenant}{where}: {detail}")
        self.code = code


def _scope(graph_url: str) -> str:
    host = urlsplit(graph_url).hostname or ""
    resource = graph_url if host.startswith("graph.") or host.startswith("microsoftgraph.") else ""
    return f"{resource or GRAPH_RESOURCE}/.default"


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
    """Authenticated Graph v1.0 requests for one tenant."""

    def __init__(
        self,
        *,
        tenant_id: str,
        credential: TokenCredential,
        graph_url: str,
        ca_file: Path | None,
        secret: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._tenant = tenant_id
        self._credential = credential
        self._scope = _scope(graph_url)
        self._secret = secret
        self._sleep = sleep
        self._token: str | None = None
        verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(ca_file)) if ca_file is not None else True
        )
        self._http = httpx.Client(base_url=f"{graph_url}/v1.0", verify=verify, timeout=30.0)

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
        """Acquire (once) an app-only token; ``GraphAuthError`` when Entra ID refuses."""
        if self._token is None:
            try:
                self._token = self._credential.get_token(self._scope).token
            except ClientAuthenticationError as exc:
                text = str(exc.message or exc)
                if self._secret:
                    text = text.replace(self._secret, "***")
                found = _AADSTS.search(text)
                first = next((line for line in text.splitlines() if "AADSTS" in line), text)
                first = first.split(" Trace ID:", 1)[0]
                raise GraphAuthError(
                    self._tenant, found.group(0) if found else None, first.strip()[:300]
                ) from None
        return self._token

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, retried after throttling; raises ``GraphError`` on an error answer."""
        headers = {"Authorization": f"Bearer {self.token()}"}
        for attempt in range(MAX_RETRIES + 1):
            try:
                answer = self._http.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as error:
                retry = method.upper() in _RETRY_TRANSPORT_METHODS and attempt < MAX_RETRIES
                if not retry:
                    raise GraphError(
                        0, "ConnectionFailed", f"{type(error).__name__}: {error}", path
                    ) from None
                self._sleep(min(2.0**attempt, 60.0))
                continue
            if answer.status_code in _RETRY_STATUSES and attempt < MAX_RETRIES:
                self._sleep(_retry_after(answer, attempt))
                continue
            break
        if answer.is_error:
            code, message = _error_of(answer)
            raise GraphError(answer.status_code, code, message, path)
        return answer

    def get(self, path: str, **params: str) -> dict[str, Any]:
        body: dict[str, Any] = self.request("GET", path, params=params or None).json()
        return body

    def pages(self, path: str, **params: str) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following ``@odata.nextLink``."""
        body = self.get(path, **params)
        while True:
            yield from body.get("value", [])
            link = body.get("@odata.nextLink")
            if not link:
                return
            body = self.request("GET", link).json()


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
