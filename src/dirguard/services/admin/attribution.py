"""The Administrator's writes, as the guardian records them: a change a web action made is
dirguard's, done for the operator who asked — not the service account's own (the directory's
audit trail names only the account dirguard writes with).

A captured event is the effect of a web action when dirguard's audit log holds a successful
``admin.*`` record on the same object (its DN or id) before it, within ``WINDOW``, and the event
changes a field the action's preview listed — or, for an action that creates or deletes the
object, any change to it within ``SIDE_EFFECTS`` of the action. Events already attributed to
dirguard are left alone.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from dirguard.store.column_types import utcnow
from dirguard.store.models import AuditRecord, ChangeEvent, DirectoryObject

ACTOR_SOURCE = "dirguard-admin"
WINDOW = timedelta(hours=1)
SIDE_EFFECTS = timedelta(minutes=10)
_WHOLE_OBJECT = (".create", ".invite", ".delete", ".move")


def admin_actor(operator: str) -> str:
    return f"dirguard Administrator (for {operator})"


def mark_admin_writes(session: Session, source: str, window: timedelta = WINDOW) -> int:
    """Attribute ``source``'s events caused by web actions; how many were marked."""
    since = utcnow() - window
    records = session.scalars(
        select(AuditRecord).where(
            AuditRecord.action.like("admin.%"),
            AuditRecord.outcome == "succeeded",
            AuditRecord.at >= since,
            AuditRecord.target.like(f"{source}/%"),
        )
    ).all()
    marked = 0
    for record in records:
        path = str(record.target)[len(source) + 1 :]
        fields = {str(e.get("field")) for e in (record.details or {}).get("edits", [])}
        whole = record.action.endswith(_WHOLE_OBJECT)
        events = session.scalars(
            select(ChangeEvent)
            .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
            .where(
                DirectoryObject.source == source,
                or_(
                    func.lower(DirectoryObject.path) == path.lower(),
                    DirectoryObject.external_id == path,
                ),
                ChangeEvent.observed_at >= record.at,
                ChangeEvent.observed_at <= record.at + window,
                or_(
                    ChangeEvent.actor_source.is_(None),
                    ChangeEvent.actor_source.not_in((ACTOR_SOURCE, "dirguard")),
                ),
            )
        ).all()
        for event in events:
            near = event.observed_at <= record.at + SIDE_EFFECTS
            if event.attribute in fields or (whole and near):
                event.actor = admin_actor(record.actor)
                event.actor_source = ACTOR_SOURCE
                event.actor_address = None
                marked += 1
    session.flush()
    return marked
