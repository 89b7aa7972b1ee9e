"""Selecting recorded changes from the store and handing them to a provider's planner, the same
for every provider that plans from history (:class:`~dirguard.providers.base.HistoryPlanner`;
Entra ID today — AD's planner still takes its own draft, :mod:`dirguard.services.rollback.plans`).

Selections: one change event (its number, as ``dirguard changes`` shows it), everything one actor
did in a window (optionally with the window's changes whose actor is unknown), every change of a
window, and one object back to its recorded state at a moment. The store gives the events and,
for every object they touch, its latest state and — for a deleted object — its last state
before the deletion (the newest version without the store's deletion marker).

A deletion's consequences come with it (:func:`deletion_consequences`): what the directory
itself undid when an object of the selection was deleted — the deleted user leaving its groups,
its PIM schedules ended — carries no actor in any audit, so an actor's selection does not hold
it; bringing the object back needs it, so each change with no known actor that the same capture
run recorded and that names the deleted object (a member value that was its id, a removed
object whose last state referred to it) is planned with the deletion. A restore with the same id
finds most of it already back (those steps are ``unchanged``); a user created anew (purged) gets
its memberships, and a restored or re-created one its PIM schedules, from here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dirguard.core.change_op import ChangeOp
from dirguard.core.plan import PlanDraft
from dirguard.providers.base import HistoryPlanner, RecordedChange, RecordedObject, source_name
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services import history as history_query
from dirguard.services.capture.snapshot import latest_versions
from dirguard.services.rollback.plans import window_query, window_text
from dirguard.store.models import ChangeEvent, DirectoryObject, ObjectVersion


class HistoryPlanningError(ValueError):
    """The selection cannot be planned; the message says why."""


Rows = Sequence[tuple[ChangeEvent, DirectoryObject]]


def _change(event: ChangeEvent, obj: DirectoryObject) -> RecordedChange:
    return RecordedChange(
        id=event.id,
        sequence=event.sequence,
        external_id=obj.external_id,
        op=event.op,
        attribute=event.attribute,
        old=event.old_value,
        new=event.new_value,
        when=event.occurred_at or event.observed_at,
        actor=event.actor,
    )


def recorded_objects(
    session: Session, objects: Iterable[DirectoryObject]
) -> dict[str, RecordedObject]:
    rows = list({o.id: o for o in objects}.values())
    latest = latest_versions(session, (o.id for o in rows))
    found: dict[str, RecordedObject] = {}
    for obj in rows:
        version = latest.get(obj.id)
        if version is None:
            raise HistoryPlanningError(f"{obj.path}: dirguard holds no recorded state of it")
        live = history_query.last_live_version(session, obj.id) if obj.deleted else None
        found[obj.external_id] = RecordedObject(
            external_id=obj.external_id,
            resource_type=RESOURCE_TYPES[obj.resource_type],
            label=obj.natural_key or obj.path or obj.external_id,
            deleted=obj.deleted,
            current=version.content,
            last_live=None if live is None else live.content,
        )
    return found


def deletion_consequences(
    session: Session, rows: Rows
) -> list[tuple[ChangeEvent, DirectoryObject]]:
    """The changes with no known actor that the directory made itself when an object of
    ``rows`` was deleted (see the module docstring), not already in ``rows``."""
    deleted: dict[int, set[str]] = {}
    for event, obj in rows:
        if event.op == ChangeOp.DELETE.value and event.run_id is not None:
            deleted.setdefault(event.run_id, set()).add(obj.external_id)
    if not deleted:
        return []
    chosen = {event.id for event, _obj in rows}
    found = session.execute(
        select(ChangeEvent, DirectoryObject)
        .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
        .where(
            ChangeEvent.run_id.in_(deleted),
            ChangeEvent.actor.is_(None),
            ChangeEvent.op.in_((ChangeOp.REMOVE_VALUE.value, ChangeOp.DELETE.value)),
        )
        .order_by(ChangeEvent.sequence)
    )
    consequences = []
    for event, obj in found:
        assert event.run_id is not None
        ids = deleted[event.run_id] - {obj.external_id}
        if event.id in chosen or not ids:
            continue
        if event.op == ChangeOp.REMOVE_VALUE.value:
            named = isinstance(event.old_value, str) and event.old_value in ids
        else:
            live = history_query.last_live_version(session, obj.id)
            text = json.dumps(live.content, default=str) if live is not None else ""
            named = any(i in text for i in ids)
        if named:
            consequences.append((event, obj))
    return consequences


def plan_rows(planner: HistoryPlanner, session: Session, rows: Rows, force: bool) -> PlanDraft:
    if not rows:
        raise HistoryPlanningError("no recorded change matches the selection; nothing to undo")
    added = deletion_consequences(session, rows)
    rows = sorted([*rows, *added], key=lambda row: row[0].sequence)
    objects = recorded_objects(session, (o for _e, o in rows))
    changes = [_change(e, o) for e, o in rows]
    draft = planner.plan_changes(changes, objects, force=force)
    if not added:
        return draft
    note = (
        f"{len(added)} change(s) the directory made itself when an object of the selection "
        "was deleted (memberships, PIM schedules) are undone with it"
    )
    return _noted(draft, note, "deletion_consequences", len(added))


def _noted(draft: PlanDraft, warning: str, key: str, count: int) -> PlanDraft:
    """``draft`` with one more warning and its count among the notes."""
    return PlanDraft(
        steps=draft.steps,
        warnings=(*draft.warnings, warning),
        notes={**draft.notes, key: count},
    )


def plan_event(
    planner: HistoryPlanner, session: Session, source: str, sequence: int, force: bool
) -> PlanDraft:
    row = session.execute(
        select(ChangeEvent, DirectoryObject)
        .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
        .where(ChangeEvent.source == source, ChangeEvent.sequence == sequence)
    ).first()
    if row is None:
        raise HistoryPlanningError(
            f"no change #{sequence} in {source_name(source)}; the numbers are those "
            "`dirguard changes` shows"
        )
    return plan_rows(planner, session, [(row[0], row[1])], force)


def plan_actor(
    planner: HistoryPlanner,
    session: Session,
    source: str,
    actor: str,
    since: datetime,
    until: datetime | None,
    *,
    force: bool,
    include_unattributed: bool = False,
) -> PlanDraft:
    """Undo what ``actor`` did in the window; the window's changes with no known actor only
    with ``include_unattributed`` (otherwise the plan says how many were left out)."""
    window = window_query(source, since, until)
    rows = [(e, o) for e, o in session.execute(window.where(history_query.by_actor(actor)))]
    unknown = [(e, o) for e, o in session.execute(window.where(ChangeEvent.actor.is_(None)))]
    if include_unattributed:
        rows = sorted([*rows, *unknown], key=lambda row: row[0].sequence)
    if not rows:
        hint = (
            f"; {len(unknown)} change(s) in the window have no known actor: "
            "--include-unattributed adds them"
            if unknown
            else ""
        )
        raise HistoryPlanningError(
            f"no recorded change by {actor!r} {window_text(source, since, until)}{hint}"
        )
    draft = plan_rows(planner, session, rows, force)
    left_out = len(unknown) - int(draft.notes.get("deletion_consequences") or 0)
    if include_unattributed or left_out <= 0:
        return draft
    note = (
        f"{left_out} change(s) in the window have no known actor and were left out; "
        "--include-unattributed adds them"
    )
    return _noted(draft, note, "unattributed_left_out", left_out)


def plan_object_at(
    planner: HistoryPlanner, session: Session, source: str, text: str, at: datetime
) -> PlanDraft:
    """One object back to its recorded state at ``at``."""
    ref = history_query.find_object(session, text, source)
    obj = session.get_one(DirectoryObject, ref.id)
    version = session.scalars(
        select(ObjectVersion)
        .where(ObjectVersion.object_id == obj.id, ObjectVersion.captured_at <= at)
        .order_by(ObjectVersion.version.desc())
        .limit(1)
    ).first()
    if version is None:
        raise HistoryPlanningError(f"dirguard had not recorded {text!r} by {at.isoformat()}")
    recorded = recorded_objects(session, [obj])[obj.external_id]
    return planner.plan_state(recorded, version.content)


def plan_undelete(planner: HistoryPlanner, session: Session, source: str, text: str) -> PlanDraft:
    """A deleted object brought back (and its links from history): its latest deletion undone."""
    ref = history_query.find_object(session, text, source)
    obj = session.get_one(DirectoryObject, ref.id)
    deletion = session.scalars(
        select(ChangeEvent)
        .where(ChangeEvent.object_id == obj.id, ChangeEvent.op == ChangeOp.DELETE.value)
        .order_by(ChangeEvent.sequence.desc())
        .limit(1)
    ).first()
    if not obj.deleted or deletion is None:
        raise HistoryPlanningError(f"{text!r} is not deleted as far as dirguard recorded")
    return plan_rows(planner, session, [(deletion, obj)], force=False)
