"""SQLite's WAL checkpoints run on a thread after the commits, not inside them."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import time
from pathlib import Path

from sqlalchemy import insert

from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.models import AuditRecord
from dirguard.store.wal_checkpoint import BACKSTOP_PAGES, WAKE_BYTES

WAIT_S = 30.0


def _rows_in_database_file(path: Path, copy: Path) -> int:
    """The audit rows the database file itself holds, without its log (copied alone; 0 while
    not even the schema is there, or the copy caught a checkpoint half-way)."""
    shutil.copyfile(path, copy)
    with contextlib.closing(sqlite3.connect(copy)) as db:
        try:
            return int(db.execute("SELECT count(*) FROM audit_log").fetchone()[0])
        except sqlite3.DatabaseError:
            return 0


def test_a_large_commit_reaches_the_database_file_by_the_checkpoint_thread(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        upgrade(engine)
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == (
                BACKSTOP_PAGES
            )
        sessions = session_factory(engine)
        rows = [
            {
                "actor": "ada",
                "action": "bulk",
                "outcome": "ok",
                "details": {"n": i, "pad": "x" * 400},
            }
            for i in range(12_000)
        ]
        with sessions.begin() as session:
            session.execute(insert(AuditRecord), rows)
        wal = path.with_name(path.name + "-wal").stat().st_size
        # Past the thread's threshold, well short of the connections' own backstop: only the
        # thread can have moved the rows into the database file.
        assert WAKE_BYTES <= wal < BACKSTOP_PAGES * 4096
        deadline = time.monotonic() + WAIT_S
        found = _rows_in_database_file(path, tmp_path / "copy.db")
        while found < len(rows) and time.monotonic() < deadline:
            time.sleep(0.05)
            found = _rows_in_database_file(path, tmp_path / "copy.db")
        assert found == len(rows)
        with sessions() as session:  # the store reads them as before
            assert session.query(AuditRecord).count() == len(rows)
    finally:
        engine.dispose()
