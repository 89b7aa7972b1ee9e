"""dirguard's own writes are dirguard's: the events a rollback step caused are attributed to
dirguard on behalf of the person who asked for it, so that no later plan offers them back as
somebody else's change (the DC's audit trail names only the account dirguard binds with).

An event is dirguard's when a step that succeeded touched the same object, the same attribute
(or, for reanimations and moves, the object's DN), and the event was observed after the step was
applied and within ``window`` of it (older steps are not looked at again). Events already
attributed to dirguard are left alone.
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
_DN_STEP_KINDS = frozenset({StepKind.REANIMATE, StepKind.MOVE, StepKind.DELETE})


def own_actor(requested_by: str) -> str:
    return f"dirguard (for {requested_by})"


def mark_own_writes(session: Session, source: str, window: timedelta = WINDOW) -> int:
    """Attribute ``source``'s events caused by applied rollback steps and by just-in-time
    elevations; how many were marked."""
    steps = session.execute(
        select(RestoreStep, RestorePlan.requested_by)
        .join(RestorePlan, RestoreStep.plan_id == RestorePlan.id)
        .where(
            RestorePlan.source == source,
            RestoreStep.status == "succeeded",
            RestoreStep.applied_at >= utcnow() - window,
        )
    ).all()
    marked = 0
    for step, requested_by in steps:
        assert step.applied_at is not None
        attributes = {step.attribute} if step.attribute else set()
        if step.kind in _DN_STEP_KINDS:
            attributes.add(DN_ATTRIBUTE)
        events = session.scalars(
            select(ChangeEvent)
            .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
            .where(
                DirectoryObject.source == source,
                DirectoryObject.external_id == step.object_external_id,
                ChangeEvent.attribute.in_(attributes),
                ChangeEvent.observed_at >= step.applied_at,
                ChangeEvent.observed_at <= step.applied_at + window,
                (ChangeEvent.actor_source.is_(None)) | (ChangeEvent.actor_source != ACTOR_SOURCE),
            )
        ).all()
        for event in events:
            event.actor = own_actor(requested_by)
            event.actor_source = ACTOR_SOURCE
            event.actor_address = None
            marked += 1
    session.flush()
    return marked + mark_elevation_writes(session, source, window)
