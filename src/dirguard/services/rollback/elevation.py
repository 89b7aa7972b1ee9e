"""Just-in-time elevation: the read-only account is a member of an admin group only while a
rollback runs.

:func:`elevated` adds the account to each group with the separately configured elevation
credential and removes it again in a ``finally`` (so also after a failed step). Before each add,
a ``pending`` row is committed in its own transaction; it is marked ``ended`` once the membership
is removed. A row still ``pending`` at a later start means dirguard stopped while the account was
elevated: :func:`revoke_pending` removes the membership then. Grant, end and revocation are each
recorded in dirguard's audit log (who asked, why, group, account, start and end).

Test hook: when the environment variable ``TEST_DIRGUARD_PAUSE_AFTER_ELEVATION`` names a file,
dirguard writes its process id there once every membership is granted and waits until the file
is removed (the crash test kills it meanwhile). It has no other use; leave it unset. (Not
``DIRGUARD_``-prefixed: those variables are configuration overrides.)
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.providers.base import GrantRefused, Grants, source_name
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rollback import elevation_leases
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.column_types import utcnow
from dirguard.store.models import Elevation

log = logging.getLogger(__name__)

PAUSE_ENV = "TEST_DIRGUARD_PAUSE_AFTER_ELEVATION"
PENDING = "pending"
ENDED = "ended"

Opener = Callable[[], AbstractContextManager[Grants]]
"""Opens a connection bound with the elevation credential."""


class ElevationError(ServiceError):
    """Granting or ending an elevation failed; the message names the account and the group."""


@dataclass(frozen=True, kw_only=True)
class ElevationRequest:
    source: str
    account: str
    """The read-only account's user principal name (``bind_upn``)."""
    requested_by: str
    reason: str
    plan_id: int | None = None


@dataclass(kw_only=True)
class ElevationRun:
    """The elevations of one rollback: their row ids, and problems met while ending them."""

    requested_by: str
    ids: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ElevationRow:
    """One elevation as stored: who was granted what, for whom and why, and how it ended."""

    id: int
    source: str
    account: str
    group: str
    requested_by: str
    reason: str
    plan_id: int | None
    status: str
    started_at: datetime
    ended_at: datetime | None
    end_note: str | None

    @classmethod
    def of(cls, row: Elevation) -> ElevationRow:
        return cls(
            id=row.id,
            source=source_name(row.source),
            account=row.account,
            group=row.group_name,
            requested_by=row.requested_by,
            reason=row.reason,
            plan_id=row.plan_id,
            status=row.status,
            started_at=row.started_at,
            ended_at=row.ended_at,
            end_note=row.end_note,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "source": self.source,
            "account": self.account,
            "group": self.group,
            "requested_by": self.requested_by,
            "reason": self.reason,
            "plan_id": self.plan_id,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "end_note": self.end_note,
        }


def _audit(
    session: Session,
    action: str,
    row: Elevation,
    outcome: AuditOutcome,
    ended_by: str | None = None,
) -> None:
    details = ElevationRow.of(row).as_dict()
    details["account_dn"], details["group_dn"] = row.account_dn, row.group_dn
    if ended_by is not None:
        details["ended_by"] = ended_by
    record_audit(session, row.requested_by, action, row.account, details, outcome)


def _end(sessions: sessionmaker[Session], row_id: int, note: str, action: str, by: str) -> None:
    with sessions.begin() as session:
        row = session.get_one(Elevation, row_id)
        row.status, row.ended_at, row.end_note = ENDED, utcnow(), note
        _audit(session, action, row, AuditOutcome.SUCCEEDED, ended_by=by)


def store_of(sessions: sessionmaker[Session]) -> str:
    """The store's identity for elevation leases: its URL without a password."""
    bind = sessions.kw.get("bind")
    url = getattr(bind, "url", None)
    return url.render_as_string(hide_password=True) if url is not None else "store"


def _grant(
    sessions: sessionmaker[Session],
    grants: Grants,
    request: ElevationRequest,
    group: str,
    leases: list[elevation_leases.Lease],
) -> int:
    """Add the account to ``group``; the pending row is committed before the add."""
    try:
        account_dn, group_dn = grants.locate(request.account, group)
    except GrantRefused as error:
        raise ElevationError(f"elevating {request.account} to {group}: {error}") from None
    with sessions.begin() as session:
        row = Elevation(
            source=request.source,
            account=request.account,
            account_dn=account_dn,
            group_name=group,
            group_dn=group_dn,
            requested_by=request.requested_by,
            reason=request.reason,
            plan_id=request.plan_id,
            status=PENDING,
            started_at=utcnow(),
        )
        session.add(row)
        session.flush()
        row_id = row.id
    leases.append(elevation_leases.take(store_of(sessions), row_id))
    try:
        grants.add(group_dn, account_dn)
    except GrantRefused as error:
        why = str(error)
        with sessions.begin() as session:
            row = session.get_one(Elevation, row_id)
            row.status, row.ended_at = ENDED, utcnow()
            row.end_note = f"never granted: the directory refused the add ({why})"
            _audit(session, "elevation.grant", row, AuditOutcome.FAILED)
        raise ElevationError(
            f"the elevation account could not add {request.account} to {group}: {why}"
        ) from None
    with sessions.begin() as session:
        _audit(
            session, "elevation.grant", session.get_one(Elevation, row_id), AuditOutcome.SUCCEEDED
        )
    log.warning("elevated %s to %s for %s", request.account, group, request.reason)
    return row_id


