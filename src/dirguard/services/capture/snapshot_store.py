"""Storing a snapshot's objects in bulk: a few statements per batch instead of one ORM object per
row (a 20,000-object snapshot spent most of its storing time in the ORM's unit of work).

For one batch of observed objects, in the caller's transaction:

1. one query reads the stored rows of the batch's objects, one the number and content hash of
   each one's newest version (no content is decoded);
2. objects not stored yet are inserted in one multi-row ``INSERT … RETURNING`` (their ids);
3. each object's content is serialized once (:func:`~dirguard.store.json_codec.flat_content_json`):
   the same text gives the content hash and is what the version row stores. A hash equal to
   the newest version's means unchanged; a different hash is compared again as the type's row
   compares versions (volatile fields left out, unordered fields in any order), loading only
   those previous versions (a version is added only when the
   significant content differs, as :func:`dirguard.services.capture.snapshot.record_state`
   decides);
4. the new versions go in one driver ``executemany``
   (:func:`~dirguard.store.bulk_insert.insert_many`: SQLAlchemy's per-row parameter handling
   was a quarter of the storing's time); every object's ``last_seen`` in one ``UPDATE``, and
   the path, deleted flag, natural key and type only of the objects where one of them changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, tuple_, update
from sqlalchemy.orm import Session

from dirguard.providers.base import Content, ObservedObject
from dirguard.providers.readers import reading_provider
from dirguard.store import json_codec
from dirguard.store.bulk_insert import insert_many
from dirguard.store.column_types import utcnow
from dirguard.store.links import Link, linked_values, record_links
from dirguard.store.models import DirectoryObject, ObjectVersion

_OBJECTS = cast(Table, DirectoryObject.__table__)
_VERSIONS = cast(Table, ObjectVersion.__table__)
_VERSION_COLUMNS = ("object_id", "version", "captured_at", "content", "content_hash", "run_id")
"""A new version's columns, in the order :func:`store_observed` gives them."""


@dataclass(kw_only=True)
class BatchCounts:
    new_objects: int = 0
    new_versions: int = 0
    unchanged: int = 0


@dataclass(frozen=True, kw_only=True)
class _Stored:
    id: int
    resource_type: str
    natural_key: str | None
    path: str | None
    deleted: bool


def _stored_objects(session: Session, source: str, guids: Sequence[str]) -> dict[str, _Stored]:
    rows = session.execute(
        select(
            DirectoryObject.external_id,
            DirectoryObject.id,
            DirectoryObject.resource_type,
            DirectoryObject.natural_key,
            DirectoryObject.path,
            DirectoryObject.deleted,
        ).where(DirectoryObject.source == source, DirectoryObject.external_id.in_(guids))
    )
    return {
        row.external_id: _Stored(
            id=row.id,
            resource_type=row.resource_type,
            natural_key=row.natural_key,
            path=row.path,
            deleted=row.deleted,
        )
        for row in rows
    }


