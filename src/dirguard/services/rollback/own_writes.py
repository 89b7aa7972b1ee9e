"""dirguard's own writes are dirguard's: the events a rollback step caused are attributed to
dirguard on behalf of the person who asked for it, so that no later plan offers them back as
somebody else's change (the DC's audit trail names only the account dirguard binds with).

An event is dirguard's when a step that succeeded touched the same object, the same attribute
(or, for reanimations and moves, the object's DN), and the event was observed after the step was
applied and within ``window`` of it (older steps are not looked at again); and, for an object
brought back (reanimated or re-created), every change to it the next capture finds (what the
directory itself sets on it then). Events already attributed to dirguard are left alone.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from dirguard.providers.ad.plan.restore_plan import StepKind
from dirguard.providers.ad.values import DN_ATTRIBUTE
from dirguard.services.rollback.elevation_writes import mark_elevation_writes
from dirguard.store.column_types import utcnow
from dirguard.store.models import ChangeEvent, DirectoryObject, RestorePlan, RestoreStep

ACTOR_SOURCE = "dirguard"
WINDOW = timedelta(hours=24)
SIDE_EFFECTS = timedelta(minutes=10)
"""How long after bringing an object back the directory's own changes to it (Samba sets
``primaryGroupID``, ``codePage``, ``countryCode``… on a reanimated account) count as caused by
that step: they arrive with the next capture pass."""
_DN_STEP_KINDS = frozenset({StepKind.REANIMATE, StepKind.MOVE, StepKind.DELETE})
_BRING_BACK = frozenset({StepKind.REANIMATE.value, StepKind.RECREATE.value})


def own_actor(requested_by: str) -> str:
    return f"dirguard (for {requested_by})"


def _caused_by(step: RestoreStep, event: ChangeEvent) -> bool:
    """Whether ``event`` is the effect of ``step`` (observed after it was applied)."""
    assert step.applied_at is not None
    side_effect = step.kind in _BRING_BACK and event.observed_at <= step.applied_at + SIDE_EFFECTS
    if side_effect and event.actor_source is None:
        return True  # no audit record names anyone: the directory's own change on reanimation
    attributes = {step.attribute} if step.attribute else set()
    if step.kind in _DN_STEP_KINDS:
        attributes.add(DN_ATTRIBUTE)
    return event.attribute in attributes and _same_write(step, event)


def _texts(value: object) -> set[str] | None:
    """The value's items as case-folded text, or ``None`` when one is not text (bytes)."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    if not all(isinstance(item, str) for item in items):
        return None
    return {str(item).casefold() for item in items}


def _same_write(step: RestoreStep, event: ChangeEvent) -> bool:
    """Whether ``event`` wrote what ``step`` wrote: a link value step is the same operation on
    the same value, a set step the same values (a later, different write to the attribute is
    somebody else's: an attacker re-adding a member dirguard removed is not dirguard's). Values
    that are not text (descriptors, GUIDs) cannot be compared here and count as the same."""
    values = _texts((step.step or {}).get("values"))
    if values is None:
        return True
    if step.kind in (StepKind.ADD_VALUE.value, StepKind.REMOVE_VALUE.value):
        changed = event.new_value if event.op == "add-value" else event.old_value
        written = _texts(changed)
        return event.op == step.kind and (written is None or written <= values)
    if step.kind == StepKind.SET.value and event.op == "modify":
        written = _texts(event.new_value)
        return written is None or written == values
    return True


def mark_own_writes(session: Session, source: str, window: timedelta = WINDOW) -> int:
    """Attribute ``source``'s events caused by applied rollback steps and by just-in-time
    elevations; how many were marked. One query finds every not yet marked event observed
    after a step that succeeded on the same object within ``window``."""
    since = utcnow() - window
    found = session.execute(
        select(ChangeEvent, RestoreStep, RestorePlan.requested_by)
        .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
        .join(RestoreStep, RestoreStep.object_external_id == DirectoryObject.external_id)
        .join(RestorePlan, RestoreStep.plan_id == RestorePlan.id)
        .where(
            DirectoryObject.source == source,
            RestorePlan.source == source,
            RestoreStep.status == "succeeded",
            RestoreStep.applied_at >= since,
            ChangeEvent.observed_at >= RestoreStep.applied_at,
            ChangeEvent.observed_at >= since,
            (ChangeEvent.actor_source.is_(None)) | (ChangeEvent.actor_source != ACTOR_SOURCE),
        )
        .order_by(ChangeEvent.sequence, RestoreStep.applied_at.desc())
    ).all()
    marked: set[int] = set()
    for event, step, requested_by in found:
        assert step.applied_at is not None
        if event.id in marked or event.observed_at > step.applied_at + window:
            continue
        if _caused_by(step, event):
            event.actor = own_actor(requested_by)
            event.actor_source = ACTOR_SOURCE
            event.actor_address = None
            marked.add(event.id)
    session.flush()
    return len(marked) + mark_elevation_writes(session, source, window)
