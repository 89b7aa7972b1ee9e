"""A real, throwaway PostgreSQL server for tests and demos.

``with throwaway_postgres() as server: server.url`` runs ``initdb`` into a fresh temporary
directory, starts ``postgres`` listening on 127.0.0.1 only (a free port; its Unix socket inside
the temporary directory), waits until it accepts connections, and at the end stops it by its own
pid (SIGINT = PostgreSQL's "fast" shutdown) and removes the directory.

The superuser ``dirguard`` gets a generated password (SCRAM over TCP). PostgreSQL refuses to run
as root; when we are root the server runs as the ``postgres`` system user that the Debian
``postgresql`` package creates, through ``setpriv`` (which execs, so the pid we hold is the
postmaster's own).

Server binaries are looked up in ``$DIRGUARD_PG_BINDIR``, then Debian's
``/usr/lib/postgresql/<version>/bin`` (newest first), then ``pg_config --bindir``, then ``PATH``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

SERVER_BINARIES = ("initdb", "postgres", "pg_isready")
DEBIAN_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
SUPERUSER = "dirguard"


class PostgresUnavailable(RuntimeError):
    """A throwaway PostgreSQL server cannot be started here; the message says why and the fix."""


@dataclass(frozen=True, kw_only=True)
class PostgresServer:
    """A running throwaway server. ``url`` is for the ``postgres`` maintenance database."""

    host: str
    port: int
    user: str
    password: str
    pid: int
    directory: Path
    bindir: Path

    @property
    def url(self) -> str:
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=self.password,
            host=self.host,
            port=self.port,
            database=database,
        ).render_as_string(hide_password=False)

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        self._autocommit(f'CREATE DATABASE "{_identifier(name)}"')
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, closing any connections still open to it."""
        self._autocommit(f'DROP DATABASE IF EXISTS "{_identifier(name)}" WITH (FORCE)')

    def _autocommit(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(statement.encode())


def _identifier(name: str) -> str:
    if not name or not all(ch.isalnum() or ch == "_" for ch in name) or len(name) > 63:
        raise ValueError(f"database name {name!r}: use 1-63 letters, digits or underscores")
    return name


def find_bindir() -> Path:
    """The directory holding ``initdb`` and ``postgres``; :class:`PostgresUnavailable` if none."""
    candidates: list[Path] = []
    if override := os.environ.get("DIRGUARD_PG_BINDIR"):
        candidates.append(Path(override))
    if DEBIAN_ROOT.is_dir():
        versions = [p for p in DEBIAN_ROOT.iterdir() if p.name.replace(".", "").isdigit()]
        versions.sort(key=lambda p: tuple(int(x) for x in p.name.split(".")), reverse=True)
        candidates.extend(p / "bin" for p in versions)
    if pg_config := shutil.which("pg_config"):
        result = subprocess.run(
            [pg_config, "--bindir"], capture_output=True, text=True, check=False
        )
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    for candidate in candidates:
        if all(os.access(candidate / name, os.X_OK) for name in SERVER_BINARIES):
            return candidate
    looked = ", ".join(str(c) for c in candidates) or f"{DEBIAN_ROOT}/*/bin, PATH"
    raise PostgresUnavailable(
        f"PostgreSQL server binaries ({', '.join(SERVER_BINARIES)}) not found (looked in "
        f"{looked}); install them with `apt-get install postgresql` or set DIRGUARD_PG_BINDIR"
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _as_server_user(directory: Path) -> list[str]:
    """Command prefix that drops root to the ``postgres`` user (empty when not root)."""
    if os.geteuid() != 0:
        return []
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        raise PostgresUnavailable(
            "running as root, and PostgreSQL refuses to run as root, but there is no 'postgres' "
            "system user to run it as; install the Debian package 'postgresql' (creates it) or "
            "run the tests as an ordinary user"
        ) from None
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise PostgresUnavailable("running as root needs setpriv (Debian package util-linux)")
    for path in [directory, *directory.rglob("*")]:
        os.chown(path, account.pw_uid, account.pw_gid)
    return [
        setpriv,
        f"--reuid={account.pw_uid}",
        f"--regid={account.pw_gid}",
        "--clear-groups",
        "--",
    ]


def _environment(directory: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(directory),
        "LC_ALL": "C",
        "TZ": "UTC",
    }


def _log_tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _wait_until_ready(server: subprocess.Popen[bytes], bindir: Path, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if server.poll() is not None:
            raise PostgresUnavailable(
                f"postgres exited with status {server.returncode} while starting on "
                f"127.0.0.1:{port}; server log:\n{_log_tail(log)}"
            )
        probe = subprocess.run(
            [str(bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "2"],
            check=False,
        )
        if probe.returncode == 0:
            return
        if time.monotonic() > deadline:
            raise PostgresUnavailable(
                f"postgres did not accept connections on 127.0.0.1:{port} within "
                f"{START_TIMEOUT_S:.0f} s; server log:\n{_log_tail(log)}"
            )
        time.sleep(0.1)


def _stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGINT)  # fast shutdown: roll back sessions, checkpoint, exit
    try:
        server.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        server.send_signal(signal.SIGQUIT)  # immediate shutdown
        try:
            server.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@contextlib.contextmanager
def throwaway_postgres() -> Iterator[PostgresServer]:
    """Start a private PostgreSQL server on 127.0.0.1; stop it and delete its files afterwards."""
    bindir = find_bindir()
    directory = Path(tempfile.mkdtemp(prefix="dirguard-pg-"))
    try:
        yield from _run_server(bindir, directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _run_server(bindir: Path, directory: Path) -> Iterator[PostgresServer]:
    data, log, pwfile = directory / "data", directory / "server.log", directory / "pwfile"
    password = secrets.token_urlsafe(24)
    pwfile.write_text(password + "\n")
    pwfile.chmod(0o600)
    prefix = _as_server_user(directory)
    env = _environment(directory)
    init = subprocess.run(
        [
            *prefix,
            str(bindir / "initdb"),
            "--pgdata",
            str(data),
            "--username",
            SUPERUSER,
            "--pwfile",
            str(pwfile),
            "--auth-host=scram-sha-256",
            "--auth-local=peer",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    pwfile.unlink()
    if init.returncode != 0:
        raise PostgresUnavailable(
            f"initdb failed (exit {init.returncode}) in {data}: "
            f"{(init.stderr or init.stdout).strip()[-800:]}"
        )
    port = _free_port()
    with log.open("wb") as log_file:
        if prefix:
            owner = directory.stat()
            os.chown(log, owner.st_uid, owner.st_gid)
        server = subprocess.Popen(
            [
                *prefix,
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"port={port}",
                "-c",
                f"unix_socket_directories={directory}",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait_until_ready(server, bindir, port, log)
        yield PostgresServer(
            host="127.0.0.1",
            port=port,
            user=SUPERUSER,
            password=password,
            pid=server.pid,
            directory=directory,
            bindir=bindir,
        )
    finally:
        _stop(server)
