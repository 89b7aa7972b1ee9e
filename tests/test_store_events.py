"""Change events chain per source; cursors commit or roll back together with their events."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from dirguard.core.change_op import ChangeOp
from dirguard.store.cursors import get_cursor, save_cursor
from dirguard.store.events import NewChangeEvent, append_events, insert_events, verify_chain
from dirguard.store.models import ChangeEvent, DirectoryObject

SOURCE = "corp.example"
STREAM = "dirsync:DC=corp,DC=example"


def _object(session: Session, source: str = SOURCE) -> int:
    obj = DirectoryObject(
        source=source, resource_type="ad.group", external_id=str(uuid.uuid4()), natural_key="g"
    )
    session.add(obj)
    session.flush()
    return obj.id


def _member_changes(object_id: int, count: int) -> list[NewChangeEvent]:
    return [
        NewChangeEvent(
            object_id=object_id,
            op=ChangeOp.ADD_VALUE,
            attribute="member",
            new_value=f"CN=user{index},DC=corp,DC=example",
            occurred_at=datetime(2024, 5, 1, 8, 0, index, 250_000, tzinfo=UTC),
            correlation_id=f"txn-{index}",
        )
        for index in range(count)
    ]


def _seed(sessions: sessionmaker[Session], count: int = 4) -> int:
    with sessions.begin() as session:
        object_id = _object(session)
        append_events(session, _member_changes(object_id, count))
    return object_id


def test_events_are_numbered_and_chained_per_source(store_sessions: sessionmaker[Session]) -> None:
    with store_sessions.begin() as session:
        here, there = _object(session), _object(session, "tenant.example")
        mixed = _member_changes(here, 2) + _member_changes(there, 1) + _member_changes(here, 1)
        append_events(session, mixed)
    with store_sessions.begin() as session:
        append_events(session, _member_changes(here, 1))  # a later transaction continues
    with store_sessions() as session:
        rows = session.execute(
            select(ChangeEvent.source, ChangeEvent.sequence, ChangeEvent.prev_digest).order_by(
                ChangeEvent.id
            )
        ).all()
        assert [(r.source, r.sequence) for r in rows] == [
            (SOURCE, 1),
            (SOURCE, 2),
            ("tenant.example", 1),
            (SOURCE, 3),
            (SOURCE, 4),
        ]
        assert rows[0].prev_digest is None and rows[2].prev_digest is None
        assert verify_chain(session, SOURCE) == []
        assert verify_chain(session, "tenant.example") == []


def test_a_changed_value_breaks_the_chain_at_that_event(
    store_sessions: sessionmaker[Session],
) -> None:
    _seed(store_sessions)
    with store_sessions.begin() as session:
        session.execute(
            update(ChangeEvent)
            .where(ChangeEvent.source == SOURCE, ChangeEvent.sequence == 2)
            .values(new_value="CN=intruder,DC=corp,DC=example")
        )
    with store_sessions() as session:
        assert verify_chain(session, SOURCE) == [2]


def test_a_recomputed_digest_still_breaks_the_next_link(
    store_sessions: sessionmaker[Session],
) -> None:
    _seed(store_sessions)
    with store_sessions.begin() as session:
        session.execute(
            update(ChangeEvent)
            .where(ChangeEvent.source == SOURCE, ChangeEvent.sequence == 2)
            .values(digest="f" * 64)
        )
    with store_sessions() as session:
        assert verify_chain(session, SOURCE) == [2, 3]


def test_a_removed_event_is_detected(store_sessions: sessionmaker[Session]) -> None:
    _seed(store_sessions)
    with store_sessions.begin() as session:
        session.execute(
            ChangeEvent.__table__.delete().where(
                ChangeEvent.source == SOURCE, ChangeEvent.sequence == 2
            )
        )
    with store_sessions() as session:
        assert verify_chain(session, SOURCE) == [3]


def test_attribution_added_later_keeps_the_chain_intact(
    store_sessions: sessionmaker[Session],
) -> None:
    """Correlation fills in the actor after the event is stored; that is not tampering."""
    _seed(store_sessions)
    with store_sessions.begin() as session:
        session.execute(
            update(ChangeEvent)
            .where(ChangeEvent.sequence == 3)
            .values(actor="CORP\\alice", actor_source="samba-audit", actor_address="10.0.0.7")
        )
    with store_sessions() as session:
        assert verify_chain(session, SOURCE) == []
        event = session.scalars(select(ChangeEvent).where(ChangeEvent.sequence == 3)).one()
        assert event.actor == "CORP\\alice"
        assert event.occurred_at == datetime(2024, 5, 1, 8, 0, 2, 250_000, tzinfo=UTC)


def test_binary_values_in_events_round_trip(store_sessions: sessionmaker[Session]) -> None:
    old, new = bytes(range(256)), b"\x00\x01"
    with store_sessions.begin() as session:
        object_id = _object(session)
        append_events(
            session,
            [
                NewChangeEvent(
                    object_id=object_id,
                    op=ChangeOp.MODIFY,
                    attribute="thumbnailPhoto",
                    old_value=old,
                    new_value=new,
                )
            ],
        )
    with store_sessions() as session:
        event = session.scalars(select(ChangeEvent)).one()
        assert (event.old_value, event.new_value) == (old, new)
        assert verify_chain(session, SOURCE) == []


def test_unknown_object_is_refused(store_sessions: sessionmaker[Session]) -> None:
    with (
        pytest.raises(ValueError, match=r"unknown object ids \[987654\]"),
        store_sessions.begin() as session,
    ):
        append_events(session, [NewChangeEvent(object_id=987654, op=ChangeOp.DELETE)])


def test_cursor_rolls_back_with_the_events_it_covers(
    store_sessions: sessionmaker[Session],
) -> None:
    object_id = _seed(store_sessions, count=2)
    with store_sessions.begin() as session:
        save_cursor(session, SOURCE, STREAM, b"cookie-1")

    # The next increment: events and the advanced cursor, then a failure before commit.
    with pytest.raises(IntegrityError), store_sessions.begin() as session:
        append_events(session, _member_changes(object_id, 3))
        save_cursor(session, SOURCE, STREAM, b"cookie-2")
        clash = session.scalars(select(DirectoryObject)).first()
        assert clash is not None
        session.add(
            DirectoryObject(source=SOURCE, resource_type="ad.group", external_id=clash.external_id)
        )
        session.flush()

    with store_sessions() as session:
        assert get_cursor(session, SOURCE, STREAM) == b"cookie-1"
        assert session.scalar(select(func.count()).select_from(ChangeEvent)) == 2

    # Retried, it commits as a whole: the cursor never runs ahead of its data.
    with store_sessions.begin() as session:
        append_events(session, _member_changes(object_id, 3))
        save_cursor(session, SOURCE, STREAM, b"cookie-2")
    with store_sessions() as session:
        assert get_cursor(session, SOURCE, STREAM) == b"cookie-2"
        assert session.scalar(select(func.count()).select_from(ChangeEvent)) == 5
        assert verify_chain(session, SOURCE) == []


def test_cursor_values_are_opaque_bytes(store_sessions: sessionmaker[Session]) -> None:
    cookie = bytes(range(256)) * 4
    with store_sessions.begin() as session:
        assert get_cursor(session, SOURCE, STREAM) is None
        save_cursor(session, SOURCE, STREAM, cookie)
        save_cursor(session, "tenant.example", "delta:users", b"https://graph/delta?token=x")
    with store_sessions() as session:
        assert get_cursor(session, SOURCE, STREAM) == cookie
        assert (
            get_cursor(session, "tenant.example", "delta:users") == b"https://graph/delta?token=x"
        )
    with store_sessions() as session, pytest.raises(TypeError, match="encode a deltaLink"):
        save_cursor(session, SOURCE, STREAM, "text")  # type: ignore[arg-type]


def test_a_bulk_insert_stores_the_same_chain_as_appending(
    store_sessions: sessionmaker[Session],
) -> None:
    """``insert_events`` (one multi-row INSERT, the capture's path) numbers, chains and stores
    what ``append_events`` would: each digest is the one the ORM path computes for the row
    read back (``verify_chain``), the values read back are the ones given (bytes, dicts, a
    marker-shaped dict, non-ASCII text, NULL), and the two paths continue one chain."""
    values = [b"\x00\xffsid", {"sddl": "O:DA", "difference": {"aces_added": []}}, "Zoë ✓", None]
    values.append({"$bytes": "not a marker"})
    with store_sessions.begin() as session:
        one, two = _object(session), _object(session)
        append_events(session, _member_changes(one, 1))
        drafts = [
            NewChangeEvent(
                object_id=object_id,
                op=ChangeOp.MODIFY,
                attribute="description",
                old_value=value,
                new_value=[value, "x"],
                observed_at=datetime(2024, 5, 1, 8, 0, index, tzinfo=UTC),
            )
            for index, value in enumerate(values)
            for object_id in (one, two)
        ]
        assert insert_events(session, drafts) == len(drafts)
        append_events(session, _member_changes(one, 2))  # the ORM path continues the chain
    with store_sessions() as session:
        rows = session.scalars(select(ChangeEvent).order_by(ChangeEvent.sequence)).all()
        assert [e.sequence for e in rows] == list(range(1, len(drafts) + 4))
        got = [(e.object_id, e.old_value, e.new_value, e.observed_at) for e in rows[1:-2]]
        assert got == [(d.object_id, d.old_value, d.new_value, d.observed_at) for d in drafts]
        assert all(e.prev_digest == before.digest for before, e in itertools.pairwise(rows))
        assert verify_chain(session, rows[0].source) == []
        assert (
            session.scalar(select(func.count()).where(ChangeEvent.old_value.is_(None))) == 1 + 2 + 2
        ), "None is SQL NULL (the member adds have no old value either)"
