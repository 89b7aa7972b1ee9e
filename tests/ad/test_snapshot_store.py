"""The snapshot's bulk storing and its pieces, on a real store (SQLite, and PostgreSQL where the
fixture offers it) without a DC: what a snapshot batch stores, that the one serialization gives
the same hash as the canonical encoding, and the read-ahead thread that feeds it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.providers.ad.ldap_read import read_ahead
from dirguard.providers.base import ObservedObject
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.capture.snapshot_store import store_observed
from dirguard.store import json_codec
from dirguard.store.models import DirectoryObject, ObjectVersion

Sessions = sessionmaker[Session]
USER = RESOURCE_TYPES["ad.user"]
EVERY_BYTE = bytes(range(256))


@pytest.mark.parametrize(
    "content",
    [
        {"objectGUID": [EVERY_BYTE[:16]], "member": ["CN=a,DC=x", "CN=b,DC=x"], "x": [b""]},
        {"displayName": ["Zoë Ångström — 日本語 🚀", 'quote " back \\ tab \t nul \x00 \u2028']},
        {"$bytes": [b"a marker-shaped top level"]},
        {"zeta": ["1"], "Alpha": ["2"], "alpha": ["3"], "é": ["4"], "\U0001f600": ["5"]},
        {},
    ],
)
def test_one_serialization_gives_the_canonical_hash_and_decodes_back(
    content: dict[str, list[Any]],
) -> None:
    text, digest = json_codec.flat_content_json(content)
    canonical = json_codec.canonical_json(json_codec.encode(content))
    assert text.text.encode("utf-8") == canonical
    assert digest == hashlib.sha256(canonical).hexdigest() == json_codec.content_hash(content)
    assert json_codec.decode(json.loads(text.text)) == content


def _user(guid: str, name: str, **extra: list[Any]) -> ObservedObject:
    content: dict[str, list[Any]] = {
        "distinguishedName": [f"CN={name},CN=Users,DC=example,DC=test"],
        "sAMAccountName": [name],
        "objectSid": [EVERY_BYTE[:28]],
        "whenChanged": ["20260501120000.0Z"],
        **extra,
    }
    return ObservedObject(external_id=guid, resource_type=USER, content=content)


def _stored(sessions: Sessions) -> dict[str, tuple[DirectoryObject, list[ObjectVersion]]]:
    with sessions() as session:
        objects = session.scalars(select(DirectoryObject)).all()
        return {
            o.external_id: (
                o,
                list(
                    session.scalars(
                        select(ObjectVersion)
                        .where(ObjectVersion.object_id == o.id)
                        .order_by(ObjectVersion.version)
                    )
                ),
            )
            for o in objects
        }


def test_a_batch_stores_new_objects_and_only_significant_changes(store_sessions: Sessions) -> None:
    guids = [f"6f1c1a00-0000-4000-8000-00000000000{i}" for i in range(3)]
    batch = [_user(guids[0], "ann"), _user(guids[1], "bob"), _user(guids[2], "cy")]
    with store_sessions.begin() as session:
        counts = store_observed(session, "example.test", batch, None)
    assert (counts.new_objects, counts.new_versions, counts.unchanged) == (3, 3, 0)
    stored = _stored(store_sessions)
    ann, ann_versions = stored[guids[0]]
    assert (ann.natural_key, ann.path, ann.deleted) == (
        "ann",
        "CN=ann,CN=Users,DC=example,DC=test",
        False,
    )
    assert ann_versions[0].content == batch[0].content  # bytes back byte for byte
    assert ann_versions[0].content_hash == json_codec.content_hash(batch[0].content)

    again = [
        _user(guids[0], "ann"),  # the same
        _user(guids[1], "bob", whenChanged=["20260502000000.0Z"]),  # a volatile field only
        _user(guids[2], "cy", description=["new"]),  # a real change
        _user(guids[2], "cy", description=["newer"]),  # read twice: the last reading counts
    ]
    with store_sessions.begin() as session:
        counts = store_observed(session, "example.test", again, None)
    assert (counts.new_objects, counts.new_versions, counts.unchanged) == (0, 1, 2)
    stored = _stored(store_sessions)
    assert len(stored[guids[0]][1]) == len(stored[guids[1]][1]) == 1
    cy_versions = stored[guids[2]][1]
    assert [v.version for v in cy_versions] == [1, 2]
    assert cy_versions[1].content["description"] == ["newer"]

    renamed = _user(guids[0], "ann")
    renamed.content["distinguishedName"] = ["CN=Ann Smith,OU=Staff,DC=example,DC=test"]
    with store_sessions.begin() as session:
        store_observed(session, "example.test", [renamed], None)
    ann, ann_versions = _stored(store_sessions)[guids[0]]
    assert ann.path == "CN=Ann Smith,OU=Staff,DC=example,DC=test"
    assert [v.version for v in ann_versions] == [1, 2]


def test_values_of_an_unordered_field_in_another_order_are_no_new_version(
    store_sessions: Sessions,
) -> None:
    """The row's unordered fields (a user's servicePrincipalName) compare as sets; the order
    of an ordered one still counts."""
    guid = "6f1c1a00-0000-4000-8000-0000000000aa"
    spns = ["HTTP/web.example.test", "HOST/web"]
    first = _user(guid, "web", servicePrincipalName=spns, description=["a", "b"])
    with store_sessions.begin() as session:
        store_observed(session, "example.test", [first], None)
    reordered = _user(guid, "web", servicePrincipalName=spns[::-1], description=["a", "b"])
    with store_sessions.begin() as session:
        counts = store_observed(session, "example.test", [reordered], None)
    assert (counts.new_versions, counts.unchanged) == (0, 1)
    swapped = _user(guid, "web", servicePrincipalName=spns, description=["b", "a"])
    with store_sessions.begin() as session:
        counts = store_observed(session, "example.test", [swapped], None)
    assert (counts.new_versions, counts.unchanged) == (1, 0)


def test_read_ahead_yields_everything_in_order_and_raises_the_readers_error() -> None:
    assert list(read_ahead(lambda: iter(range(50)), depth=2)) == list(range(50))

    def failing() -> Iterator[int]:
        yield 1
        raise RuntimeError("the server went away")

    got: list[int] = []
    with pytest.raises(RuntimeError, match="went away"):
        got.extend(read_ahead(failing))
    assert got == [1]


def test_leaving_read_ahead_early_closes_the_readers_iterator() -> None:
    closed: list[bool] = []

    def pages() -> Iterator[int]:
        try:
            yield from range(1000)
        finally:
            closed.append(True)  # a paged search abandons its request here

    reader = read_ahead(pages, depth=1)
    assert next(reader) == 0
    reader.close()  # what an error or an interrupt in the consumer does
    assert closed == [True]