def _remove(
    sessions: sessionmaker[Session], grants: Grants, row_id: int, action: str, by: str
) -> None:
    with sessions() as session:
        row = session.get_one(Elevation, row_id)
        group_dn, account_dn, group = row.group_dn, row.account_dn, row.group_name
    removed = grants.remove(group_dn, account_dn)
    note = (
        f"removed from {group}"
        if removed
        else f"was no longer a member of {group} (removed by someone else)"
    )
    if action == "elevation.revoke":
        note += " at a later start: dirguard had stopped while the account was elevated"
    _end(sessions, row_id, note, action, by)


def _pause_for_tests() -> None:
    marker = os.environ.get(PAUSE_ENV)
    if not marker:
        return
    path = Path(marker)
    written = path.with_name(path.name + ".tmp")
    written.write_text(str(os.getpid()), encoding="utf-8")
    written.replace(path)  # atomic: the test never reads the file half-written (empty)
    while path.exists():
        time.sleep(0.05)


@contextmanager
def elevated(
    sessions: sessionmaker[Session],
    open_elevator: Opener,
    request: ElevationRequest,
    groups: Sequence[str],
) -> Iterator[ElevationRun]:
    """The account is a member of ``groups`` inside the block, and not after it (also after an
    error). Problems ending an elevation are in the yielded run's ``problems`` (the row stays
    pending and is revoked at the next start)."""
    run = ElevationRun(requested_by=request.requested_by)
    leases: list[elevation_leases.Lease] = []
    try:
        with open_elevator() as grants:
            for group in groups:
                run.ids.append(_grant(sessions, grants, request, group, leases))
        _pause_for_tests()
        yield run
    finally:
        try:
            _end_all(sessions, open_elevator, run)
        finally:
            for lease in leases:
                lease.release()


def _end_all(sessions: sessionmaker[Session], open_elevator: Opener, run: ElevationRun) -> None:
    if not run.ids:
        return
    try:
        with open_elevator() as grants:
            for row_id in reversed(run.ids):
                try:
                    _remove(sessions, grants, row_id, "elevation.end", run.requested_by)
                except GrantRefused as error:
                    run.problems.append(f"elevation {row_id} not ended: {error}")
    except Exception as error:
        # Any failure here must not hide the rollback's own outcome or exception: the rows
        # stay pending and are revoked at the next start.
        run.problems.append(f"elevations {run.ids} not ended: {str(error) or type(error).__name__}")
    for problem in run.problems:
        log.error("%s; it stays pending and is revoked at the next start", problem)


def attach_plan(sessions: sessionmaker[Session], ids: Sequence[int], plan_id: int) -> None:
    """Name the plan an elevation was granted for, once it is made (an undelete elevates first)."""
    with sessions.begin() as session:
        for row_id in ids:
            row = session.get_one(Elevation, row_id)
            row.plan_id = plan_id
            row.reason = f"{row.reason} (plan {plan_id})"


def pending(sessions: sessionmaker[Session], source: str | None = None) -> list[ElevationRow]:
    with sessions() as session:
        query = select(Elevation).where(Elevation.status == PENDING).order_by(Elevation.id)
        if source is not None:
            query = query.where(Elevation.source == source)
        return [ElevationRow.of(row) for row in session.scalars(query)]


def recent(sessions: sessionmaker[Session], limit: int = 20) -> list[ElevationRow]:
    with sessions() as session:
        rows = session.scalars(select(Elevation).order_by(Elevation.id.desc()).limit(limit))
        return [ElevationRow.of(row) for row in rows]


def revoke_pending(
    sessions: sessionmaker[Session], source: str, open_elevator: Opener | None, *, by: str
) -> list[ElevationRow]:
    """End every pending elevation of ``source`` left by a dirguard that stopped while elevated
    (one a running apply holds the lease of is left alone: :mod:`elevation_leases`), on behalf
    of ``by`` (who ran the command that revoked it); the rows as they ended."""
    store = store_of(sessions)
    rows = [r for r in pending(sessions, source) if not elevation_leases.in_use(store, r.id)]
    if not rows:
        return []
    name = source_name(source)
    if open_elevator is None:
        names = ", ".join(f"{r.account} in {r.group}" for r in rows)
        raise ElevationError(
            f"{name}: pending elevation(s) ({names}) but no elevation_bind_upn is configured "
            "to remove them; remove the membership by hand or configure the elevation account"
        )
    try:
        with open_elevator() as grants:
            for row in rows:
                try:
                    _remove(sessions, grants, row.id, "elevation.revoke", by)
                except GrantRefused as error:
                    raise ElevationError(
                        f"{name}: removing {row.account} from {row.group} failed: {error}"
                    ) from None
    except ElevationError:
        raise
    except ServiceError as error:
        if error.problem is Problem.CONFIG:
            raise  # a credential reference: reported as it is
        raise ElevationError(f"{name}: revoking pending elevations: {error}") from None
    ended = {r.id for r in rows}
    with sessions() as session:
        return [ElevationRow.of(session.get_one(Elevation, i)) for i in sorted(ended)]
