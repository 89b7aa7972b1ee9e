"""Serving the sandbox over TLS on loopback: in the foreground (``serve``) or in a background
thread (the test fixture), on a socket bound before the server starts so the port is known."""

from __future__ import annotations

import asyncio
import secrets
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn

from dirguard_sandbox.app import build_app
from dirguard_sandbox.certificates import TlsFiles, write_tls_files
from dirguard_sandbox.directory_state import DirectoryState
from dirguard_sandbox.fault_injection import AUDIT_LATENCY_PATH, DELTA_EXPIRY_PATH
from dirguard_sandbox.permissions_table import APPLICATION_PERMISSIONS


@dataclass(frozen=True, kw_only=True)
class SandboxInfo:
    """Everything a person or a script needs to connect at once."""

    tenant_id: str
    login_base: str
    graph_base: str
    ca_file: Path
    full_client_id: str
    full_client_secret: str
    read_only_client_id: str
    read_only_client_secret: str
    admin_user_principal_name: str
    admin_password: str
    admin_key: str = ""
    audit_latency: float | str = 0.0
    """How late directoryAudits appear: seconds, or ``"realistic"`` (``audit_latency.py``)."""
    """Opens the fault injection control at ``{login_base}/_sandbox/faults`` (and the switch that
    expires every delta token, ``{login_base}/_sandbox/faults/delta-token-expiry``), the outbox of
    sent mail (``users/{id}/sendMail``, invitation messages) at ``{login_base}/_sandbox/outbox``."""

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "audit_latency": self.audit_latency,
            "login_base": self.login_base,
            "graph_base": self.graph_base,
            "ca_file": str(self.ca_file),
            "apps": {
                "full": {
                    "client_id": self.full_client_id,
                    "client_secret": self.full_client_secret,
                },
                "read_only": {
                    "client_id": self.read_only_client_id,
                    "client_secret": self.read_only_client_secret,
                },
            },
            "global_administrator": {
                "user_principal_name": self.admin_user_principal_name,
                "password": self.admin_password,
            },
            "admin": {
                "faults_url": f"{self.login_base}/_sandbox/faults",
                "delta_token_expiry_url": f"{self.login_base}{DELTA_EXPIRY_PATH}",
                "audit_latency_url": f"{self.login_base}{AUDIT_LATENCY_PATH}",
                "key": self.admin_key,
                "outbox_url": f"{self.login_base}/_sandbox/outbox",
            },
        }


def describe(
    state: DirectoryState, port: int, ca_file: Path, *, admin_key: str = ""
) -> SandboxInfo:
    everything = len(APPLICATION_PERMISSIONS)
    apps = sorted(state.applications.values(), key=lambda app: -len(app.granted))
    # A tenant holding only its administrator (first_party_apps) has neither ready app.
    full = next((app for app in apps if len(app.granted) == everything), None)
    read_only = next((app for app in apps if full is not None and app is not full), None)
    admin_id, password = next(iter(state.passwords.items()))
    login = f"https://127.0.0.1:{port}"
    return SandboxInfo(
        tenant_id=state.tenant_id,
        login_base=login,
        graph_base=f"{login}/v1.0",
        ca_file=ca_file,
        full_client_id=full.app_id if full else "",
        full_client_secret=full.secrets[0] if full else "",
        read_only_client_id=read_only.app_id if read_only else "",
        read_only_client_secret=read_only.secrets[0] if read_only else "",
        admin_user_principal_name=state.users[admin_id]["userPrincipalName"],
        admin_password=password,
        admin_key=admin_key,
        audit_latency=state.audit_latency,
    )


def bind_loopback(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Answers go out at once (the accepted connections inherit it on Linux): without it the
    # body of an answer written after its headers waits for the client's delayed ACK, 40 ms
    # per GET that no Graph front end adds.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    # Listening at once means a client told the address can connect (its connection waits in
    # the backlog) even before the server's loop accepts.
    sock.listen(128)
    return sock


def make_server(
    state: DirectoryState, tls: TlsFiles, *, throttling: bool = True, admin_key: str | None = None
) -> uvicorn.Server:
    config = uvicorn.Config(
        build_app(state, throttling=throttling, admin_key=admin_key),
        ssl_certfile=str(tls.cert_file),
        ssl_keyfile=str(tls.key_file),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


class BackgroundSandbox:
    """The sandbox served from a thread; ``stop()`` shuts it down and joins the thread."""

    def __init__(self, state: DirectoryState, directory: Path, *, throttling: bool = True) -> None:
        self.state = state
        self.tls = write_tls_files(directory)
        self._socket = bind_loopback()
        self.port: int = self._socket.getsockname()[1]
        admin_key = secrets.token_urlsafe(24)
        self.info = describe(state, self.port, self.tls.ca_file, admin_key=admin_key)
        self._server = make_server(state, self.tls, throttling=throttling, admin_key=admin_key)
        self._thread = threading.Thread(target=self._run, name="graph-sandbox", daemon=True)
        self._failure: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as error:  # reported by start()
            self._failure = error

    def start(self) -> None:
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the sandbox server did not start: {self._failure!r}")
            self._thread.join(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join()
        self._socket.close()
