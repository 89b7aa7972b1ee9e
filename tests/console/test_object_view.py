"""The object view service on a real store (SQLite, and PostgreSQL where it runs): many objects'
states read in bulk agree with the one-object replay at every moment, links show the names of the
objects they point at (one of them only by a DN in another case), a security descriptor is SDDL
and its change between two moments a list of ACEs added and removed, and the timeline is a page
of the change search. Versions and events are written with the store's own functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.sd.dacl_edit import access_allowed_ace, dacl_descriptor
from dirguard.services.history import find_object, object_state_at
from dirguard.services.moment_states import states_at
from dirguard.services.object_view import ace_differences, object_view, side_by_side
from dirguard.store import json_codec
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import DirectoryObject, ObjectVersion

Sessions = sessionmaker[Session]
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
BASE = "OU=Staff,DC=example,DC=test"
SID_A = "S-1-5-21-1-2-3-1104"
SID_B = "S-1-5-21-1-2-3-1105"


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _object(session: Session, kind: str, name: str, n: int, content: dict[str, Any]) -> int:
    obj = DirectoryObject(
        source="ad:example.test",
        resource_type=kind,
        external_id=f"0b6c2b56-0000-4000-8000-{n:012d}",
        natural_key=name,
        path=f"CN={name},{BASE}",
    )
    session.add(obj)
    session.flush()
    session.add(
        ObjectVersion(
            object_id=obj.id,
            version=1,
            captured_at=T0,
            content={"distinguishedName": [f"CN={name},{BASE}"], **content},
            content_hash="x",
        )
    )
    return obj.id


def _store(sessions: Sessions) -> dict[str, int]:
    sd_before = dacl_descriptor([access_allowed_ace(SID_A, 0x20094)])
    sd_after = dacl_descriptor(
        [access_allowed_ace(SID_A, 0x20094), access_allowed_ace(SID_B, 0x10)]
    )
    with sessions.begin() as session:
        ids = {
            "ada": _object(session, "ad.user", "ada", 1, {"description": ["new hire"]}),
            "bob": _object(session, "ad.user", "bob", 2, {}),
        }
        ids["staff"] = _object(
            session,
            "ad.group",
            "staff",
            3,
            {"member": [f"CN=ada,{BASE}"], "nTSecurityDescriptor": [sd_before]},
        )
        append_events(
            session,
            [
                NewChangeEvent(
                    object_id=ids["ada"], op=ChangeOp.MODIFY, attribute="description",
                    old_value=["new hire"], new_value=["engineer"], observed_at=_at(5),
                    actor="EXAMPLE\\pat",
                ),
                NewChangeEvent(
                    object_id=ids["staff"], op=ChangeOp.ADD_VALUE, attribute="member",
                    new_value=f"cn=BOB,{BASE.lower()}", observed_at=_at(6),
                ),
                NewChangeEvent(
                    object_id=ids["staff"], op=ChangeOp.MODIFY, attribute="nTSecurityDescriptor",
                    old_value=[sd_before], new_value=[sd_after], observed_at=_at(7),
                ),
                NewChangeEvent(
                    object_id=ids["bob"], op=ChangeOp.DELETE, observed_at=_at(9),
                    new_value="CN=bob\\0ADEL:x,CN=Deleted Objects,DC=example,DC=test",
                ),
            ],
        )  # fmt: skip
    return ids


def test_bulk_states_agree_with_the_one_object_replay(store_sessions: Sessions) -> None:
    ids = _store(store_sessions)
    with store_sessions() as session:
        for minutes in (-1, 0, 5, 6.5, 7, 10):
            bulk = states_at(session, list(ids.values()), _at(minutes))
            for name, object_id in ids.items():
                single = object_state_at(session, find_object(session, name), _at(minutes))
                expected = None if single is None else json_codec.decode(single.attributes)
                assert bulk[object_id] == expected, (name, minutes)


def test_object_view_names_links_and_pages_its_timeline(store_sessions: Sessions) -> None:
    ids = _store(store_sessions)
    with store_sessions() as session:
        view = object_view(session, ids["staff"], _at(8), history_limit=1)
    attributes = {a.name: a for a in view.attributes}
    members = attributes["member"].links
    assert sorted((m.name, m.object_id) for m in members) == [
        ("ada", ids["ada"]),
        ("bob", ids["bob"]),  # stored in another case: matched all the same
    ]
    assert attributes["nTSecurityDescriptor"].values[0].startswith("D:")
    assert SID_B in attributes["nTSecurityDescriptor"].values[0]
    assert view.exists and len(view.history.rows) == 1 and view.history.next_cursor
    assert view.history.rows[0].view.attribute == "nTSecurityDescriptor"  # newest first
    with store_sessions() as session:
        gone = object_view(session, ids["bob"], _at(10))
    assert not gone.exists


def test_two_moments_side_by_side(store_sessions: Sessions) -> None:
    ids = _store(store_sessions)
    with store_sessions() as session:
        compared = side_by_side(session, ids["staff"], _at(1), _at(8))
    rows = {r.name: r for r in compared.rows}
    assert rows["member"].changed and rows["member"].added == (f"cn=BOB,{BASE.lower()}",)
    assert not rows["distinguishedName"].changed
    aces = rows["nTSecurityDescriptor"].ace_changes
    assert len(aces) == 1 and aces[0].startswith("DACL + (A;;") and SID_B in aces[0]
    with store_sessions() as session:
        ada = side_by_side(session, ids["ada"], _at(1), _at(8))
    (description,) = [r for r in ada.rows if r.name == "description"]
    assert (description.before, description.after) == (("new hire",), ("engineer",))


def test_ace_differences_read_sddl_text_too() -> None:
    before = "O:DAG:DUD:P(A;;RP;;;AU)(A;;GA;;;DA)"
    after = "O:SYG:DUD:P(A;;GA;;;DA)(A;;WP;;;S-1-5-21-1-2-3-1104)"
    assert ace_differences(before, after) == [
        "owner: DA -> SY",
        "DACL - (A;;RP;;;AU)",
        "DACL + (A;;WP;;;S-1-5-21-1-2-3-1104)",
    ]
