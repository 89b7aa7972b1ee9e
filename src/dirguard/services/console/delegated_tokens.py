"""Delegated Microsoft Graph tokens of people signed in to the console, held in this process's
memory only — never in the store, a session row, a log or an answer — until they expire.

Microsoft Graph's ``People.Read`` is a delegated permission: it reads the relevant people of the
*signed-in* user (``GET /me/people``), never someone else's (that is ``People.Read.All``, which
the seed does not grant). So when ``[web.oidc] people_read`` is on, the console's Entra sign-in
asks for it, and the access token the authorization code is redeemed for is kept here under the
person's sign-in name, so that an approval request they file can suggest approvers from their
own relevant people. A process restart forgets every token: suggestions then fall back to the
organisation chart (``services/approvals/approvers.suggested``) until the person signs in again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from azure.core.credentials import AccessToken

MARGIN = timedelta(minutes=2)
"""A token this close to its expiry is not handed out (a request must still get through)."""


@dataclass(frozen=True)
class HeldToken:
    """A delegated access token, usable as an azure-identity credential by the Graph client."""

    token: str
    expires_at: datetime

    def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        return AccessToken(self.token, int(self.expires_at.timestamp()))

    def __repr__(self) -> str:  # never the token itself
        return f"HeldToken(expires_at={self.expires_at.isoformat()})"


class DelegatedTokens:
    def __init__(self) -> None:
        self._held: dict[str, HeldToken] = {}
        self._lock = threading.Lock()

    def keep(self, name: str, token: str, expires_at: datetime) -> None:
        with self._lock:
            self._held[name.casefold()] = HeldToken(token, expires_at)

    def get(self, name: str, now: datetime) -> HeldToken | None:
        with self._lock:
            held = self._held.get(name.casefold())
            if held is not None and held.expires_at - MARGIN <= now:
                del self._held[name.casefold()]
                return None
            return held

    def forget(self, name: str) -> None:
        with self._lock:
            self._held.pop(name.casefold(), None)


DELEGATED_TOKENS = DelegatedTokens()
"""The process's tokens (the console's sign-in puts them, approvals read them)."""
