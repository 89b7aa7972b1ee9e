"""Store keys are namespaced by provider: an AD domain and a tenant with the same name never share
objects or a hash chain, and migration 0005 rewrites a store written before the namespacing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from dirguard.core.change_op import ChangeOp
from dirguard.providers.base import source_name, store_source
from dirguard.services import history
from dirguard.store.database import (
    create_engine_for,
    current_revision,
    downgrade,
    head_revision,
    session_factory,
    upgrade,
)
from dirguard.store.events import NewChangeEvent, append_events, event_digest, verify_chain
from dirguard.store.models import ChangeEvent, DirectoryObject

NAME = "contoso.com"
GUID = "5b0c3c8e-7a0e-4d8a-9a57-3f5d0e6f1a11"
"""One id for both objects: the namespaces keep them apart even then."""
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = create_engine_for(store_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _object(session: Session, source: str, resource_type: str, natural_key: str) -> int:
    obj = DirectoryObject(
        source=source, resource_type=resource_type, external_id=GUID, natural_key=natural_key
    )
    session.add(obj)
    session.flush()
    return obj.id


def _renamed(object_id: int, *names: str) -> list[NewChangeEvent]:
    return [
        NewChangeEvent(
            object_id=object_id,
            op=ChangeOp.MODIFY,
            attribute="displayName",
            new_value=[name],
            occurred_at=T0 + timedelta(minutes=index),
        )
        for index, name in enumerate(names)
    ]


def test_a_domain_and_a_tenant_with_the_same_name_keep_apart(
    store_sessions: sessionmaker[Session],
) -> None:
    ad, entra = store_source("ad", NAME), store_source("entra", NAME)
    with store_sessions.begin() as session:
        in_ad = _object(session, ad, "ad.user", "ada")
        in_tenant = _object(session, entra, "entra.user", "ada@contoso.com")
        append_events(session, _renamed(in_ad, "Ada", "Ada L."))
        append_events(session, _renamed(in_tenant, "Ada (cloud)"))
        append_events(session, _renamed(in_ad, "Ada Lovelace"))
    with store_sessions() as session:
        chains = session.execute(
            sa.select(ChangeEvent.source, ChangeEvent.sequence).order_by(ChangeEvent.id)
        ).all()
        assert chains == [(ad, 1), (ad, 2), (entra, 1), (ad, 3)], "one chain per provider"
        assert verify_chain(session, ad) == verify_chain(session, entra) == []
        [found] = history.find_objects(session, GUID, ad)
        assert (found.id, found.resource_type) == (in_ad, "ad.user")
        assert len(history.find_objects(session, GUID)) == 2
        shown = history.changes(session, source=ad)
        assert [c["new"] for c in shown] == [["Ada"], ["Ada L."], ["Ada Lovelace"]]
        assert {c["source"] for c in shown} == {NAME}, "people see the configured name"
        assert [c["sequence"] for c in history.changes(session, source=entra)] == [1]
        with pytest.raises(history.HistoryQueryError, match=f"in {NAME};"):
            history.find_object(session, "nobody", ad)


def test_store_keys_name_their_provider() -> None:
    assert store_source("ad", "corp.example.com") == "ad:corp.example.com"
    assert source_name("entra:contoso") == "contoso"
    assert source_name("corp.example.com") == "corp.example.com"


# A store written before 0005: rows inserted as that schema held them, chains digested over the
# bare name (the digest covers the source).

_EVENTS = sa.table(
    "change_events", *(sa.column(c) for c in ("id", "source", "sequence", "prev_digest", "digest"))
)


def _chain(connection: sa.Connection, source: str, events: list[dict[str, Any]]) -> None:
    """Insert ``events`` (object id, attribute, new value) as chain ``source`` 1, 2, 3…"""
    table = sa.Table("change_events", sa.MetaData(), autoload_with=connection)
    prev = None
    for sequence, fields in enumerate(events, start=1):
        event = ChangeEvent(
            source=source,
            sequence=sequence,
            op=ChangeOp.MODIFY.value,
            observed_at=T0 + timedelta(seconds=sequence),
            **fields,
        )
        digest = event_digest(event, prev)
        connection.execute(
            table.insert().values(
                source=source,
                sequence=sequence,
                object_id=event.object_id,
                op=event.op,
                attribute=event.attribute,
                new_value=event.new_value,
                observed_at=event.observed_at,
                prev_digest=prev,
                digest=digest,
            )
        )
        prev = digest


def _insert(connection: sa.Connection, table: str, **values: Any) -> int:
    reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
    return int(connection.execute(reflected.insert().values(**values)).inserted_primary_key[0])


def _seed_before_0005(engine: Engine) -> dict[str, int]:
    upgrade(engine, "0004")
    ids: dict[str, int] = {}
    with engine.begin() as connection:
        common = {"deleted": False, "first_seen": T0, "last_seen": T0}
        ids["user"] = _insert(
            connection,
            "objects",
            source="corp.example.com",
            resource_type="ad.user",
            external_id=str(uuid.uuid4()),
            **common,
        )
        ids["group"] = _insert(
            connection,
            "objects",
            source=NAME,
            resource_type="ad.group",
            external_id=str(uuid.uuid4()),
            **common,
        )
        ids["policy"] = _insert(
            connection,
            "objects",
            source=NAME,
            resource_type="entra.conditional_access_policy",
            external_id=str(uuid.uuid4()),
            **common,
        )
        user, group, policy = ids["user"], ids["group"], ids["policy"]
        _chain(
            connection,
            "corp.example.com",
            [
                {"object_id": user, "attribute": "title", "new_value": ["a"]},
                {"object_id": user, "attribute": "title", "new_value": ["b"]},
                {"object_id": user, "attribute": "title", "new_value": ["c"]},
            ],
        )
        # The bug 0005 ends: a domain and a tenant with one name shared one chain.
        _chain(
            connection,
            NAME,
            [
                {"object_id": group, "attribute": "member", "new_value": "CN=a"},
                {"object_id": policy, "attribute": "state", "new_value": "enabled"},
                {"object_id": group, "attribute": "member", "new_value": "CN=b"},
            ],
        )
        # Someone changed event 2 of corp.example.com by hand: the chain must still say so.
        connection.execute(
            sa.text(
                "UPDATE change_events SET attribute = 'description' "
                "WHERE source = 'corp.example.com' AND sequence = 2"
            )
        )
        for source, stream in (
            ("corp.example.com", "dirsync:domain"),
            ("corp.example.com", "samba-audit"),
            (NAME, "delta:users"),
        ):
            _insert(connection, "cursors", source=source, stream=stream, value=b"c", updated_at=T0)
        for kind, source in (
            ("snapshot", "corp.example.com"),
            ("monitor", f"corp.example.com, {NAME}"),
        ):
            _insert(
                connection, "runs", kind=kind, source=source, started_at=T0, status="succeeded",
                counters={},
            )  # fmt: skip
        _insert(
            connection,
            "runs",
            kind="demo",
            source=None,
            started_at=T0,
            status="succeeded",
            counters={},
        )
        ids["plan"] = _insert(
            connection,
            "restore_plans",
            source="corp.example.com",
            created_at=T0,
            requested_by="bob",
            selection={},
            force=False,
            status="planned",
        )
        _insert(
            connection, "elevations", source="corp.example.com", account="svc@corp.example.com",
            account_dn="CN=svc", group_name="Domain Admins", group_dn="CN=Domain Admins",
            requested_by="bob", reason="plan 1", plan_id=ids["plan"], status="ended",
            started_at=T0,
        )  # fmt: skip
    return ids


def _column(engine: Engine, table: str, order: str = "id") -> list[Any]:
    with engine.connect() as connection:
        return list(connection.scalars(sa.text(f"SELECT source FROM {table} ORDER BY {order}")))  # noqa: S608


def test_upgrade_namespaces_a_store_written_before_and_keeps_what_its_chains_tell(
    engine: Engine,
) -> None:
    ids = _seed_before_0005(engine)
    upgrade(engine)
    sessions = session_factory(engine)
    assert _column(engine, "objects") == ["ad:corp.example.com", f"ad:{NAME}", f"entra:{NAME}"]
    assert _column(engine, "cursors") == [
        "ad:corp.example.com",
        "ad:corp.example.com",
        f"entra:{NAME}",
    ]
    assert _column(engine, "runs") == [
        "ad:corp.example.com",
        f"ad:corp.example.com, ad:{NAME}",
        None,
    ]
    assert (
        _column(engine, "restore_plans") == _column(engine, "elevations") == ["ad:corp.example.com"]
    )
    with sessions() as session:
        rows = session.execute(
            sa.select(ChangeEvent.source, ChangeEvent.sequence, ChangeEvent.object_id).order_by(
                ChangeEvent.id
            )
        ).all()
        assert rows == [
            ("ad:corp.example.com", 1, ids["user"]),
            ("ad:corp.example.com", 2, ids["user"]),
            ("ad:corp.example.com", 3, ids["user"]),
            (f"ad:{NAME}", 1, ids["group"]),
            (f"entra:{NAME}", 1, ids["policy"]),
            (f"ad:{NAME}", 2, ids["group"]),
        ], "numbers kept; a shared chain split into one per provider"
        assert verify_chain(session, "ad:corp.example.com") == [2], "the change is still seen"
        assert verify_chain(session, f"ad:{NAME}") == verify_chain(session, f"entra:{NAME}") == []
        # A new event continues the migrated chain.
        append_events(session, _renamed(ids["policy"], "Block legacy auth"))
        session.commit()
        assert verify_chain(session, f"entra:{NAME}") == []


def test_downgrade_strips_the_prefixes_unless_two_providers_share_a_name(engine: Engine) -> None:
    _seed_before_0005(engine)
    upgrade(engine)
    with pytest.raises(RuntimeError, match=f"{NAME} is the name of both an AD domain and a tenant"):
        downgrade(engine, "0004")
    assert current_revision(engine) == head_revision(), "nothing was changed"
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM change_events WHERE source LIKE 'entra:%'"))
        connection.execute(sa.text("DELETE FROM cursors WHERE source LIKE 'entra:%'"))
        connection.execute(sa.text("DELETE FROM objects WHERE source LIKE 'entra:%'"))
    downgrade(engine, "0004")
    assert _column(engine, "objects") == ["corp.example.com", NAME]
    assert _column(engine, "runs") == ["corp.example.com", f"corp.example.com, {NAME}", None]
    assert _column(engine, "elevations") == ["corp.example.com"]
    with engine.connect() as connection:
        events = connection.execute(
            sa.select(_EVENTS.c.source, _EVENTS.c.sequence).order_by(_EVENTS.c.id)
        ).all()
    assert [tuple(e) for e in events] == [
        ("corp.example.com", 1),
        ("corp.example.com", 2),
        ("corp.example.com", 3),
        (NAME, 1),
        (NAME, 2),
    ]
    upgrade(engine)
    with session_factory(engine)() as session:
        assert verify_chain(session, "ad:corp.example.com") == [2]
        assert verify_chain(session, f"ad:{NAME}") == []
