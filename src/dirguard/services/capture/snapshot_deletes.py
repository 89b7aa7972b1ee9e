"""Deletes that happened while nothing was capturing, noticed by the next snapshot.

A complete paged search of a partition returns every live object in it. An object dirguard
stores as live in that partition that the search did not return is looked up by its objectGUID
with the show-deleted control:

* found as a tombstone: a ``delete`` event (old value the last known DN, new value the
  tombstone's DN, as DirSync capture records it) and the tombstone stored as its newest version,
  so a later capture that receives the same tombstone finds nothing new;
* not found at all (the tombstone is gone too): a ``delete`` event with no new DN; the object is
  marked deleted and its last live version stays its last state;
* found live (it was moved into the partition or created while the search ran): its state is
  stored, no event.

The actor of such a delete is unknown (the change happened before anything watched); the events
carry the correlation id ``snapshot:<run id>`` (:data:`SNAPSHOT_CORRELATION_PREFIX`), which
``dirguard changes`` shows as ``detected_by: snapshot``. Nothing else distinguishes a deleted
object from one the bind account may no longer read: the snapshot's account must read the whole
partition (as the permission catalog asks).
"""

from __future__ import annotations

import logging
from collections.abc import Set

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dirguard.core.change_op import ChangeOp
from dirguard.providers.base import ObservedObject, ReadScope, SourceReader
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.capture.snapshot_store import store_observed
from dirguard.services.history import SNAPSHOT_CORRELATION_PREFIX
from dirguard.store.column_types import utcnow
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import DirectoryObject, Run

log = logging.getLogger(__name__)


def detect_deletes(
    session: Session,
    reader: SourceReader,
    scope: ReadScope,
    seen: Set[str],
    *,
    run: Run,
    unreadable: int = 0,
) -> int:
    """Record the deletes of objects stored as live in ``scope`` whose id is not in ``seen``
    (the ids a complete read just returned); the number of delete events. Flushes, does not
    commit: the caller commits with the scope's last batch.

    ``unreadable``: entries the read returned without an id the account may read. When there
    were any, an object that is not found at all is not called deleted (the account may merely
    be unable to see it): it is logged and left as it was."""
    source = reader.source
    rows = session.execute(
        select(DirectoryObject.external_id, DirectoryObject.id).where(
            DirectoryObject.source == source,
            DirectoryObject.deleted.is_(False),
            DirectoryObject.resource_type.in_(scope.type_keys),
        )
    )
    missing = sorted((guid, object_id) for guid, object_id in rows if guid not in seen)
    if not missing:
        return 0
    objects = {
        obj.id: obj
        for obj in session.scalars(
            select(DirectoryObject).where(DirectoryObject.id.in_([i for _g, i in missing]))
        )
    }
    deletes = 0
    for guid, object_id in missing:
        obj = objects[object_id]
        found = reader.look_up(guid)
        if found is not None and not found.gone:
            log.warning("%s (%s) was not returned by the search but is live", obj.path, guid)
        elif found is None and unreadable:
            log.warning(
                "%s (%s) was not found, but the bind account could not read %d entries of the "
                "partition: not recorded as deleted",
                obj.path,
                guid,
                unreadable,
            )
            continue
        else:
            append_events(
                session,
                [
                    NewChangeEvent(
                        object_id=object_id,
                        op=ChangeOp.DELETE,
                        attribute=reader.path_field,
                        old_value=obj.path,
                        new_value=None if found is None else found.path,
                        observed_at=utcnow(),
                        correlation_id=f"{SNAPSHOT_CORRELATION_PREFIX}{run.id}",
                    )
                ],
                run,
            )
            deletes += 1
            log.info("%s (%s) was deleted while nothing was capturing", obj.path, guid)
        if found is not None:
            observed = ObservedObject(
                external_id=guid,
                resource_type=RESOURCE_TYPES[obj.resource_type],
                content=found.content,
            )
            store_observed(session, source, [observed], run.id)
        else:
            session.execute(
                update(DirectoryObject)
                .where(DirectoryObject.id == object_id)
                .values(deleted=True)
                .execution_options(synchronize_session=False)
            )
    return deletes
