"""API tokens for automation: made by a signed-in person, shown once, stored as a SHA-256, with
a role no higher than their maker's, an expiry, revocable. Every use is in the audit log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.services.console.roles import Principal, Role
from dirguard.services.console.secrets_hash import TOKEN_PREFIX, new_secret, secret_hash
from dirguard.services.errors import Problem, ServiceError
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.console_models import ApiToken, ConsoleAccount

MAX_LIFETIME = timedelta(days=366)


@dataclass(frozen=True, kw_only=True)
class TokenInfo:
    id: int
    name: str
    owner: str
    role: Role
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.expires_at else "active"


@dataclass(frozen=True, kw_only=True)
class NewToken:
    token: str
    """The token itself: shown to its maker once, never stored."""
    info: TokenInfo


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        owner=row.owner,
        role=Role.parse(row.role),
        prefix=row.prefix,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


class ApiTokens:
    def __init__(self, sessions: sessionmaker[Session], clock: Callable[[], datetime]) -> None:
        self.sessions = sessions
        self.clock = clock

    def create(self, maker: Principal, *, name: str, role: Role, lifetime: timedelta) -> NewToken:
        """A new token for ``maker`` with ``role`` (at most theirs) valid for ``lifetime``."""
        name = name.strip()
        if not name or len(name) > 255:
            raise ServiceError("a token needs a name of 1 to 255 characters", Problem.CONFLICT)
        if role > maker.role:
            raise ServiceError(
                f"a token's role cannot exceed yours ({maker.role.label}); asked for {role.label}",
                Problem.PERMISSION,
            )
        if not timedelta(minutes=1) <= lifetime <= MAX_LIFETIME:
            raise ServiceError(
                "a token's lifetime must be between one minute and 366 days", Problem.CONFLICT
            )
        token = TOKEN_PREFIX + new_secret()
        now = self.clock()
        with self.sessions.begin() as db:
            account = db.scalars(
                select(ConsoleAccount).where(ConsoleAccount.name == maker.name)
            ).first()
            row = ApiToken(
                token_hash=secret_hash(token),
                prefix=token[: len(TOKEN_PREFIX) + 6],
                name=name,
                owner=maker.name,
                role=role.label,
                created_at=now,
                expires_at=now + lifetime,
                account_id=account.id if account else None,
            )
            db.add(row)
            db.flush()
            record_audit(
                db,
                maker.name,
                "console.token.create",
                f"token {row.id}",
                {"name": name, "role": role.label, "expires_at": row.expires_at.isoformat()},
                AuditOutcome.SUCCEEDED,
            )
            return NewToken(token=token, info=_info(row))

    def authenticate(self, token: str, *, address: str, use: str) -> Principal | None:
        """The principal a token acts for, or ``None`` (unknown, expired, revoked, or its
        owner's local account disabled). Every use, refused or not, is audited."""
        now = self.clock()
        with self.sessions.begin() as db:
            row = db.scalars(
                select(ApiToken).where(ApiToken.token_hash == secret_hash(token))
            ).first()
            if row is None:
                record_audit(
                    db,
                    "anonymous",
                    "console.token.use",
                    None,
                    {"address": address, "use": use, "reason": "unknown token"},
                    AuditOutcome.DENIED,
                )
                return None
            role = Role.parse(row.role)
            reason = None
            if row.revoked_at is not None:
                reason = "revoked"
            elif now >= row.expires_at:
                reason = "expired"
            elif row.account_id is not None:
                account = db.get(ConsoleAccount, row.account_id)
                if account is None or account.disabled:
                    reason = "owner's account disabled"
                else:
                    role = min(role, Role.parse(account.role))
            details = {"address": address, "use": use, "token": row.id}
            if reason is not None:
                record_audit(
                    db,
                    row.owner,
                    "console.token.use",
                    f"token {row.id}",
                    {**details, "reason": reason},
                    AuditOutcome.DENIED,
                )
                return None
            row.last_used_at = now
            record_audit(
                db,
                row.owner,
                "console.token.use",
                f"token {row.id}",
                details,
                AuditOutcome.SUCCEEDED,
            )
            return Principal(name=row.owner, role=role, method="token", token_id=row.id)

    def list(self, owner: str | None = None) -> list[TokenInfo]:
        """Every token (``owner``: only theirs), newest first."""
        query = select(ApiToken).order_by(ApiToken.id.desc())
        if owner is not None:
            query = query.where(ApiToken.owner == owner)
        with self.sessions() as db:
            return [_info(row) for row in db.scalars(query)]

    def revoke(self, by: Principal, token_id: int) -> TokenInfo:
        """Revoke a token: its owner may, and an administrator may revoke anyone's."""
        with self.sessions.begin() as db:
            row = db.get(ApiToken, token_id)
            if row is None or (row.owner != by.name and by.role < Role.ADMINISTRATOR):
                raise ServiceError(f"no API token {token_id} of yours", Problem.NOT_FOUND)
            if row.revoked_at is None:
                row.revoked_at = self.clock()
                record_audit(
                    db,
                    by.name,
                    "console.token.revoke",
                    f"token {row.id}",
                    {"owner": row.owner, "name": row.name},
                    AuditOutcome.SUCCEEDED,
                )
            return _info(row)
