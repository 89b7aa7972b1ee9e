"""Opening the store: SQLite defaults (WAL, directories), PostgreSQL URLs, clear errors."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

import pytest

from dirguard.store.database import (
    StoreUnavailable,
    StoreUrlError,
    create_engine_for,
    current_revision,
    default_sqlite_url,
    masked,
    upgrade,
)


def test_sqlite_store_is_created_with_its_directory_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "dirguard.db"
    engine = create_engine_for(f"sqlite:///{path}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    # Checked with the plain sqlite3 module: WAL is a property of the file itself.
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sqlite_connections_enforce_foreign_keys_and_wait_for_locks(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        engine.dispose()


def test_home_relative_sqlite_path_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    engine = create_engine_for("sqlite:///~/stores/dirguard.db")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    assert (tmp_path / "stores" / "dirguard.db").is_file()


def test_default_url_follows_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_sqlite_url() == f"sqlite:///{tmp_path / 'data' / 'dirguard' / 'dirguard.db'}"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    expected = tmp_path / ".local" / "share" / "dirguard" / "dirguard.db"
    assert default_sqlite_url() == f"sqlite:///{expected}"


@pytest.mark.parametrize("scheme", ["postgresql", "postgresql+psycopg", "postgres"])
def test_postgresql_urls_use_psycopg(scheme: str) -> None:
    engine = create_engine_for(f"{scheme}://dirguard@db.example/dirguard")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


@pytest.mark.parametrize(
    ("url", "named"),
    [("mysql://u:p@h/db", "'mysql'"), ("postgresql+psycopg2://u@h/db", "'postgresql+psycopg2'")],
)
def test_unsupported_scheme_names_it_and_the_supported_ones(url: str, named: str) -> None:
    with pytest.raises(StoreUrlError) as raised:
        create_engine_for(url)
    message = str(raised.value)
    assert f"unsupported store URL scheme {named}" in message
    assert "sqlite" in message and "postgresql" in message


def test_unparsable_url_is_refused_without_repeating_it() -> None:
    with pytest.raises(StoreUrlError, match="not a database URL") as raised:
        create_engine_for("just:S3cretPassw0rd")
    assert "S3cretPassw0rd" not in str(raised.value)


def test_unreachable_postgresql_is_reported_without_the_password() -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://dirguard:S3cretPassw0rd@127.0.0.1:{port}/dirguard"
    engine = create_engine_for(url)
    try:
        with pytest.raises(StoreUnavailable) as raised:
            current_revision(engine)
    finally:
        engine.dispose()
    message = str(raised.value)
    assert f"cannot use the store at postgresql+psycopg://dirguard:***@127.0.0.1:{port}" in message
    assert "S3cretPassw0rd" not in message
    assert masked(url) == f"postgresql://dirguard:***@127.0.0.1:{port}/dirguard"


def test_unwritable_sqlite_directory_is_reported(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable, match="cannot create the directory"):
        create_engine_for(f"sqlite:///{blocker / 'sub' / 'dirguard.db'}")
