"""A real ``dirguard serve`` process on loopback, configured by a file like a user's."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

DIRGUARD = Path(sys.executable).with_name("dirguard")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True, kw_only=True)
class ServedConsole:
    url: str
    cert: Path
    """The self-signed certificate dirguard made (browsers and clients check against it)."""
    process: subprocess.Popen[str]
    log: Path

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))


def console_config(directory: Path, port: int, extra_toml: str = "") -> Path:
    """The configuration file the served console reads (store and secrets in ``directory``)."""
    config = directory / "dirguard.toml"
    config.write_text(
        f"""
[store]
url = "sqlite:///{directory / "store.db"}"
checkpoint_file = "{directory / "checkpoints.jsonl"}"

[secrets]
key_file = "{directory / "secret.key"}"
store_file = "{directory / "secrets.json"}"

[web]
port = {port}
{extra_toml}
""",
        encoding="utf-8",
    )
    return config


@contextmanager
def served_console(
    directory: Path,
    port: int,
    extra_toml: str = "",
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = (),
) -> Iterator[ServedConsole]:
    """Start ``dirguard serve`` (HTTPS, generated certificate) and stop it with SIGTERM after;
    it must then exit 0."""
    config = console_config(directory, port, extra_toml)
    environment = {
        **os.environ,
        "DIRGUARD_CONFIG": str(config),
        "XDG_DATA_HOME": str(directory / "data"),
        "XDG_CONFIG_HOME": str(directory / "config"),
        **(env or {}),
    }
    log = directory / "serve.log"
    with log.open("w", encoding="utf-8") as output:
        process = subprocess.Popen(
            [str(DIRGUARD), "-v", "serve", *args],
            env=environment,
            stdout=output,
            stderr=output,
            text=True,
        )
    cert = directory / "data" / "dirguard" / "console-tls" / "console-cert.pem"
    url = f"https://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise AssertionError(f"dirguard serve exited: {log.read_text()}")
            if cert.is_file():
                try:
                    ready = httpx.get(
                        f"{url}/api/v1/health",
                        verify=ssl.create_default_context(cafile=str(cert)),
                    )
                    if ready.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
            if time.monotonic() > deadline:
                raise AssertionError(f"dirguard serve did not answer: {log.read_text()}")
            time.sleep(0.2)
        yield ServedConsole(url=url, cert=cert, process=process, log=log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert code == 0, f"dirguard serve exited {code} after SIGTERM: {log.read_text()}"
