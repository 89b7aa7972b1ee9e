"""Sign-in rate limiting: after ``attempts`` failures within ``window`` for one account, or from
one address, further sign-ins of that account or from that address are refused until the
oldest failure leaves the window. Failures are stored (every dirguard process sharing the store
counts them together); a successful sign-in clears the account's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from dirguard.store.console_models import LoginFailure


@dataclass(frozen=True, kw_only=True)
class RateLimit:
    attempts: int = 5
    window: timedelta = timedelta(minutes=15)


def limited(
    db: Session, limit: RateLimit, now: datetime, *, account: str, address: str
) -> str | None:
    """Why a sign-in of ``account`` from ``address`` is refused now; ``None`` when it is not."""
    since = now - limit.window
    for column, value, what in (
        (LoginFailure.account, account, f"account {account!r}"),
        (LoginFailure.address, address, f"address {address}"),
    ):
        count = db.scalar(
            select(func.count())
            .select_from(LoginFailure)
            .where(column == value, LoginFailure.at > since)
        )
        if (count or 0) >= limit.attempts:
            minutes = int(limit.window.total_seconds() // 60)
            return f"too many failed sign-ins for {what}; wait {minutes} minutes and try again"
    return None


def record_failure(db: Session, now: datetime, *, account: str, address: str) -> None:
    db.add(LoginFailure(account=account, address=address, at=now))
    db.flush()


def clear_failures(db: Session, account: str, older_than: datetime | None = None) -> None:
    query = delete(LoginFailure).where(LoginFailure.account == account)
    if older_than is not None:
        query = query.where(LoginFailure.at < older_than)
    db.execute(query)
