"""``dirguard db verify`` finds what was done to the recorded history behind dirguard's back,
editing the SQLite file directly: an event changed, an event removed, the tail cut off, and a
history rewritten with every digest recomputed (which the chain alone cannot show, but the
signed checkpoint written before can); a forged checkpoint line is refused too."""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.core.change_op import ChangeOp
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.events import NewChangeEvent, append_events, event_digest
from dirguard.store.models import ChangeEvent, DirectoryObject

SOURCES = ("ad:corp.example", "entra:contoso")
EVENTS = 10


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, Path]:
    """A configuration over a fresh SQLite store holding two chains of ``EVENTS`` events."""
    return _store(tmp_path, "store", f'checkpoint_file = "{tmp_path / "cp.jsonl"}"\n')


def _store(tmp_path: Path, name: str, store_lines: str = "") -> tuple[Path, Path]:
    db = tmp_path / f"{name}.db"
    config = tmp_path / f"{name}.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{db}"\n{store_lines}'
        f'[secrets]\nkey_file = "{tmp_path / "secret.key"}"\n'
        f'store_file = "{tmp_path / "secrets.json"}"\n',
        encoding="utf-8",
    )
    engine = create_engine_for(f"sqlite:///{db}")
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        for source in SOURCES:
            obj = DirectoryObject(
                source=source, resource_type="ad.group", external_id=str(uuid.uuid4())
            )
            session.add(obj)
            session.flush()
            append_events(
                session,
                [
                    NewChangeEvent(
                        object_id=obj.id,
                        op=ChangeOp.ADD_VALUE,
                        attribute="member",
                        new_value=f"m{n}",
                    )
                    for n in range(EVENTS)
                ],
            )
    engine.dispose()
    return config, db


def _cli(config: Path) -> Callable[..., tuple[int, Any]]:
    def run(*args: str) -> tuple[int, Any]:
        result = CliRunner().invoke(app, ["--config", str(config), "db", *args, "--json"])
        return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None

    return run


def _chain(report: dict[str, Any], source: str) -> dict[str, Any]:
    [chain] = [c for c in report["chains"] if c["source"] == source]
    return chain


def _sql(db: Path, statement: str, *params: Any) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute(statement, params)


def test_an_untouched_store_verifies_with_its_checkpoints(store: tuple[Path, Path]) -> None:
    run = _cli(store[0])
    code, report = run("verify")
    assert code == 0 and report["ok"]
    assert {c["source"]: c["checkpoint"] for c in report["chains"]} == dict.fromkeys(SOURCES)
    code, written = run("checkpoint")
    assert code == 0
    assert sorted((c["source"], c["sequence"]) for c in written["checkpoints"]) == [
        (s, EVENTS) for s in SOURCES
    ]
    code, report = run("verify")
    assert code == 0 and report["ok"], report
    assert [c["checkpoint"]["sequence"] for c in report["chains"]] == [EVENTS, EVENTS]


def test_a_changed_event_is_named(store: tuple[Path, Path]) -> None:
    config, db = store
    _sql(
        db,
        "UPDATE change_events SET new_value = ? WHERE source = ? AND sequence = 4",
        json.dumps("forged"),
        SOURCES[0],
    )
    code, report = _cli(config)("verify")
    assert code == 1 and not report["ok"]
    assert _chain(report, SOURCES[0])["first_broken"] == 4
    assert _chain(report, SOURCES[1])["ok"]


def test_a_removed_event_is_named(store: tuple[Path, Path]) -> None:
    config, db = store
    _sql(db, "DELETE FROM change_events WHERE source = ? AND sequence = 6", SOURCES[1])
    code, report = _cli(config)("verify")
    assert code == 1
    assert _chain(report, SOURCES[1])["first_broken"] == 7


def test_a_cut_tail_is_found_by_the_checkpoint(store: tuple[Path, Path]) -> None:
    config, db = store
    run = _cli(config)
    assert run("checkpoint")[0] == 0
    _sql(db, "DELETE FROM change_events WHERE source = ? AND sequence > 7", SOURCES[0])
    code, report = run("verify")
    assert code == 1
    chain = _chain(report, SOURCES[0])
    assert chain["first_broken"] is None, "the chain alone still looks whole"
    assert "ends at event 7" in chain["problems"][0]
    assert "events were removed from its end" in chain["problems"][0]


def test_a_rewritten_and_rechained_history_is_found_by_the_checkpoint(
    store: tuple[Path, Path],
) -> None:
    config, db = store
    run = _cli(config)
    assert run("checkpoint")[0] == 0
    engine = create_engine_for(f"sqlite:///{db}")
    sessions = session_factory(engine)
    with sessions.begin() as session:
        rows = (
            session.query(ChangeEvent).filter_by(source=SOURCES[1]).order_by(ChangeEvent.sequence)
        )
        prev = None
        for event in rows:
            if event.sequence == 3:
                event.new_value = "forged"
            event.prev_digest = prev
            event.digest = event_digest(event, prev)
            prev = event.digest
    engine.dispose()
    code, report = run("verify")
    assert code == 1
    chain = _chain(report, SOURCES[1])
    assert chain["first_broken"] is None, "every digest was recomputed"
    assert f"event {EVENTS} does not carry the digest" in chain["problems"][0]
    assert _chain(report, SOURCES[0])["ok"]


def test_a_forged_checkpoint_is_refused(store: tuple[Path, Path], tmp_path: Path) -> None:
    config, _ = store
    run = _cli(config)
    assert run("checkpoint")[0] == 0
    path = tmp_path / "cp.jsonl"
    [first, *rest] = path.read_text(encoding="utf-8").splitlines()
    record = json.loads(first)
    record["sequence"] = 3
    path.write_text("\n".join([json.dumps(record), *rest, "not json"]) + "\n", encoding="utf-8")
    code, report = run("verify")
    assert code == 1
    assert any("line 1: the signature does not verify" in p for p in report["problems"])
    assert any("line 3: not JSON" in p for p in report["problems"])


def test_two_stores_beside_each_other_keep_their_own_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two configurations that set no ``checkpoint_file`` (a demo's store and the real one, say)
    in one data directory and with one secret store: each store's checkpoints go to a file of
    its own, so neither reads the other's chain heads as its own history rewritten."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    first, first_db = _store(tmp_path, "first")
    second, second_db = _store(tmp_path, "second")
    for config in (first, second):
        code, made = _cli(config)("checkpoint")
        assert code == 0 and len(made["checkpoints"]) == len(SOURCES)
    assert made["checkpoint_file"] == str(second_db) + ".chain-checkpoints.jsonl"
    for config in (first, second):
        code, report = _cli(config)("verify")
        assert code == 0, report
        assert all(chain["checkpoint"] for chain in report["chains"])
    _sql(first_db, "DELETE FROM change_events WHERE sequence = ?", EVENTS)
    code, report = _cli(first)("verify")
    assert code == 1  # the first store's own checkpoint still finds its cut tail
    assert _cli(second)("verify")[0] == 0
