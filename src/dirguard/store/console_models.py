"""The console's tables: local accounts, server-side sessions and API tokens.

Nothing here holds a secret in clear text: passwords are argon2id hashes, a session is found by
the SHA-256 of its cookie value and a token by the SHA-256 of the token, and a TOTP seed is
encrypted with the secret store's key (Fernet) before it is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from dirguard.store.column_types import StoredJson, utcnow
from dirguard.store.models import Base

CONSOLE_TABLES = ("console_accounts", "console_sessions", "api_tokens", "login_failures")


class ConsoleAccount(Base):
    """A person who may use the console: a local account (password, optional TOTP) or an
    Entra ID user seen at sign-in (no password here; the role comes from the ID token)."""

    __tablename__ = "console_accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    """Sign-in name: a local user name, or the Entra user's ``preferred_username``."""
    kind: Mapped[str] = mapped_column(String(16))
    """``local`` or ``entra``."""
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    totp_secret: Mapped[str | None] = mapped_column(Text)
    """Fernet token of the base32 TOTP seed (``None``: no second factor)."""
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    """The time step of the last TOTP code accepted: a code is accepted once."""
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in: Mapped[datetime | None]


class ConsoleSession(Base):
    """A browser session, signed in or not yet (then it carries the sign-in flow's state)."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index(None, "principal"),)

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    """SHA-256 hex of the cookie value: the cookie itself is never stored."""
    principal: Mapped[str | None] = mapped_column(String(255))
    """Who is signed in; ``None`` before sign-in."""
    display_name: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(String(16))
    method: Mapped[str | None] = mapped_column(String(16))
    """How they signed in: ``password`` or ``entra``."""
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_in_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(StoredJson(), default=dict)
    """Short-lived flow state (OIDC state, nonce, PKCE verifier, the page to return to)."""


class ApiToken(Base):
    """A bearer token for automation: shown once, stored as its SHA-256, with a role."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index(None, "owner"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    """The first characters of the token, to recognise it in a list."""
    name: Mapped[str] = mapped_column(String(255))
    owner: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    """The token's scope: at most its owner's role when it was made."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("console_accounts.id", ondelete="CASCADE")
    )


class LoginFailure(Base):
    """One failed sign-in, counted per account and per address for rate limiting."""

    __tablename__ = "login_failures"
    __table_args__ = (Index(None, "account", "at"), Index(None, "address", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(255))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
