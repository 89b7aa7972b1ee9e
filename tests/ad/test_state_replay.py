"""``state_at`` replays stored change events onto the nearest earlier full version, on a real
store (SQLite and PostgreSQL where available) without a DC: the versions and events are written
with the store's own functions, at chosen moments, which a DC cannot give a test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.values import DN_ATTRIBUTE
from dirguard.services import history as history_query
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import DirectoryObject, ObjectVersion

Sessions = sessionmaker[Session]
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
DN = "CN=Ada,OU=Staff,DC=example,DC=test"
SD = b"\x01\x00\x04\x80" + bytes(16)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _store_object(sessions: Sessions, content: dict[str, list[Any]]) -> int:
    with sessions.begin() as session:
        obj = DirectoryObject(
            source="example.test",
            resource_type="ad.group",
            external_id="0b6c2b56-0000-4000-8000-000000000001",
            natural_key="ada",
            path=DN,
        )
        session.add(obj)
        session.flush()
        session.add(
            ObjectVersion(
                object_id=obj.id, version=1, captured_at=T0, content=content, content_hash="x"
            )
        )
        return obj.id


def _events(
    sessions: Sessions, object_id: int, *drafts: tuple[float, ChangeOp, dict[str, Any]]
) -> None:
    with sessions.begin() as session:
        append_events(
            session,
            [
                NewChangeEvent(object_id=object_id, op=op, observed_at=_at(minutes), **fields)
                for minutes, op, fields in drafts
            ],
        )


def _state(sessions: Sessions, minutes: float) -> dict[str, Any] | None:
    with sessions() as session:
        ref = history_query.find_object(session, "ada")
        return history_query.state_at(session, ref, _at(minutes))


def test_events_after_the_last_version_are_replayed(store_sessions: Sessions) -> None:
    object_id = _store_object(
        store_sessions,
        {
            "distinguishedName": [DN],
            "sAMAccountName": ["ada"],
            "description": ["one"],
            "member": ["CN=Bob,DC=example,DC=test"],
            "nTSecurityDescriptor": [SD],
        },
    )
    carol = "CN=Carol,DC=example,DC=test"
    moved = "CN=Ada,OU=Former,DC=example,DC=test"
    _events(
        store_sessions,
        object_id,
        (10, ChangeOp.MODIFY, {"attribute": "description", "new_value": ["two"]}),
        (20, ChangeOp.ADD_VALUE, {"attribute": "member", "new_value": carol}),
        (30, ChangeOp.MODIFY, {"attribute": "description", "new_value": ["three"]}),
        (40, ChangeOp.REMOVE_VALUE, {"attribute": "member", "old_value": carol}),
        (50, ChangeOp.MOVE, {"attribute": DN_ATTRIBUTE, "old_value": DN, "new_value": moved}),
        (60, ChangeOp.MODIFY, {"attribute": "description", "old_value": ["three"]}),
        (70, ChangeOp.DELETE, {"attribute": DN_ATTRIBUTE, "old_value": moved}),
    )

    assert _state(store_sessions, -1) is None  # nothing recorded yet
    start = _state(store_sessions, 5)
    assert start is not None and start["events_replayed"] == 0 and start["version"] == 1
    assert start["attributes"]["description"] == ["one"]
    assert start["attributes"]["nTSecurityDescriptor"] == [
        {"$bytes": "AQAEgAAAAAAAAAAAAAAAAAAAAAA="}
    ]

    middle = _state(store_sessions, 25)
    assert middle is not None and middle["events_replayed"] == 2
    assert middle["attributes"]["description"] == ["two"]
    assert middle["attributes"]["member"] == ["CN=Bob,DC=example,DC=test", carol]

    later = _state(store_sessions, 45)
    assert later is not None
    assert later["attributes"]["description"] == ["three"]
    assert later["attributes"]["member"] == ["CN=Bob,DC=example,DC=test"]
    assert later["attributes"]["distinguishedName"] == [DN]

    cleared = _state(store_sessions, 65)
    assert cleared is not None and not cleared["deleted"]
    assert "description" not in cleared["attributes"]
    assert cleared["attributes"]["distinguishedName"] == [moved]

    gone = _state(store_sessions, 75)
    assert gone is not None and gone["deleted"] and gone["events_replayed"] == 7


def test_a_change_counts_from_when_it_occurred_not_when_it_was_captured(
    store_sessions: Sessions,
) -> None:
    object_id = _store_object(
        store_sessions, {"distinguishedName": [DN], "sAMAccountName": ["ada"], "title": ["a"]}
    )
    # Occurred at minute 10, captured (event and version) at minute 30.
    with store_sessions.begin() as session:
        append_events(
            session,
            [
                NewChangeEvent(
                    object_id=object_id,
                    op=ChangeOp.MODIFY,
                    attribute="title",
                    old_value=["a"],
                    new_value=["b"],
                    occurred_at=_at(10),
                    observed_at=_at(30),
                )
            ],
        )
        session.add(
            ObjectVersion(
                object_id=object_id,
                version=2,
                captured_at=_at(30) + timedelta(microseconds=5),
                content={"distinguishedName": [DN], "sAMAccountName": ["ada"], "title": ["b"]},
                content_hash="y",
            )
        )
    before = _state(store_sessions, 5)
    between = _state(store_sessions, 20)
    after = _state(store_sessions, 40)
    assert before is not None and before["attributes"]["title"] == ["a"]
    assert between is not None and between["attributes"]["title"] == ["b"]
    assert between["version"] == 1 and between["events_replayed"] == 1
    assert after is not None and after["attributes"]["title"] == ["b"]
    assert after["version"] == 2 and after["events_replayed"] == 0


def test_a_create_event_without_a_version_is_the_starting_state(store_sessions: Sessions) -> None:
    with store_sessions.begin() as session:
        obj = DirectoryObject(
            source="example.test",
            resource_type="ad.user",
            external_id="0b6c2b56-0000-4000-8000-000000000002",
            natural_key="ada",
            path=DN,
        )
        session.add(obj)
        session.flush()
        object_id = obj.id
    _events(
        store_sessions,
        object_id,
        (10, ChangeOp.CREATE, {"new_value": {"distinguishedName": [DN], "title": ["a"]}}),
        (20, ChangeOp.MODIFY, {"attribute": "title", "old_value": ["a"], "new_value": "b"}),
    )
    assert _state(store_sessions, 5) is None
    created = _state(store_sessions, 15)
    assert created is not None and created["version"] is None
    assert created["attributes"] == {"distinguishedName": [DN], "title": ["a"]}
    modified = _state(store_sessions, 25)
    assert modified is not None and modified["attributes"]["title"] == ["b"]
