"""The throwaway PostgreSQL server: loopback only, password required, gone afterwards."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import psycopg
import pytest

from tests.fixtures import postgres_server
from tests.fixtures.postgres_server import PostgresUnavailable, throwaway_postgres
from tests.fixtures.requirements import unavailable


@pytest.mark.postgres
def test_server_listens_on_loopback_only_and_is_removed_afterwards() -> None:
    try:
        with throwaway_postgres() as server:
            with psycopg.connect(server.url.replace("+psycopg", "")) as connection:
                row = connection.execute("SHOW listen_addresses").fetchone()
                assert row == ("127.0.0.1",)
            with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
                psycopg.connect(
                    host=server.host, port=server.port, user=server.user, password="wrong"
                ).close()
            pid, port, directory = server.pid, server.port, server.directory
    except PostgresUnavailable as error:
        unavailable("postgres", str(error))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))
    assert not directory.exists()


def test_missing_server_binaries_are_named_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A machine without PostgreSQL: no Debian directory, nothing on PATH, no override.
    monkeypatch.setattr(postgres_server, "DEBIAN_ROOT", tmp_path / "usr-lib-postgresql")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("DIRGUARD_PG_BINDIR", raising=False)
    with pytest.raises(PostgresUnavailable, match="apt-get install postgresql"):
        postgres_server.find_bindir()
