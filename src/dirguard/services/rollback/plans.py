"""Making restore plans from dirguard's store and saving them (nothing is written to a directory).

Selections: one change event (its sequence number, as ``dirguard changes`` shows it), one object
back to a point in time, everything one actor did in a window (optionally with the changes of
that window whose actor is unknown: Samba writes no audit record for moves and renames), and a
deleted object to bring back; everything under an OU is in
:mod:`dirguard.services.rollback.subtree_plans`.
The pure planner (:mod:`dirguard.providers.ad.plan.undo_planner`) gets the events and what dirguard
knows of
each object now; the plan and its steps are stored in ``restore_plans`` / ``restore_steps`` for
``dirguard rollback apply``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.plan.recreate import with_recreations
from dirguard.providers.ad.plan.restore_plan import (
    HistoryEvent,
    ObjectFacts,
    PlanningError,
    RestorePlanDraft,
)
from dirguard.providers.ad.plan.schema_refusal import refuse_schema_steps
from dirguard.providers.ad.plan.undo_planner import (
    Membership,
    plan_events,
    plan_point_in_time,
    plan_undelete,
)
from dirguard.providers.ad.sd.sd_history import with_descriptor_bytes
from dirguard.providers.ad.values import DN_ATTRIBUTE
from dirguard.providers.base import source_name
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services import history as history_query
from dirguard.services.capture.snapshot import latest_versions
from dirguard.store.links import holders_of
from dirguard.store.models import ChangeEvent, DirectoryObject, ObjectVersion


def _history_event(event: ChangeEvent, guid: str) -> HistoryEvent:
    return HistoryEvent(
        id=event.id,
        sequence=event.sequence,
        object_guid=guid,
        op=event.op,
        attribute=event.attribute,
        old=event.old_value,
        new=event.new_value,
        when=event.occurred_at or event.observed_at,
        actor=event.actor,
    )


def object_facts(session: Session, objects: Iterable[DirectoryObject]) -> dict[str, ObjectFacts]:
    """What dirguard holds now of each object: latest content, last live content if deleted."""
    rows = list(objects)
    latest = latest_versions(session, (o.id for o in rows))
    facts: dict[str, ObjectFacts] = {}
    for obj in rows:
        version = latest.get(obj.id)
        if version is None:
            raise PlanningError(f"{obj.path}: dirguard holds no recorded state of this object")
        live = history_query.last_live_version(session, obj.id) if obj.deleted else None
        facts[obj.external_id] = ObjectFacts(
            guid=obj.external_id,
            resource_type=RESOURCE_TYPES[obj.resource_type],
            dn=obj.path or "",
            deleted=obj.deleted,
            current=version.content,
            last_live=None if live is None else live.content,
        )
    return facts


def memberships_at_deletion(session: Session, obj: DirectoryObject) -> list[Membership]:
    """The links other objects held to ``obj`` when it was deleted (groups' ``member``…), from
    their recorded versions: each holder's newest version before the capture run that saw the
    deletion (the links vanish with the delete; that run may also record their removal)."""
    live = history_query.last_live_version(session, obj.id)
    if live is None:
        return []
    dn = str(live.content.get(DN_ATTRIBUTE, [""])[0])
    deletion = session.scalars(
        select(ChangeEvent)
        .where(ChangeEvent.object_id == obj.id, ChangeEvent.op == ChangeOp.DELETE.value)
        .order_by(ChangeEvent.sequence.desc())
        .limit(1)
    ).first()
    holders = session.scalars(
        select(DirectoryObject)
        .where(
            DirectoryObject.source == obj.source,
            DirectoryObject.id != obj.id,
            DirectoryObject.deleted.is_(False),
            DirectoryObject.id.in_(holders_of(dn)),
        )
        .order_by(DirectoryObject.id)
    ).all()
    found: list[Membership] = []
    holder_facts = object_facts(session, holders)
    for holder in holders:
        query = select(ObjectVersion).where(ObjectVersion.object_id == holder.id)
        if deletion is not None:
            query = query.where(ObjectVersion.captured_at < deletion.observed_at)
            if deletion.run_id is not None:
                query = query.where(
                    (ObjectVersion.run_id.is_(None)) | (ObjectVersion.run_id != deletion.run_id)
                )
        before = session.scalars(query.order_by(ObjectVersion.version.desc()).limit(1)).first()
        if before is None:
            continue
        for attribute in sorted(RESOURCE_TYPES[holder.resource_type].linked_fields):
            values = before.content.get(attribute, [])
            if any(isinstance(v, str) and v.lower() == dn.lower() for v in values):
                found.append((holder_facts[holder.external_id], attribute))
    return found


def _deleted_memberships(
    session: Session, objects: Iterable[DirectoryObject]
) -> dict[str, list[Membership]]:
    return {o.external_id: memberships_at_deletion(session, o) for o in objects if o.deleted}


UNATTRIBUTED_NOTE = "actor unknown, included on request"
"""How a step undoing a change with no known actor is flagged in an actor's plan."""

Rows = Sequence[tuple[ChangeEvent, DirectoryObject]]

TombstoneCheck = Callable[[Collection[str]], frozenset[str]]
"""Given the GUIDs of deleted objects, those with no tombstone left in the directory
(:func:`dirguard.providers.ad.tombstones.missing_tombstones` on a connection)."""


def _finished(
    draft: RestorePlanDraft, facts: dict[str, ObjectFacts], tombstones: TombstoneCheck | None
) -> RestorePlanDraft:
    """``draft`` with re-creations where no tombstone is left (when ``tombstones`` can tell),
    and the deletes, re-creations and reanimations of schema objects skipped: AD refuses them."""
    if tombstones is not None:
        deleted = [guid for guid, f in facts.items() if f.deleted]
        draft = with_recreations(draft, facts, tombstones(deleted) if deleted else frozenset())
    return refuse_schema_steps(draft, facts)


def events_plan(
    session: Session,
    rows: Rows,
    force: bool,
    disable_instead: bool = False,
    tombstones: TombstoneCheck | None = None,
) -> RestorePlanDraft:
    if not rows:
        raise PlanningError("no recorded change matches the selection; nothing to undo")
    objects = {o.id: o for _e, o in rows}
    events = [_history_event(e, o.external_id) for e, o in rows]
    events = with_descriptor_bytes(session, rows, events)
    facts = object_facts(session, objects.values())
    memberships = _deleted_memberships(session, objects.values())
    draft = plan_events(
        events, facts, memberships=memberships, force=force, disable_instead=disable_instead
    )
    return _finished(draft, facts, tombstones)


def window_query(
    source: str, since: datetime, until: datetime | None
) -> Select[ChangeEvent, DirectoryObject]:
    """Change events of ``source`` in the window with their objects (times as in ``changes``)."""
    when = func.coalesce(ChangeEvent.occurred_at, ChangeEvent.observed_at)
    query = (
        select(ChangeEvent, DirectoryObject)
        .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
        .where(ChangeEvent.source == source, when >= since)
        .order_by(ChangeEvent.sequence)
    )
    return query if until is None else query.where(when <= until)


def window_text(source: str, since: datetime, until: datetime | None) -> str:
    return f"in {source_name(source)} since {since.isoformat()}" + (
        f" until {until.isoformat()}" if until else ""
    )


def plan_for_event(
    session: Session,
    source: str,
    sequence: int,
    *,
    force: bool,
    disable_instead: bool = False,
    tombstones: TombstoneCheck | None = None,
) -> RestorePlanDraft:
    row = session.execute(
        select(ChangeEvent, DirectoryObject)
        .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
        .where(ChangeEvent.source == source, ChangeEvent.sequence == sequence)
    ).first()
    if row is None:
        raise PlanningError(
            f"no change #{sequence} in {source_name(source)}; the numbers are those "
            "`dirguard changes` shows"
        )
    return events_plan(session, [(row[0], row[1])], force, disable_instead, tombstones)


def plan_for_actor(
    session: Session,
    source: str,
    actor: str,
    since: datetime,
    until: datetime | None,
    *,
    force: bool,
    include_unattributed: bool = False,
    disable_instead: bool = False,
    tombstones: TombstoneCheck | None = None,
) -> RestorePlanDraft:
    """Undo what ``actor`` did in the window. The window's changes with no known actor (moves
    and renames on Samba) are added only with ``include_unattributed``, each step undoing one
    flagged "actor unknown, included on request"; otherwise the plan says how many were left
    out."""
    rows = [
        (e, o)
        for e, o in session.execute(
            window_query(source, since, until).where(history_query.by_actor(actor))
        )
    ]
    unattributed = [
        (e, o)
        for e, o in session.execute(
            window_query(source, since, until).where(ChangeEvent.actor.is_(None))
        )
    ]
    if not rows and not (include_unattributed and unattributed):
        hint = (
            f"; {len(unattributed)} change(s) in the window have no known actor: "
            "--include-unattributed adds them"
            if unattributed
            else ""
        )
        raise PlanningError(
            f"no recorded change by {actor!r} {window_text(source, since, until)}{hint}"
        )
    if not include_unattributed:
        draft = events_plan(session, rows, force, disable_instead, tombstones)
        if not unattributed:
            return draft
        note = (
            f"{len(unattributed)} change(s) in the window have no known actor (Samba writes no "
            "audit record for moves and renames) and were left out; --include-unattributed "
            "adds them"
        )
        return replace(
            draft, warnings=(*draft.warnings, note), unattributed_left_out=len(unattributed)
        )
    rows = sorted([*rows, *unattributed], key=lambda row: row[0].sequence)
    draft = events_plan(session, rows, force, disable_instead, tombstones)
    unknown = {e.id for e, _o in unattributed}
    steps = tuple(
        replace(s, description=f"{s.description} [{UNATTRIBUTED_NOTE}]")
        if unknown.intersection(s.event_ids)
        else s
        for s in draft.steps
    )
    note = f"{len(unattributed)} change(s) with no known actor were included on request"
    return replace(
        draft,
        steps=steps,
        warnings=(*draft.warnings, note) if unattributed else draft.warnings,
        unattributed_included=len(unattributed),
    )


def plan_for_object(
    session: Session,
    source: str,
    text: str,
    at: datetime,
    tombstones: TombstoneCheck | None = None,
) -> RestorePlanDraft:
    ref = history_query.find_object(session, text, source)
    obj = session.get_one(DirectoryObject, ref.id)
    version = session.scalars(
        select(ObjectVersion)
        .where(ObjectVersion.object_id == obj.id, ObjectVersion.captured_at <= at)
        .order_by(ObjectVersion.version.desc())
        .limit(1)
    ).first()
    if version is None:
        raise PlanningError(f"dirguard had not recorded {text!r} by {at.isoformat()}")
    if version.content.get("isDeleted") == ["TRUE"]:
        raise PlanningError(f"{text!r} was already deleted at {at.isoformat()}")
    facts = object_facts(session, [obj])
    memberships = memberships_at_deletion(session, obj) if obj.deleted else []
    draft = plan_point_in_time(facts[obj.external_id], version.content, memberships=memberships)
    return _finished(draft, facts, tombstones)


def plan_for_undelete(
    session: Session,
    source: str,
    text: str,
    to_ou: str | None,
    tombstones: TombstoneCheck | None = None,
) -> RestorePlanDraft:
    ref = history_query.find_object(session, text, source)
    obj = session.get_one(DirectoryObject, ref.id)
    facts = object_facts(session, [obj])
    draft = plan_undelete(
        facts[obj.external_id], memberships_at_deletion(session, obj), to_ou=to_ou
    )
    return _finished(draft, facts, tombstones)
