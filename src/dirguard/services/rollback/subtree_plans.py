"""Restore plans for everything under an OU in a window (nothing is written to a directory).

The selection holds every change of the window, whoever made it (moves and renames have no known
actor on Samba), to the OU itself and to each object that was under it at any moment of the
window: also objects moved out since, or deleted. An object's DN at each of its changes comes
from its recorded move, rename and delete events (the DN before the next one, or its DN now).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dirguard.providers.ad.plan.relocation import DN_OPS
from dirguard.providers.ad.plan.restore_plan import PlanningError, RestorePlanDraft, canonical_dn
from dirguard.services.rollback.plans import (
    TombstoneCheck,
    events_plan,
    window_query,
    window_text,
)
from dirguard.store.models import ChangeEvent, DirectoryObject

DN_OP_NAMES = frozenset(op.value for op in DN_OPS)


def _under(dn: object, base: str) -> bool:
    if not isinstance(dn, str) or not dn:
        return False
    lowered = dn.lower()
    return lowered == base or lowered.endswith("," + base)


def plan_for_subtree(
    session: Session,
    source: str,
    base_dn: str,
    since: datetime,
    until: datetime | None,
    *,
    force: bool,
    disable_instead: bool = False,
    tombstones: TombstoneCheck | None = None,
) -> RestorePlanDraft:
    """Undo every change of the window (any actor, known or not) to the OU ``base_dn`` and the
    objects that were under it at any moment of the window: also those moved out or deleted
    since. An object's DN at each of its changes comes from its move/rename/delete events."""
    base = canonical_dn(base_dn).lower()
    window = [(e, o) for e, o in session.execute(window_query(source, since, until))]
    ids = {o.id for _e, o in window}
    moves: dict[int, list[ChangeEvent]] = defaultdict(list)
    for event in session.scalars(
        select(ChangeEvent)
        .where(
            ChangeEvent.object_id.in_(ids),
            ChangeEvent.op.in_(DN_OP_NAMES),
        )
        .order_by(ChangeEvent.sequence)
    ):
        moves[event.object_id].append(event)

    def names_at(event: ChangeEvent, obj: DirectoryObject) -> tuple[object, ...]:
        if event.op in DN_OP_NAMES:
            return event.old_value, event.new_value
        later = next((m for m in moves[obj.id] if m.sequence > event.sequence), None)
        return (obj.path if later is None else later.old_value,)

    inside = {o.id for e, o in window if any(_under(n, base) for n in names_at(e, o))}
    rows = [(e, o) for e, o in window if o.id in inside]
    if not rows:
        raise PlanningError(
            f"no recorded change to {base_dn} or under it {window_text(source, since, until)}"
        )
    return events_plan(session, rows, force, disable_instead, tombstones)
