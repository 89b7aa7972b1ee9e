"""The membership changes of a just-in-time elevation are dirguard's own writes.

Adding the read-only account to an admin group and removing it again shows up in the history as
a ``member`` value added to and removed from the group (and, where the DC reports it, a
``memberOf`` value on the account). Those events are attributed to dirguard on behalf of the
person who asked for the elevation, so no later plan offers them back as someone's change and
no one mistakes them for an unexplained admin grant. An event is the elevation's when it
names the elevated account (or the group, on the account) and was observed between the
elevation's start and ``window`` after its end.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dirguard.core.change_op import ChangeOp
from dirguard.store.column_types import utcnow
from dirguard.store.models import ChangeEvent, DirectoryObject, Elevation

ACTOR_SOURCE = "dirguard"
WINDOW = timedelta(hours=24)
_LINK_OPS = (ChangeOp.ADD_VALUE.value, ChangeOp.REMOVE_VALUE.value)


def _same_dn(value: Any, dn: str) -> bool:
    return isinstance(value, str) and value.strip().lower() == dn.strip().lower()


def mark_elevation_writes(session: Session, source: str, window: timedelta = WINDOW) -> int:
    """Attribute ``source``'s events caused by elevations; how many were marked."""
    now = utcnow()
    rows = session.scalars(
        select(Elevation).where(
            Elevation.source == source,
            or_(Elevation.ended_at.is_(None), Elevation.ended_at >= now - window),
        )
    ).all()
    marked = 0
    for row in rows:
        end = (row.ended_at or now) + window
        for object_dn, attribute, value_dn in (
            (row.group_dn, "member", row.account_dn),
            (row.account_dn, "memberOf", row.group_dn),
        ):
            events = session.scalars(
                select(ChangeEvent)
                .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
                .where(
                    DirectoryObject.source == source,
                    func.lower(DirectoryObject.path) == object_dn.lower(),
                    func.lower(ChangeEvent.attribute) == attribute.lower(),
                    ChangeEvent.op.in_(_LINK_OPS),
                    ChangeEvent.observed_at >= row.started_at,
                    ChangeEvent.observed_at <= end,
                    or_(
                        ChangeEvent.actor_source.is_(None), ChangeEvent.actor_source != ACTOR_SOURCE
                    ),
                )
            ).all()
            for event in events:
                if not (_same_dn(event.new_value, value_dn) or _same_dn(event.old_value, value_dn)):
                    continue
                event.actor = f"dirguard (for {row.requested_by}; elevation {row.id})"
                event.actor_source = ACTOR_SOURCE
                event.actor_address = None
                marked += 1
    session.flush()
    return marked
