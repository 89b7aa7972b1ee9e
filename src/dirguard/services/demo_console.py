"""``dirguard demo --keep``: the console on the demo's directories while they keep running.

A configuration naming the demo's store, its secrets and every directory the demo started is
written to the demo's directory; a local console administrator ``demo`` is made with a fresh
password (shown once, by the caller); ``dirguard serve --monitor`` runs on it as a child process
on a free loopback port, so changes made while it runs are captured and shown. Leaving the block
stops that child by its own pid.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dirguard.config.loader import load_config
from dirguard.services.errors import Problem, ServiceError

START_TIMEOUT_S = 90.0
ACCOUNT = "demo"
READY = "dirguard console on "


@dataclass(frozen=True, kw_only=True)
class DemoConsole:
    url: str
    account: str
    password: str
    pid: int
    config_file: Path


def free_port(preferred: int = 8443) -> int:
    """``preferred`` when nothing listens there on loopback, else a free port."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise ServiceError("no free TCP port on 127.0.0.1 for the console", Problem.UNAVAILABLE)


def write_config(directory: Path, store_url: str, sections: list[str]) -> Path:
    """The demo's configuration: its store, secrets kept in ``directory``, the console on a
    free port and the directories' sections (``[[ad.domains]]``, ``[[entra.tenants]]``)."""
    path = directory / "dirguard-demo.toml"
    path.write_text(
        f'[store]\nurl = "{store_url}"\n\n'
        f'[secrets]\nkey_file = "{directory / "secret.key"}"\n'
        f'store_file = "{directory / "secrets.json"}"\n\n'
        f"[web]\nport = {free_port()}\n\n" + "\n".join(sections),
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def _add_account(config_file: Path, actor: str) -> str:
    from dirguard.config.secret_store import SecretStore
    from dirguard.services.console.accounts import LocalAccounts
    from dirguard.services.console.roles import Role
    from dirguard.services.runtime import open_runtime

    config = load_config(config_file).config
    password = secrets.token_urlsafe(15)
    with open_runtime(config, actor) as runtime:
        accounts = LocalAccounts(
            runtime.sessions,
            runtime.clock,
            SecretStore(config.secrets.key_file, config.secrets.store_file),
        )
        accounts.add(ACCOUNT, Role.parse("administrator"), password, by=actor)
    return password


@contextlib.contextmanager
def demo_console(config_file: Path, actor: str) -> Iterator[DemoConsole]:
    """``dirguard serve --monitor`` on ``config_file`` until the block ends."""
    password = _add_account(config_file, actor)
    log = config_file.with_name("console.log")
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "dirguard", "--config", str(config_file), "serve", "--monitor"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            start_new_session=True,
        )
    try:
        url = _wait_ready(process, log)
        yield DemoConsole(
            url=url, account=ACCOUNT, password=password, pid=process.pid, config_file=config_file
        )
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                process.wait()


def _wait_ready(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = log.read_text(encoding="utf-8", errors="replace")
        if READY in text:
            return text.split(READY, 1)[1].split()[0]
        if process.poll() is not None:
            raise ServiceError(
                f"dirguard serve exited ({process.returncode}): {text[-500:]}", Problem.FAILURE
            )
        time.sleep(0.2)
    raise ServiceError(f"dirguard serve did not start within {START_TIMEOUT_S:.0f} s")
