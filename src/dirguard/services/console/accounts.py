"""Local console accounts (a site without Entra ID, or break-glass): argon2id password hashes,
an optional TOTP second factor (RFC 6238, its seed sealed with the secret store's key), a role,
and the sign-in check with rate limiting; every sign-in attempt is in the audit log."""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.secret_store import SecretStore
from dirguard.services.console.rate_limit import (
    RateLimit,
    clear_failures,
    limited,
    record_failure,
)
from dirguard.services.console.roles import Principal, Role
from dirguard.services.errors import Problem, ServiceError
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.console_models import ConsoleAccount, ConsoleSession

MIN_PASSWORD = 12
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,254}$")
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("dirguard: a password nobody has")
"""Checked against for an unknown account, so the answer takes as long as for a known one."""
TOTP_ISSUER = "dirguard"


@dataclass(frozen=True, kw_only=True)
class AccountInfo:
    name: str
    kind: str
    role: Role
    disabled: bool
    totp: bool
    created_at: datetime
    last_sign_in: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "role": self.role.label,
            "disabled": self.disabled,
            "totp": self.totp,
            "created_at": self.created_at.isoformat(),
            "last_sign_in": self.last_sign_in.isoformat() if self.last_sign_in else None,
        }


@dataclass(frozen=True, kw_only=True)
class SignInResult:
    principal: Principal | None
    refusal: str | None = None
    """Why not (shown to the person: never says whether the account exists)."""
    needs_totp: bool = False


def _info(row: ConsoleAccount) -> AccountInfo:
    return AccountInfo(
        name=row.name,
        kind=row.kind,
        role=Role.parse(row.role),
        disabled=row.disabled,
        totp=row.totp_secret is not None,
        created_at=row.created_at,
        last_sign_in=row.last_sign_in,
    )


def totp_step(seed: str, code: str, now: datetime) -> int | None:
    """The 30-second time step ``code`` belongs to (now, or one step either side for clock
    drift); ``None`` when it is none of them. A step is accepted once per account (RFC 6238
    section 5.2: a code must not be usable twice)."""
    totp = pyotp.TOTP(seed)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _end_sessions(db: Session, name: str) -> None:
    """Sign the account out everywhere (its role changed, or it was disabled)."""
    db.execute(delete(ConsoleSession).where(ConsoleSession.principal == name))


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ServiceError(
            f"the password is too short: use at least {MIN_PASSWORD} characters",
            Problem.CONFLICT,
        )


