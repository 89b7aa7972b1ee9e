"""A deleted object's holders are found by index: the links each stored version holds are
recorded as it is stored, and migration 0006 records those of the versions stored before it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from dirguard.providers.base import ObservedObject
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.capture.snapshot_store import store_observed
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.links import holders_of, link_key
from dirguard.store.models import ObjectLink

SOURCE = "ad:example.test"
BASE = "DC=example,DC=test"
ANN, BOB = f"CN=Ann,CN=Users,{BASE}", f"CN=Bob,CN=Users,{BASE}"


def _group(guid: str, *members: str, description: str = "") -> ObservedObject:
    content: dict[str, list[Any]] = {
        "distinguishedName": [f"CN=Staff,{BASE}"],
        "sAMAccountName": ["Staff"],
        "member": list(members),
        "description": [description] if description else [],
    }
    return ObservedObject(
        external_id=guid, resource_type=RESOURCE_TYPES["ad.group"], content=content
    )


def _holders(session: Session, dn: str) -> list[int]:
    return list(session.scalars(holders_of(dn)))


def test_each_link_a_version_holds_is_recorded_once_and_found_by_its_target(
    store_sessions: sessionmaker[Session],
) -> None:
    guid = str(uuid.uuid4())
    with store_sessions.begin() as session:
        store_observed(session, SOURCE, [_group(guid, ANN)], None)
    with store_sessions.begin() as session:  # a second version: Bob added, Ann still there
        store_observed(session, SOURCE, [_group(guid, ANN, BOB, description=f"was {ANN}")], None)
    with store_sessions.begin() as session:  # a third: Ann removed
        store_observed(session, SOURCE, [_group(guid, BOB)], None)
    with store_sessions() as session:
        rows = session.execute(sa.select(ObjectLink.attribute, ObjectLink.target_key)).all()
        assert sorted(rows) == sorted([("member", link_key(ANN)), ("member", link_key(BOB))])
        [group] = _holders(session, ANN.upper())
        assert _holders(session, BOB) == [group], "a link once held is found, case aside"
        assert _holders(session, f"CN=Cy,CN=Users,{BASE}") == []


def test_a_holder_named_only_outside_its_links_is_not_found(
    store_sessions: sessionmaker[Session],
) -> None:
    """Only linked attributes count: a DN in a description is not a membership."""
    with store_sessions.begin() as session:
        store_observed(session, SOURCE, [_group(str(uuid.uuid4()), description=ANN)], None)
    with store_sessions() as session:
        assert _holders(session, ANN) == []


@pytest.fixture
def engine(store_url: str) -> Iterator[Engine]:
    engine = create_engine_for(store_url)
    try:
        yield engine
    finally:
        engine.dispose()


def test_the_migration_records_the_links_of_versions_stored_before_it(engine: Engine) -> None:
    upgrade(engine, "0005")
    when = datetime(2026, 11, 1, tzinfo=UTC)
    with engine.begin() as connection:
        meta = sa.MetaData()
        objects = sa.Table("objects", meta, autoload_with=connection)
        versions = sa.Table("object_versions", meta, autoload_with=connection)
        ids = {}
        for name, resource_type in (("group", "ad.group"), ("user", "ad.user"), ("gpo", "ad.gpo")):
            ids[name] = connection.execute(
                objects.insert().values(
                    source=SOURCE, resource_type=resource_type, external_id=str(uuid.uuid4()),
                    deleted=False, first_seen=when, last_seen=when,
                )
            ).inserted_primary_key[0]  # fmt: skip
        for number, (name, content) in enumerate(
            [
                ("group", {"member": [ANN], "managedBy": [BOB]}),
                ("group", {"member": [ANN, BOB], "managedBy": [BOB]}),
                ("user", {"manager": [BOB], "description": [ANN]}),
                ("gpo", {"member": [ANN]}),  # a GPO has no linked attributes
            ],
            start=1,
        ):
            connection.execute(
                versions.insert().values(
                    object_id=ids[name], version=number, captured_at=when, content=content,
                    content_hash="0" * 64,
                )
            )  # fmt: skip
    upgrade(engine)
    with session_factory(engine)() as session:
        assert _holders(session, ANN) == [ids["group"]]
        assert sorted(_holders(session, BOB)) == sorted([ids["group"], ids["user"]])
        assert session.scalar(sa.select(sa.func.count()).select_from(ObjectLink)) == 4
