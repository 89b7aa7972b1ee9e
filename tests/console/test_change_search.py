"""The change search service on a real store (SQLite, and PostgreSQL where it runs): every filter
field with include and exclude, the time window, free text, keyset pages that neither skip nor
repeat a row in either direction, the live "newer than" query, the export streams and saved
searches. Events are written with the store's own functions at chosen moments."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dirguard.core.change_op import ChangeOp
from dirguard.services import change_export, saved_searches
from dirguard.services.change_filter import ChangeFilter, FilterError
from dirguard.services.change_search import every_row, newer_than, search
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import DirectoryObject

Sessions = sessionmaker[Session]
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _object(session: Session, source: str, kind: str, name: str, n: int) -> int:
    obj = DirectoryObject(
        source=source,
        resource_type=kind,
        external_id=f"0b6c2b56-0000-4000-8000-{n:012d}",
        natural_key=name,
        path=f"CN={name},OU=Staff,DC=example,DC=test",
    )
    session.add(obj)
    session.flush()
    return obj.id


@pytest.fixture
def store(store_sessions: Sessions) -> Sessions:
    """Two directories, three objects, 30 events: ada's description by CORP\\pat every minute
    (0..19), bob's membership changes by CORP\\rogue from 10.0.0.9 (20..27), two unknown-actor
    changes in the tenant (28, 29)."""
    with store_sessions.begin() as session:
        ada = _object(session, "ad:example.test", "ad.user", "ada", 1)
        bob = _object(session, "ad:example.test", "ad.group", "bob", 2)
        app = _object(session, "entra:contoso", "entra.application", "payroll", 3)
        drafts = [
            NewChangeEvent(
                object_id=ada,
                op=ChangeOp.MODIFY,
                attribute="description",
                old_value=[f"text {i - 1}"],
                new_value=[f"text {i}"],
                actor="CORP\\pat",
                actor_address="10.0.0.5",
                observed_at=_at(i),
            )
            for i in range(20)
        ]
        drafts += [
            NewChangeEvent(
                object_id=bob,
                op=ChangeOp.ADD_VALUE if i % 2 else ChangeOp.REMOVE_VALUE,
                attribute="member",
                new_value=f"CN=user{i},DC=example,DC=test",
                actor="CORP\\rogue",
                actor_address="10.0.0.9",
                observed_at=_at(i),
            )
            for i in range(20, 28)
        ]
        drafts += [
            NewChangeEvent(
                object_id=app,
                op=ChangeOp.MODIFY,
                attribute="displayName",
                new_value="Payroll Disabled" if i == 29 else "Payroll",
                occurred_at=_at(i - 0.5),
                observed_at=_at(i + 60),
            )
            for i in (28, 29)
        ]
        append_events(session, drafts)
    return store_sessions


def _ids(sessions: Sessions, change_filter: ChangeFilter, **options: object) -> list[int]:
    with sessions() as session:
        return [r.view.sequence for r in every_row(session, change_filter, batch=7)]


def _names(sessions: Sessions, **values: object) -> list[str | None]:
    with sessions() as session:
        rows = every_row(session, ChangeFilter.of(**values))  # type: ignore[arg-type]
        return [f"{r.view.object['name']}:{r.view.sequence}" for r in rows]


def test_each_field_includes_and_excludes(store: Sessions) -> None:
    assert len(_names(store)) == 30
    assert len(_names(store, directory="example.test")) == 28
    assert _names(store, directory="contoso") == ["payroll:1", "payroll:2"]
    assert len(_names(store, not_directory="contoso")) == 28
    assert len(_names(store, object="ada")) == 20
    assert len(_names(store, not_object="ada", not_directory="contoso")) == 8
    assert len(_names(store, type="ad.group")) == 8
    assert len(_names(store, not_type=["ad.group", "ad.user"])) == 2
    assert len(_names(store, attribute="MEMBER")) == 8  # any case
    assert len(_names(store, actor="rogue")) == 8  # the account in any domain
    assert len(_names(store, actor="corp\\PAT")) == 20
    assert _names(store, actor="(unknown)") == ["payroll:1", "payroll:2"]
    assert len(_names(store, not_actor="(unknown)")) == 28
    assert len(_names(store, not_actor="CORP\\pat")) == 10  # unknown actors are kept
    assert len(_names(store, address="10.0.0.9")) == 8
    assert len(_names(store, not_address="10.0.0.9")) == 22
    assert len(_names(store, op="add-value")) == 4
    assert _names(store, directory="nowhere") == []


def test_window_text_and_the_timeline_order(store: Sessions) -> None:
    # the tenant's changes occurred at 27.5 and 28.5 though observed an hour later: the timeline
    # places them where they occurred, between bob's last changes
    got = _names(store, since=_at(26), until=_at(28.5))
    assert got == ["bob:27", "bob:28", "payroll:1", "payroll:2"]
    assert _names(store, text="disabled") == ["payroll:2"]
    assert _names(store, text="user21 example") == ["bob:22"]
    assert _names(store, text="text 19") == ["ada:20"]


def test_pages_cover_everything_once_in_both_directions(store: Sessions) -> None:
    with store() as session:
        seen: list[int] = []
        page = search(session, ChangeFilter(), limit=7)
        pages = [page]
        while page.next_cursor:
            page = search(session, ChangeFilter(), cursor=page.next_cursor, limit=7)
            pages.append(page)
        for p in pages:
            seen += [r.event_id for r in p.rows]
        assert len(seen) == 30 and len(set(seen)) == 30
        assert [len(p.rows) for p in pages] == [7, 7, 7, 7, 2]
        assert pages[0].prev_cursor is None
        # back from the last page: the one before it, same rows, same order
        back = search(session, ChangeFilter(), cursor=pages[-1].prev_cursor, limit=7)
        assert [r.event_id for r in back.rows] == [r.event_id for r in pages[-2].rows]
        assert back.next_cursor is not None
        first = search(session, ChangeFilter(), limit=7, order="oldest")
        assert first.rows[0].view.sequence == 1 and first.rows[0].view.object["name"] == "ada"


def test_a_bad_value_names_its_field() -> None:
    with pytest.raises(FilterError) as bad:
        ChangeFilter.from_params([("since", "yesterday")])
    assert bad.value.field == "since"
    with pytest.raises(FilterError) as bad:
        ChangeFilter.from_params([("op", "explode")])
    assert bad.value.field == "op"
    with pytest.raises(FilterError) as bad:
        ChangeFilter.of(since=_at(5), until=_at(1))
    assert bad.value.field == "until"


def test_a_bad_cursor_and_limit_name_their_field(store: Sessions) -> None:
    with store() as session:
        with pytest.raises(FilterError) as bad:
            search(session, ChangeFilter(), cursor="garbage!")
        assert bad.value.field == "cursor"
        with pytest.raises(FilterError) as bad:
            search(session, ChangeFilter(), limit=0)
        assert bad.value.field == "limit"


def test_include_and_exclude_from_a_row_value() -> None:
    base = ChangeFilter.of(actor="CORP\\pat")
    narrowed = base.including("attribute", "member").excluding("actor", "CORP\\pat")
    assert narrowed.include == {"attribute": ("member",)}
    assert narrowed.exclude == {"actor": ("CORP\\pat",)}
    again = ChangeFilter.from_params(narrowed.params())
    assert again == narrowed
    assert ChangeFilter.from_dict(narrowed.as_dict()) == narrowed


def test_newer_than_gives_what_was_stored_after_an_event(store: Sessions) -> None:
    with store() as session:
        everything = newer_than(session, ChangeFilter(), 0, limit=100)
        assert len(everything) == 30
        mark = everything[24].event_id
        later = newer_than(session, ChangeFilter.of(actor="(unknown)"), mark)
        assert [r.view.object["name"] for r in later] == ["payroll", "payroll"]
        assert newer_than(session, ChangeFilter(), everything[-1].event_id) == []


def test_exports_stream_the_whole_filter(store: Sessions) -> None:
    wanted = ChangeFilter.of(actor="rogue")
    with store() as session:
        text = "".join(change_export.csv_lines(session, wanted, batch=3))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 8
    assert rows[0]["actor"] == "CORP\\rogue" and rows[0]["attribute"] == "member"
    assert rows[0]["new"] == "CN=user20,DC=example,DC=test"
    with store() as session:
        data = json.loads("".join(change_export.json_chunks(session, wanted, batch=3)))
    assert [c["sequence"] for c in data["changes"]] == list(range(21, 29))
    assert data["filter"] == {"actor": ["rogue"]}


def test_saved_searches_are_private_unless_shared(store: Sessions) -> None:
    wanted = ChangeFilter.of(actor="rogue", not_op="delete")
    with store.begin() as session:
        mine = saved_searches.save(session, owner="ann", name="rogue", change_filter=wanted)
        saved_searches.save(session, owner="ann", name="team", change_filter=wanted, shared=True)
    with store() as session:
        assert [s.name for s in saved_searches.visible(session, "ann")] == ["rogue", "team"]
        assert [s.name for s in saved_searches.visible(session, "ben")] == ["team"]
        assert saved_searches.get(session, mine.id, "ann").change_filter == wanted
        with pytest.raises(saved_searches.SavedSearchError):
            saved_searches.get(session, mine.id, "ben")
    with store.begin() as session:
        with pytest.raises(saved_searches.SavedSearchError):
            saved_searches.delete(session, mine.id, "ben")  # not ben's
        saved_searches.delete(session, mine.id, "ann")
    with store() as session:
        assert [s.name for s in saved_searches.visible(session, "ann")] == ["team"]