class LocalAccounts:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        secrets: SecretStore,
        limit: RateLimit | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.secrets = secrets
        self.limit = limit or RateLimit()

    def _get(self, db: Session, name: str, *, any_kind: bool = False) -> ConsoleAccount:
        row = db.scalars(select(ConsoleAccount).where(ConsoleAccount.name == name)).first()
        if row is None or (row.kind != "local" and not any_kind):
            what = "console" if any_kind else "local console"
            raise ServiceError(f"no {what} account {name!r}", Problem.NOT_FOUND)
        return row

    def add(self, name: str, role: Role, password: str, *, by: str) -> AccountInfo:
        if not _NAME.match(name):
            raise ServiceError(
                f"account name {name!r}: use letters, digits and . _ @ - (at most 255)",
                Problem.CONFLICT,
            )
        check_password_rules(password)
        with self.sessions.begin() as db:
            if db.scalars(select(ConsoleAccount).where(ConsoleAccount.name == name)).first():
                raise ServiceError(f"the console account {name!r} exists", Problem.CONFLICT)
            row = ConsoleAccount(
                name=name,
                kind="local",
                role=role.label,
                password_hash=_hasher.hash(password),
                disabled=False,
                created_at=self.clock(),
            )
            db.add(row)
            db.flush()
            record_audit(
                db, by, "console.account.add", name, {"role": role.label}, AuditOutcome.SUCCEEDED
            )
            return _info(row)

    def list(self) -> list[AccountInfo]:
        with self.sessions() as db:
            rows = db.scalars(select(ConsoleAccount).order_by(ConsoleAccount.name))
            return [_info(row) for row in rows]

    def get(self, name: str) -> AccountInfo:
        with self.sessions() as db:
            return _info(self._get(db, name))

    def set_role(self, name: str, role: Role, *, by: str) -> AccountInfo:
        with self.sessions.begin() as db:
            row = self._get(db, name)
            old = row.role
            row.role = role.label
            _end_sessions(db, name)
            record_audit(
                db,
                by,
                "console.account.set_role",
                name,
                {"old": old, "new": role.label},
                AuditOutcome.SUCCEEDED,
            )
            return _info(row)

    def set_disabled(self, name: str, disabled: bool, *, by: str) -> AccountInfo:
        """Disable (or enable) a local account or an Entra ID one seen signing in: a disabled
        one cannot sign in, its sessions end, its tokens stop working."""
        with self.sessions.begin() as db:
            row = self._get(db, name, any_kind=True)
            row.disabled = disabled
            if disabled:
                _end_sessions(db, name)
            action = "console.account.disable" if disabled else "console.account.enable"
            record_audit(db, by, action, name, {}, AuditOutcome.SUCCEEDED)
            return _info(row)

    def set_password(self, name: str, password: str, *, by: str) -> AccountInfo:
        check_password_rules(password)
        with self.sessions.begin() as db:
            row = self._get(db, name)
            row.password_hash = _hasher.hash(password)
            record_audit(db, by, "console.account.set_password", name, {}, AuditOutcome.SUCCEEDED)
            return _info(row)

    def enroll_totp(self, name: str, *, by: str) -> str:
        """A new TOTP seed for the account (replacing any): its ``otpauth://`` URI, to be shown
        once (as text and QR code) to the person who puts it in their authenticator app."""
        seed = pyotp.random_base32()
        with self.sessions.begin() as db:
            row = self._get(db, name)
            row.totp_secret = self.secrets.seal(seed)
            row.totp_last_step = None
            record_audit(db, by, "console.account.totp_enroll", name, {}, AuditOutcome.SUCCEEDED)
        return pyotp.TOTP(seed).provisioning_uri(name=name, issuer_name=TOTP_ISSUER)

    def reset_totp(self, name: str, *, by: str) -> AccountInfo:
        """Remove the account's second factor (a lost phone); it signs in with the password."""
        with self.sessions.begin() as db:
            row = self._get(db, name)
            row.totp_secret = None
            row.totp_last_step = None
            record_audit(db, by, "console.account.totp_reset", name, {}, AuditOutcome.SUCCEEDED)
            return _info(row)

    def check_password(self, name: str, password: str, *, address: str) -> bool:
        """Whether ``password`` is the local account's (re-asked before changing the password or
        the second factor); a wrong one counts towards the sign-in rate limit."""
        now = self.clock()
        with self.sessions.begin() as db:
            if limited(db, self.limit, now, account=name, address=address) is not None:
                return False
            row = db.scalars(
                select(ConsoleAccount).where(
                    ConsoleAccount.name == name, ConsoleAccount.kind == "local"
                )
            ).first()
            try:
                _hasher.verify(
                    row.password_hash if row and row.password_hash else _DUMMY_HASH, password
                )
            except (VerificationError, InvalidHashError):
                row = None
            if row is None or row.disabled:
                record_failure(db, now, account=name, address=address)
                record_audit(
                    db,
                    name,
                    "console.password_check",
                    name,
                    {"address": address},
                    AuditOutcome.FAILED,
                )
                return False
            return True

    def sign_in(
        self, name: str, password: str, totp_code: str | None, *, address: str
    ) -> SignInResult:
        """Check a local sign-in; refused when rate limited, wrong, disabled or missing the
        second factor. The outcome is audited (never the password or the code)."""
        now = self.clock()
        name = name.strip()
        refused = "the account name, password or code is wrong, or the account is disabled"
        with self.sessions.begin() as db:
            details: dict[str, object] = {"address": address, "method": "password"}
            reason = limited(db, self.limit, now, account=name, address=address)
            if reason is not None:
                record_audit(
                    db,
                    name or "anonymous",
                    "console.sign_in",
                    name,
                    {**details, "reason": "rate limited"},
                    AuditOutcome.DENIED,
                )
                return SignInResult(principal=None, refusal=reason)
            row = db.scalars(
                select(ConsoleAccount).where(
                    ConsoleAccount.name == name, ConsoleAccount.kind == "local"
                )
            ).first()
            failure = None
            try:
                _hasher.verify(
                    row.password_hash if row and row.password_hash else _DUMMY_HASH, password
                )
                if row is None:
                    failure = "unknown account"
            except (VerificationError, InvalidHashError):
                failure = "wrong password" if row else "unknown account"
            if failure is None and row is not None:
                if row.disabled:
                    failure = "account disabled"
                elif row.totp_secret is not None:
                    if not totp_code:
                        failure = "second factor missing"
                    else:
                        step = totp_step(
                            self.secrets.unseal(row.totp_secret), totp_code.strip(), now
                        )
                        if step is None:
                            failure = "wrong second factor"
                        elif row.totp_last_step is not None and step <= row.totp_last_step:
                            failure = "second factor code used before"
                        else:
                            row.totp_last_step = step
            if failure is not None or row is None:
                record_failure(db, now, account=name, address=address)
                record_audit(
                    db,
                    name or "anonymous",
                    "console.sign_in",
                    name,
                    {**details, "reason": failure},
                    AuditOutcome.FAILED,
                )
                return SignInResult(
                    principal=None,
                    refusal=refused,
                    needs_totp=failure == "second factor missing",
                )
            if _hasher.check_needs_rehash(row.password_hash or ""):
                row.password_hash = _hasher.hash(password)
            row.last_sign_in = now
            clear_failures(db, name)
            record_audit(db, name, "console.sign_in", name, details, AuditOutcome.SUCCEEDED)
            return SignInResult(
                principal=Principal(name=row.name, role=Role.parse(row.role), method="password")
            )
