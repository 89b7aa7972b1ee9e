"""``dirguard changes`` runs on the change search: the new filters (type, address, operation,
free text, exclusions, limit) on a real SQLite store written with the store's own functions,
the same JSON as before, and a bad filter value named with exit code 1 or 2."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dirguard.core.change_op import ChangeOp
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import DirectoryObject
from tests.rollback.accounts import cli_runner


def _store(path: Path) -> str:
    url = f"sqlite:///{path}"
    engine = create_engine_for(url)
    upgrade(engine)
    sessions: sessionmaker[Session] = session_factory(engine)
    with sessions.begin() as session:
        ids = []
        for n, (kind, name) in enumerate((("ad.user", "ada"), ("ad.group", "staff"))):
            obj = DirectoryObject(
                source="ad:example.test",
                resource_type=kind,
                external_id=f"0b6c2b56-0000-4000-8000-00000000000{n}",
                natural_key=name,
                path=f"CN={name},DC=example,DC=test",
            )
            session.add(obj)
            session.flush()
            ids.append(obj.id)
        append_events(
            session,
            [
                NewChangeEvent(
                    object_id=ids[0],
                    op=ChangeOp.MODIFY,
                    attribute="title",
                    new_value=["Boss"],
                    actor="EXAMPLE\\pat",
                    actor_address="10.1.1.1",
                ),
                NewChangeEvent(
                    object_id=ids[1],
                    op=ChangeOp.ADD_VALUE,
                    attribute="member",
                    new_value="CN=ada,DC=example,DC=test",
                    actor="EXAMPLE\\rogue",
                    actor_address="10.6.6.6",
                ),
                NewChangeEvent(
                    object_id=ids[1],
                    op=ChangeOp.REMOVE_VALUE,
                    attribute="member",
                    old_value="CN=bob,DC=example,DC=test",
                    actor="EXAMPLE\\rogue",
                    actor_address="10.6.6.6",
                ),
            ],
        )
    engine.dispose()
    return url


def test_changes_takes_the_new_filters(tmp_path: Path) -> None:
    url = _store(tmp_path / "store.db")
    config = tmp_path / "dirguard.toml"
    config.write_text(f'[store]\nurl = "{url}"\n', encoding="utf-8")
    run = cli_runner(config, {})

    def names(*args: str) -> list[Any]:
        return [(c["object"]["name"], c["op"]) for c in run("changes", *args)["changes"]]

    assert names() == [("ada", "modify"), ("staff", "add-value"), ("staff", "remove-value")]
    assert names("--type", "ad.group", "--op", "remove-value") == [("staff", "remove-value")]
    assert names("--address", "10.1.1.1") == [("ada", "modify")]
    assert names("--text", "boss") == [("ada", "modify")]
    assert names("--exclude", "actor=rogue") == [("ada", "modify")]
    assert names("--exclude", "op=add-value", "--exclude", "type=ad.user") == [
        ("staff", "remove-value")
    ]
    assert names("--limit", "1") == [("ada", "modify")]
    (first,) = run("changes", "--limit", "1")["changes"]
    assert first["actor"] == "EXAMPLE\\pat" and first["actor_address"] == "10.1.1.1"
    assert first["new"] == ["Boss"] and first["sequence"] == 1
    assert "id" not in first  # the CLI's JSON is what it was

    bad = run("changes", "--op", "explode", code=1, as_json=False)
    assert "op: 'explode' is not one of" in bad.output
    worse = run("changes", "--exclude", "colour=red", code=2, as_json=False)
    assert "FIELD=VALUE" in worse.output
    table = run("changes", "--actor", "rogue", as_json=False)
    assert "staff" in table.output and "Boss" not in table.output
