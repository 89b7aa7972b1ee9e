"""Signing in to the console with Microsoft Entra ID: OpenID Connect authorization code flow
with PKCE (S256), a ``state`` and a ``nonce``, scopes ``openid profile User.Read`` (and the
delegated ``People.Read`` when ``[web.oidc] people_read`` is on: its access token is then kept in
memory by :mod:`dirguard.services.console.delegated_tokens` for approver suggestions).

The ID token is checked as the Microsoft identity platform says ("Validate tokens",
https://learn.microsoft.com/entra/identity-platform/id-tokens#validate-tokens): signature
against the keys the tenant's discovery document names (``jwks_uri``), ``aud`` = the console's
client id, ``iss`` = the tenant's v2.0 issuer, ``tid`` = the configured tenant, ``exp``/``nbf``,
and the ``nonce`` of this sign-in. The console role comes from the token's ``roles`` (app roles)
and ``groups`` (group object ids) through ``[web.oidc] app_roles`` / ``group_roles``: the
highest mapped role wins, else ``default_role``, else the sign-in is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import WebOidcConfig
from dirguard.services.console.roles import Principal, Role
from dirguard.services.errors import Problem, ServiceError
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.console_models import ConsoleAccount

SCOPES = "openid profile User.Read"
PEOPLE_SCOPE = "People.Read"
FLOW_LIFETIME = timedelta(minutes=10)
"""A sign-in started longer ago than this is not completed."""
LEEWAY_SECONDS = 120


@dataclass(frozen=True, kw_only=True)
class Endpoints:
    authorization: str
    token: str
    jwks_uri: str
    issuer: str


@dataclass(frozen=True, kw_only=True)
class EntraIdentity:
    name: str
    """``preferred_username`` (the user principal name)."""
    display_name: str | None
    object_id: str
    roles: tuple[str, ...]
    groups: tuple[str, ...]
    groups_overage: bool


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def role_for(config: WebOidcConfig, identity: EntraIdentity) -> Role | None:
    """The console role ``identity`` maps to; ``None`` when nothing maps and there is no
    default."""
    mapped = [Role.parse(config.app_roles[r]) for r in identity.roles if r in config.app_roles]
    mapped += [
        Role.parse(config.group_roles[g]) for g in identity.groups if g in config.group_roles
    ]
    if mapped:
        return max(mapped)
    return Role.parse(config.default_role) if config.default_role else None


@dataclass(kw_only=True)
class EntraSignIn:
    config: WebOidcConfig
    client_secret: str | None
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    _endpoints: Endpoints | None = field(default=None, init=False)

    def _http(self) -> httpx.Client:
        verify: ssl.SSLContext | bool = True
        if self.config.ca_file is not None:
            verify = ssl.create_default_context(cafile=str(self.config.ca_file))
        return httpx.Client(verify=verify, timeout=15.0)

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            with self._http() as http:
                answer = http.get(url)
        except httpx.HTTPError as error:
            raise ServiceError(
                f"Entra ID sign-in: {url} cannot be reached ({error})", Problem.UNAVAILABLE
            ) from None
        if answer.status_code != 200:
            raise ServiceError(
                f"Entra ID sign-in: {url} answered {answer.status_code}", Problem.UNAVAILABLE
            )
        data = answer.json()
        assert isinstance(data, dict)
        return data

    def endpoints(self) -> Endpoints:
        if self._endpoints is None:
            root = f"{self.config.authority}/{self.config.tenant_id}/v2.0"
            document = self._get_json(f"{root}/.well-known/openid-configuration")
            try:
                self._endpoints = Endpoints(
                    authorization=document["authorization_endpoint"],
                    token=document["token_endpoint"],
                    jwks_uri=document["jwks_uri"],
                    issuer=document["issuer"].replace("{tenantid}", str(self.config.tenant_id)),
                )
            except KeyError as missing:
                raise ServiceError(
                    f"Entra ID sign-in: the discovery document lacks {missing}", Problem.CONFIG
                ) from None
        return self._endpoints

    def begin(self, redirect_uri: str) -> tuple[str, dict[str, Any]]:
        """The authorization URL to send the browser to, and the flow state to keep in its
        session until the callback."""
        flow = {
            "state": secrets.token_urlsafe(32),
            "nonce": secrets.token_urlsafe(32),
            "verifier": secrets.token_urlsafe(64),
            "redirect_uri": redirect_uri,
            "started": self.clock().isoformat(),
        }
        query = {
            "client_id": str(self.config.client_id),
            "response_type": "code",
            "redirect_uri": redirect_uri,
            "response_mode": "query",
            "scope": self.scopes,
            "state": flow["state"],
            "nonce": flow["nonce"],
            "code_challenge": _challenge(flow["verifier"]),
            "code_challenge_method": "S256",
        }
        return f"{self.endpoints().authorization}?{urlencode(query)}", flow

    @property
    def scopes(self) -> str:
        return f"{SCOPES} {PEOPLE_SCOPE}" if self.config.people_read else SCOPES

    def _redeem(self, flow: dict[str, Any], code: str) -> tuple[str, tuple[str, float] | None]:
        """The ID token, and (with ``people_read``) the delegated access token and its
        lifetime in seconds."""
        fields = {
            "grant_type": "authorization_code",
            "client_id": str(self.config.client_id),
            "code": code,
            "redirect_uri": flow["redirect_uri"],
            "code_verifier": flow["verifier"],
            "scope": self.scopes,
        }
        if self.client_secret:
            fields["client_secret"] = self.client_secret
        try:
            with self._http() as http:
                answer = http.post(self.endpoints().token, data=fields)
        except httpx.HTTPError as error:
            raise ServiceError(
                f"Entra ID sign-in: the token endpoint cannot be reached ({error})",
                Problem.UNAVAILABLE,
            ) from None
        body = (
            answer.json()
            if answer.headers.get("content-type", "").startswith("application/json")
            else {}
        )
        if answer.status_code != 200 or "id_token" not in body:
            reason = body.get("error_description") or body.get("error") or answer.status_code
            raise ServiceError(f"Entra ID refused the sign-in: {reason}", Problem.PERMISSION)
        token: str = body["id_token"]
        access = None
        if self.config.people_read and body.get("access_token"):
            access = (str(body["access_token"]), float(body.get("expires_in") or 3600))
        return token, access

    def _identity(self, id_token: str, nonce: str) -> EntraIdentity:
        endpoints = self.endpoints()
        keys = jwt.PyJWKSet.from_dict(self._get_json(endpoints.jwks_uri))
        try:
            kid = jwt.get_unverified_header(id_token).get("kid")
            key = next(k for k in keys.keys if k.key_id == kid)
        except (jwt.PyJWTError, StopIteration):
            raise ServiceError(
                "Entra ID sign-in: the ID token is signed by a key the tenant does not publish",
                Problem.PERMISSION,
            ) from None
        try:
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=["RS256"],
                audience=str(self.config.client_id),
                issuer=endpoints.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "aud", "iss", "nonce", "tid", "oid"]},
            )
        except jwt.PyJWTError as error:
            raise ServiceError(
                f"Entra ID sign-in: the ID token is not valid ({error})", Problem.PERMISSION
            ) from None
        if not hmac.compare_digest(str(claims["nonce"]), nonce):
            raise ServiceError(
                "Entra ID sign-in: the ID token's nonce is not this sign-in's", Problem.PERMISSION
            )
        if str(claims["tid"]) != str(self.config.tenant_id):
            raise ServiceError(
                f"Entra ID sign-in: the account is from tenant {claims['tid']}, not the"
                " configured one",
                Problem.PERMISSION,
            )
        name = claims.get("preferred_username") or claims.get("upn") or claims["oid"]
        return EntraIdentity(
            name=str(name),
            display_name=claims.get("name"),
            object_id=str(claims["oid"]),
            roles=tuple(claims.get("roles", ())),
            groups=tuple(claims.get("groups", ())),
            groups_overage="groups" in claims.get("_claim_names", {}),
        )

    def complete(
        self, flow: dict[str, Any] | None, *, code: str, state: str, address: str
    ) -> Principal:
        """Finish a sign-in at the callback: state, code, ID token, role. Audited either way."""
        identity: EntraIdentity | None = None
        try:
            if not flow or not hmac.compare_digest(str(flow.get("state", "")), state):
                raise ServiceError(
                    "Entra ID sign-in: this answer does not belong to a sign-in started in this"
                    " browser; start again",
                    Problem.PERMISSION,
                )
            if self.clock() - datetime.fromisoformat(flow["started"]) > FLOW_LIFETIME:
                raise ServiceError(
                    "Entra ID sign-in took more than 10 minutes; start again", Problem.PERMISSION
                )
            id_token, access = self._redeem(flow, code)
            identity = self._identity(id_token, flow["nonce"])
            principal = self._admit(identity, address)
            if access is not None:
                from dirguard.services.console.delegated_tokens import DELEGATED_TOKENS

                token, lifetime = access
                expires = self.clock() + timedelta(seconds=lifetime)
                DELEGATED_TOKENS.keep(identity.name, token, expires)
            return principal
        except ServiceError as error:
            with self.sessions.begin() as db:
                record_audit(
                    db,
                    identity.name if identity else "anonymous",
                    "console.sign_in",
                    identity.name if identity else None,
                    {"address": address, "method": "entra", "reason": error.message},
                    AuditOutcome.FAILED,
                )
            raise

    def _admit(self, identity: EntraIdentity, address: str) -> Principal:
        role = role_for(self.config, identity)
        if role is None:
            hint = (
                " (the token has too many groups to list them: map app roles instead)"
                if identity.groups_overage
                else ""
            )
            raise ServiceError(
                f"{identity.name} has no dirguard role: none of their app roles or groups is"
                f" mapped in [web.oidc] and there is no default_role{hint}",
                Problem.PERMISSION,
            )
        now = self.clock()
        with self.sessions.begin() as db:
            account = db.scalars(
                select(ConsoleAccount).where(ConsoleAccount.name == identity.name)
            ).first()
            if account is not None and account.kind != "entra":
                raise ServiceError(
                    f"{identity.name} is a local console account; sign in with its password",
                    Problem.PERMISSION,
                )
            if account is not None and account.disabled:
                raise ServiceError(f"{identity.name} is disabled in dirguard", Problem.PERMISSION)
            if account is None:
                account = ConsoleAccount(
                    name=identity.name,
                    kind="entra",
                    role=role.label,
                    disabled=False,
                    created_at=now,
                )
                db.add(account)
            account.role = role.label
            account.last_sign_in = now
            record_audit(
                db,
                identity.name,
                "console.sign_in",
                identity.name,
                {
                    "address": address,
                    "method": "entra",
                    "role": role.label,
                    "object_id": identity.object_id,
                },
                AuditOutcome.SUCCEEDED,
            )
        return Principal(
            name=identity.name,
            role=role,
            method="entra",
            display_name=identity.display_name,
            groups=identity.groups,
        )