def newest_hashes(session: Session, object_ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """``{object id: (newest version number, its content hash)}`` in one query."""
    ids = list(object_ids)
    if not ids:
        return {}
    newest = (
        select(ObjectVersion.object_id, func.max(ObjectVersion.version).label("version"))
        .where(ObjectVersion.object_id.in_(ids))
        .group_by(ObjectVersion.object_id)
        .subquery()
    )
    rows = session.execute(
        select(ObjectVersion.object_id, ObjectVersion.version, ObjectVersion.content_hash).join(
            newest,
            (ObjectVersion.object_id == newest.c.object_id)
            & (ObjectVersion.version == newest.c.version),
        )
    )
    return {row.object_id: (row.version, row.content_hash) for row in rows}


def _contents(session: Session, pairs: Iterable[tuple[int, int]]) -> dict[int, Content]:
    """The content of the given ``(object id, version)`` pairs."""
    wanted = list(pairs)
    if not wanted:
        return {}
    rows = session.execute(
        select(ObjectVersion.object_id, ObjectVersion.content).where(
            tuple_(ObjectVersion.object_id, ObjectVersion.version).in_(wanted)
        )
    )
    return {row.object_id: row.content for row in rows}


def _facts(observed: ObservedObject) -> tuple[str, bool, str | None]:
    row = observed.resource_type
    facts = reading_provider(row.provider).object_facts(row, observed.content)
    return facts.path, facts.deleted, facts.natural_key


def store_observed(
    session: Session, source: str, batch: Sequence[ObservedObject], run_id: int | None
) -> BatchCounts:
    """Store one batch (flushes nothing through the ORM; the caller commits)."""
    counts = BatchCounts()
    unique = {o.external_id: o for o in batch}  # a repeated GUID: its last reading counts
    if not unique:
        return counts
    now = utcnow()
    stored = _stored_objects(session, source, list(unique))
    new_rows: list[dict[str, Any]] = []
    for guid, observed in unique.items():
        if guid in stored:
            continue
        dn, deleted, key = _facts(observed)
        new_rows.append(
            {
                "source": source,
                "resource_type": observed.resource_type.key,
                "external_id": guid,
                "natural_key": key,
                "path": dn,
                "deleted": deleted,
                "first_seen": now,
                "last_seen": now,
            }
        )
    ids = {guid: s.id for guid, s in stored.items()}
    if new_rows:
        inserted = session.execute(
            insert(_OBJECTS).returning(_OBJECTS.c.id, _OBJECTS.c.external_id), new_rows
        )
        ids.update({row.external_id: row.id for row in inserted})
        counts.new_objects = len(new_rows)
    newest = newest_hashes(session, (s.id for s in stored.values()))

    encoded: dict[str, tuple[json_codec.JsonText, str]] = {}
    differing: list[tuple[int, int]] = []
    for guid, observed in unique.items():
        encoded[guid] = json_codec.flat_content_json(observed.content)
        previous = newest.get(ids[guid])
        if previous is not None and previous[1] != encoded[guid][1]:
            differing.append((ids[guid], previous[0]))
    previous_contents = _contents(session, differing)

    versions: list[tuple[Any, ...]] = []
    links: list[Link] = []
    changed_rows: list[dict[str, Any]] = []
    for guid, observed in unique.items():
        object_id = ids[guid]
        text, digest = encoded[guid]
        previous = newest.get(object_id)
        if previous is not None and (
            previous[1] == digest or _same_significant(previous_contents.get(object_id), observed)
        ):
            counts.unchanged += 1
        else:
            number = (previous[0] if previous is not None else 0) + 1
            versions.append((object_id, number, now, text, digest, run_id))
            links += linked_values(
                object_id, observed.content, observed.resource_type.linked_fields
            )
        row = stored.get(guid)
        if row is not None:
            dn, deleted, key = _facts(observed)
            key = key if key is not None else row.natural_key
            kind = observed.resource_type.key
            if (dn, deleted, key, kind) != (
                row.path,
                row.deleted,
                row.natural_key,
                row.resource_type,
            ):
                changed_rows.append(
                    {"oid": row.id, "path": dn, "deleted": deleted, "key": key, "kind": kind}
                )
    if versions:
        insert_many(session, _VERSIONS, _VERSION_COLUMNS, versions)
        record_links(session, links)
        counts.new_versions = len(versions)
    if stored:
        session.execute(
            update(_OBJECTS)
            .where(_OBJECTS.c.id.in_([s.id for s in stored.values()]))
            .values(last_seen=now)
        )
    if changed_rows:
        session.execute(
            update(_OBJECTS)
            .where(_OBJECTS.c.id == bindparam("oid"))
            .values(
                path=bindparam("path"),
                deleted=bindparam("deleted"),
                natural_key=bindparam("key"),
                resource_type=bindparam("kind"),
            ),
            changed_rows,
        )
    return counts


def _same_significant(previous: Content | None, observed: ObservedObject) -> bool:
    if previous is None:
        return False
    return observed.resource_type.same_content(previous, observed.content)
