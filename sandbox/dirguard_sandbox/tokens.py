"""Entra-style access tokens: RS256 JWTs signed by the sandbox's key, published as a JWKS.

App-only tokens for Microsoft Graph are version 1.0 tokens, as Entra issues them for Graph (whose
``accessTokenAcceptedVersion`` is 1): ``iss`` is ``https://sts.windows.net/{tenant}/``, ``aud`` is
``https://graph.microsoft.com``, the client is named by ``appid`` and its application permissions
by ``roles``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

GRAPH_AUDIENCE = "https://graph.microsoft.com"
GRAPH_AUDIENCES = (
    GRAPH_AUDIENCE,
    "https://graph.microsoft.com/",
    "00000003-0000-0000-c000-000000000000",
)
TOKEN_LIFETIME_SECONDS = 3599


class TokenRejected(Exception):
    """A bearer token the sandbox did not issue, or no longer accepts."""


@dataclass(frozen=True, kw_only=True)
class AppTokenRequest:
    """What an app-only token says about its client."""

    tenant_id: str
    app_id: str
    app_display_name: str
    service_principal_id: str
    roles: tuple[str, ...]
    credential_kind: str = "secret"
    directory_roles: tuple[str, ...] = ()
    """Template ids of the directory roles the service principal holds (the ``wids`` claim)."""


class TokenSigner:
    """One RSA signing key per server run, with its key id."""

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        digest = hashlib.sha1(der, usedforsecurity=False).digest()
        self.kid = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def jwks(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self._key.public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def issue_app_token(self, request: AppTokenRequest) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": GRAPH_AUDIENCE,
            "iss": f"https://sts.windows.net/{request.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_SECONDS,
            "app_displayname": request.app_display_name,
            "appid": request.app_id,
            "appidacr": "2" if request.credential_kind == "certificate" else "1",
            "idp": f"https://sts.windows.net/{request.tenant_id}/",
            "idtyp": "app",
            "oid": request.service_principal_id,
            "sub": request.service_principal_id,
            "roles": list(request.roles),
            "tid": request.tenant_id,
            "uti": uuid.uuid4().hex[:22],
            "ver": "1.0",
        }
        if request.directory_roles:
            claims["wids"] = list(request.directory_roles)
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign prepared claims (delegated access tokens and ID tokens) with this key."""
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def verify(self, token: str, *, tenant_id: str) -> dict[str, Any]:
        """The claims of a token this signer issued for ``tenant_id``; else TokenRejected."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError as error:
            raise TokenRejected("IDX14100: JWT is not well formed.") from error
        if header.get("kid") != self.kid:
            raise TokenRejected("Access token validation failure. Invalid signing key.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key.public_key(),
                algorithms=["RS256"],
                audience=list(GRAPH_AUDIENCES),
                issuer=f"https://sts.windows.net/{tenant_id}/",
                options={"require": ["exp", "aud", "iss", "tid"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenRejected("Lifetime validation failed, the token is expired.") from error
        except jwt.InvalidAudienceError as error:
            raise TokenRejected("Access token validation failure. Invalid audience.") from error
        except jwt.InvalidIssuerError as error:
            raise TokenRejected("Access token validation failure. Invalid issuer.") from error
        except jwt.PyJWTError as error:
            raise TokenRejected("Access token validation failure.") from error
        return claims
