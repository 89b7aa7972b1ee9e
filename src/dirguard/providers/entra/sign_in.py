"""The administrator's interactive sign-in for connection setup: the device code flow.

The administrator signs in through the setup application (a public client; by default Microsoft
Graph Command Line Tools, which every tenant knows) and consents, as administrator, to the
delegated permissions setup needs. The tokens are the administrator's: Graph allows each call only
when both the consented permission and the administrator's own directory role allow it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken, TokenCredential
from azure.identity import DeviceCodeCredential

from dirguard.providers.entra.graph_client import GraphClient, graph_resource

DEFAULT_SETUP_CLIENT_ID = "14d82eec-204b-4c2f-b7e8-296a70dad1f6"
"""Microsoft Graph Command Line Tools: a public client with device code sign-in in every tenant."""

Prompt = Callable[[str, str, datetime], None]
"""Called with (verification URL, user code, expiry) when the administrator must sign in."""


class ScopedCredential:
    """A credential that always asks for the same delegated scopes, whatever a client asks.

    ``GraphClient`` asks for ``{graph}/.default``; the setup sign-in must ask for named
    permissions so that the administrator consents to exactly those."""

    def __init__(self, inner: TokenCredential, scopes: Sequence[str]) -> None:
        self._inner = inner
        self._scopes = tuple(scopes)

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return self._inner.get_token(
            *self._scopes, claims=claims, tenant_id=tenant_id, enable_cae=enable_cae, **kwargs
        )

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()


def token_tenant(token: str) -> str | None:
    """The ``tid`` claim of an access token (the tenant's id when it was named by a domain).

    The token came straight from the token endpoint over TLS; only this claim is read, nothing
    is trusted for authorization."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    tid = claims.get("tid") if isinstance(claims, dict) else None
    return str(tid) if tid else None


def device_code_credential(
    *,
    tenant_id: str,
    client_id: str,
    authority: str,
    ca_file: Path | None,
    prompt: Prompt,
) -> DeviceCodeCredential:
    def callback(url: str, code: str, expires_on: datetime) -> None:
        prompt(url, code, expires_on.astimezone(UTC))

    options: dict[str, Any] = {"authority": authority, "disable_instance_discovery": True}
    if ca_file is not None:
        options["connection_verify"] = str(ca_file)
    return DeviceCodeCredential(
        client_id=client_id, tenant_id=tenant_id, prompt_callback=callback, **options
    )


def admin_graph_client(
    credential: TokenCredential,
    *,
    tenant_id: str,
    graph_url: str,
    ca_file: Path | None,
    scopes: Sequence[str],
) -> GraphClient:
    """A Graph client acting as the administrator signed in (``device_code_credential``) through
    the setup application, asking for the named delegated ``scopes``."""
    prefix = graph_resource(graph_url)
    return GraphClient(
        tenant_id=tenant_id,
        credential=ScopedCredential(credential, [f"{prefix}/{name}" for name in scopes]),
        graph_url=graph_url,
        ca_file=ca_file,
    )
