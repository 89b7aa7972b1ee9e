"""Objects, versions and the other tables round-trip exactly and keep their constraints."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from dirguard.store.json_codec import content_hash
from dirguard.store.models import (
    ChangeEvent,
    Cursor,
    DirectoryObject,
    ObjectVersion,
    Run,
)


def _user(name: str = "zoe") -> DirectoryObject:
    return DirectoryObject(
        source="corp.example",
        resource_type="ad.user",
        external_id=str(uuid.uuid4()),
        natural_key=name,
        path=f"CN={name},OU=Staff,DC=corp,DC=example",
    )


def test_versions_round_trip_binary_unicode_and_nesting_exactly(
    store_sessions: sessionmaker[Session],
) -> None:
    guid = uuid.uuid4()
    descriptor = os.urandom(512) + bytes(range(256))  # every byte value, zero bytes included
    content = {
        "objectGUID": guid.bytes_le,
        "nTSecurityDescriptor": descriptor,
        "displayName": "Zoë Ångström — 日本語 🚀",
        "memberOf": ["CN=Ünïcode,DC=corp", "CN=Plain,DC=corp"],
        "proxyAddresses": [],
        "extension": {"nested": [[1, 2], [b"\xff\x00", None]], "$bytes": "literal, not bytes"},
        "uSNChanged": 2**62,
        "ratio": 0.1,
    }
    captured = datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=timezone(timedelta(hours=2)))
    with store_sessions.begin() as session:
        obj = _user()
        obj.versions.append(
            ObjectVersion(version=1, content={"displayName": "Zoe"}, content_hash="0" * 64)
        )
        obj.versions.append(
            ObjectVersion(
                version=2,
                content=content,
                content_hash=content_hash(content),
                captured_at=captured,
            )
        )
        session.add(obj)
        session.flush()
        object_id = obj.id

    with store_sessions() as session:
        stored = session.get_one(DirectoryObject, object_id)
        assert [v.version for v in stored.versions] == [1, 2]
        latest = stored.versions[1]
        assert latest.content == content
        assert latest.content["nTSecurityDescriptor"] == descriptor
        assert uuid.UUID(bytes_le=latest.content["objectGUID"]) == guid
        assert content_hash(latest.content) == latest.content_hash
        assert latest.captured_at == captured
        assert latest.captured_at.tzinfo == UTC
        assert stored.deleted is False
        assert stored.first_seen.tzinfo == UTC


def test_same_external_id_twice_in_one_source_is_rejected(
    store_sessions: sessionmaker[Session],
) -> None:
    first = _user()
    with store_sessions.begin() as session:
        session.add(first)
    again = _user()
    again.external_id = first.external_id
    with pytest.raises(IntegrityError), store_sessions.begin() as session:
        session.add(again)
    other_source = _user()
    other_source.external_id = first.external_id
    other_source.source = "other.example"
    with store_sessions.begin() as session:
        session.add(other_source)  # the same id in another source is another object


def test_version_number_is_unique_per_object(store_sessions: sessionmaker[Session]) -> None:
    with store_sessions.begin() as session:
        obj = _user()
        session.add(obj)
        session.flush()
        session.add(ObjectVersion(object_id=obj.id, version=1, content={}, content_hash="a"))
        object_id = obj.id
    with pytest.raises(IntegrityError), store_sessions.begin() as session:
        session.add(ObjectVersion(object_id=object_id, version=1, content={}, content_hash="b"))


def test_cursor_is_unique_per_source_and_stream(store_sessions: sessionmaker[Session]) -> None:
    with store_sessions.begin() as session:
        session.add(Cursor(source="corp.example", stream="dirsync:domain", value=b"\x01"))
    with pytest.raises(IntegrityError), store_sessions.begin() as session:
        session.add(Cursor(source="corp.example", stream="dirsync:domain", value=b"\x02"))


def test_database_rejects_unknown_run_status_and_event_op(
    store_sessions: sessionmaker[Session],
) -> None:
    with pytest.raises(IntegrityError), store_sessions.begin() as session:
        session.add(Run(kind="snapshot", source=None, status="done"))
    with store_sessions.begin() as session:
        obj = _user()
        session.add(obj)
        session.flush()
        object_id = obj.id
    with pytest.raises(IntegrityError), store_sessions.begin() as session:
        session.add(
            ChangeEvent(
                source="corp.example", sequence=1, object_id=object_id, op="edit", digest="x"
            )
        )


def test_foreign_keys_are_enforced(store_sessions: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError), store_sessions.begin() as session:
        session.add(ObjectVersion(object_id=424242, version=1, content={}, content_hash="a"))


def test_naive_datetimes_are_refused(store_sessions: sessionmaker[Session]) -> None:
    obj = _user()
    obj.first_seen = datetime(2024, 1, 1, 12, 0)  # the mistake under test: no time zone
    with (
        pytest.raises(StatementError, match="naive datetime 2024-01-01T12:00:00"),
        store_sessions.begin() as session,
    ):
        session.add(obj)


def test_deleted_objects_are_found_by_flag(store_sessions: sessionmaker[Session]) -> None:
    with store_sessions.begin() as session:
        gone, kept = _user("gone"), _user("kept")
        gone.deleted = True
        session.add_all([gone, kept])
    with store_sessions() as session:
        names = session.scalars(
            select(DirectoryObject.natural_key).where(DirectoryObject.deleted.is_(True))
        ).all()
    assert names == ["gone"]
