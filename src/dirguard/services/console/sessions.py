"""Server-side console sessions: the browser holds only a random id, the store its SHA-256.

A session exists before sign-in too (it carries the CSRF token of the sign-in form and the
OpenID Connect flow's state); signing in replaces it with a new one under a new id, so an id
someone planted in a browser before sign-in is worth nothing after it (session fixation). A
session ends when unused for the idle timeout or at the absolute timeout after it began.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.services.console.roles import Principal, Role
from dirguard.services.console.secrets_hash import new_secret, secret_hash
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.console_models import ConsoleSession

TOUCH_EVERY = timedelta(seconds=30)
"""``last_seen_at`` is written at most this often per session (not on every request)."""


@dataclass(frozen=True, kw_only=True)
class SessionPolicy:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)


@dataclass(kw_only=True)
class BrowserSession:
    """One session as a request sees it."""

    id_hash: str
    csrf_token: str
    principal: Principal | None
    data: dict[str, Any] = field(default_factory=dict)
    cookie: str | None = None
    """The cookie value to send: set when the session is new or was rotated."""


GROUPS_KEY = "entra_groups"
"""Where a signed-in session keeps the Entra groups its ID token named."""


def _principal(row: ConsoleSession) -> Principal | None:
    if row.principal is None or row.role is None:
        return None
    return Principal(
        name=row.principal,
        role=Role.parse(row.role),
        method=row.method or "password",
        display_name=row.display_name,
        groups=tuple(str(g) for g in (row.data or {}).get(GROUPS_KEY, ())),
    )


def _browser(row: ConsoleSession, cookie: str | None = None) -> BrowserSession:
    return BrowserSession(
        id_hash=row.id_hash,
        csrf_token=row.csrf_token,
        principal=_principal(row),
        data=dict(row.data or {}),
        cookie=cookie,
    )


class ConsoleSessions:
    """The session store over the database, with the timeouts and a clock."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Callable[[], datetime],
        policy: SessionPolicy | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.policy = policy or SessionPolicy()

    def open(self, data: dict[str, Any] | None = None) -> BrowserSession:
        """A new session nobody is signed in to (a visitor of the sign-in page)."""
        return self._create(None, data or {})

    def _create(self, principal: Principal | None, data: dict[str, Any]) -> BrowserSession:
        cookie = new_secret()
        now = self.clock()
        row = ConsoleSession(
            id_hash=secret_hash(cookie),
            principal=principal.name if principal else None,
            display_name=principal.display_name if principal else None,
            role=principal.role.label if principal else None,
            method=principal.method if principal else None,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            signed_in_at=now if principal else None,
            last_seen_at=now,
            data=data,
        )
        with self.sessions.begin() as db:
            db.add(row)
        return _browser(row, cookie)

    def expired(self, row: ConsoleSession, now: datetime) -> bool:
        began = row.signed_in_at or row.created_at
        return now - row.last_seen_at >= self.policy.idle or now - began >= self.policy.absolute

    def find(self, cookie: str | None) -> BrowserSession | None:
        """The live session the cookie names; ``None`` for no, an unknown or an expired one (an
        expired one is deleted)."""
        if not cookie:
            return None
        id_hash = secret_hash(cookie)
        now = self.clock()
        with self.sessions() as db:
            row = db.get(ConsoleSession, id_hash)
        if row is None:
            return None
        if self.expired(row, now):
            self.end(cookie)
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            with self.sessions.begin() as db:
                stored = db.get(ConsoleSession, id_hash)
                if stored is not None:
                    stored.last_seen_at = now
        return _browser(row)

    def sign_in(self, previous: BrowserSession | None, principal: Principal) -> BrowserSession:
        """A new session (new id, new CSRF token) for ``principal``; the previous one, signed in
        or not, is gone. Flow state is not carried over."""
        if previous is not None:
            with self.sessions.begin() as db:
                db.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == previous.id_hash))
        return self._create(
            principal, {GROUPS_KEY: list(principal.groups)} if principal.groups else {}
        )

    def save_data(self, session: BrowserSession, data: dict[str, Any]) -> None:
        with self.sessions.begin() as db:
            row = db.get(ConsoleSession, session.id_hash)
            if row is not None:
                row.data = dict(data)
        session.data = dict(data)

    def sign_out(self, session: BrowserSession, *, address: str) -> None:
        """End a signed-in session at its owner's request (audited)."""
        with self.sessions.begin() as db:
            db.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == session.id_hash))
            if session.principal is not None:
                record_audit(
                    db,
                    session.principal.name,
                    "console.sign_out",
                    session.principal.name,
                    {"address": address, "method": session.principal.method},
                    AuditOutcome.SUCCEEDED,
                )

    def end(self, cookie: str) -> None:
        with self.sessions.begin() as db:
            db.execute(delete(ConsoleSession).where(ConsoleSession.id_hash == secret_hash(cookie)))

    def end_all_of(self, principal: str) -> int:
        """Sign ``principal`` out everywhere (their account was disabled or its role changed)."""
        with self.sessions.begin() as db:
            rows = db.scalars(
                select(ConsoleSession).where(ConsoleSession.principal == principal)
            ).all()
            for row in rows:
                db.delete(row)
            return len(rows)
