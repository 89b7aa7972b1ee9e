"""The demo's throwaway Microsoft 365 tenant: ``dirguard sandbox serve`` as a child process.

The sandbox is a separate program (only ``dirguard sandbox`` imports it), so the demo starts it
the way a person would, reads the one JSON line it prints (tenant id, URLs, its CA, two ready
applications, the Global Administrator's sign-in, the admin key), and talks to it over HTTPS like
to any tenant: dirguard through its configured application, the organisation's set-up through
the tenant's full application, the rogue admin as a user signed in with the device-code flow.
Stopping it ends the child by its own pid and removes its directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

START_TIMEOUT_S = 60.0
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
ROGUE_SCOPES = (
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "Directory.ReadWrite.All",
    "Application.ReadWrite.All",
    "Policy.Read.All",
    "Policy.ReadWrite.ConditionalAccess",
    "RoleManagement.ReadWrite.Directory",
)
"""What the rogue admin's tool asks for: the delegated rights its bad half hour uses."""


class _Patient(httpx.HTTPTransport):
    """Waits as Graph asks on 429 and 503 (``Retry-After``, fractional seconds allowed) and
    tries again: conditional access allows about one request a second per tenant."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(30):
            answer = super().handle_request(request)
            if answer.status_code not in (429, 503):
                return answer
            answer.read()
            answer.close()
            time.sleep(min(float(answer.headers.get("Retry-After") or 1), 10.0))
        return super().handle_request(request)


class TenantStartError(RuntimeError):
    """The sandbox tenant did not start (its own message says why)."""


@dataclass(frozen=True, kw_only=True)
class DemoTenant:
    """A running sandbox tenant and what its ``serve`` line said."""

    pid: int
    directory: Path
    info: dict[str, Any]

    @property
    def login_base(self) -> str:
        return str(self.info["login_base"])

    @property
    def graph_base(self) -> str:
        return str(self.info["graph_base"])

    @property
    def tenant_id(self) -> str:
        return str(self.info["tenant_id"])

    @property
    def ca_file(self) -> Path:
        return Path(self.info["ca_file"])

    @property
    def full_app(self) -> tuple[str, str]:
        app = self.info["apps"]["full"]
        return str(app["client_id"]), str(app["client_secret"])

    def tls(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def _token(self, data: dict[str, str]) -> str:
        answer = httpx.post(
            f"{self.login_base}/{self.tenant_id}/oauth2/v2.0/token", data=data, verify=self.tls()
        )
        if answer.status_code != 200:
            raise TenantStartError(f"the sandbox refused a token: {answer.text[:300]}")
        return str(answer.json()["access_token"])

    def _client(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.graph_base,
            transport=_Patient(verify=self.tls()),
            headers={"Authorization": f"Bearer {token}"},
            timeout=30.0,
        )

    def admin_client(self) -> httpx.Client:
        """Graph as the tenant's full application: the organisation's own set-up and the
        independent read that checks the result."""
        client_id, secret = self.full_app
        return self._client(
            self._token(
                {
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                    "scope": "https://graph.microsoft.com/.default",
                }
            )
        )

    def set_audit_latency(self, seconds: float) -> None:
        admin = self.info["admin"]
        httpx.put(
            admin["audit_latency_url"],
            json={"audit_latency": seconds},
            headers={"x-sandbox-admin-key": admin["key"]},
            verify=self.tls(),
        ).raise_for_status()

    def signed_in(self, admin: httpx.Client, upn: str, password: str) -> httpx.Client:
        """Graph as ``upn``, signed in with the device-code flow in a public client ("the rogue
        admin's tool") that an administrator consented to for everyone."""
        app = ok(admin.post("/applications", json={"displayName": "Admin PowerShell tool"}))
        sp = ok(admin.post("/servicePrincipals", json={"appId": app["appId"]}))
        graph = ok(admin.get(f"/servicePrincipals(appId='{GRAPH_APP_ID}')"))
        ok(
            admin.post(
                "/oauth2PermissionGrants",
                json={
                    "clientId": sp["id"],
                    "consentType": "AllPrincipals",
                    "resourceId": graph["id"],
                    "scope": " ".join(ROGUE_SCOPES),
                },
            )
        )
        scope = " ".join(f"https://graph.microsoft.com/{s}" for s in ROGUE_SCOPES)
        base = f"{self.login_base}/{self.tenant_id}/oauth2/v2.0"
        flow = httpx.post(
            f"{base}/devicecode",
            data={"client_id": app["appId"], "scope": scope},
            verify=self.tls(),
        ).json()
        approved = httpx.post(
            flow["verification_uri"],
            data={"user_code": flow["user_code"], "username": upn, "password": password},
            verify=self.tls(),
        )
        if "You have signed in" not in approved.text:
            raise TenantStartError(f"{upn} could not sign in: {approved.text[:300]}")
        return self._client(
            self._token(
                {
                    "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                    "client_id": app["appId"],
                    "device_code": flow["device_code"],
                    "scope": scope,
                }
            )
        )


def ok(answer: httpx.Response) -> dict[str, Any]:
    if not answer.is_success:
        raise TenantStartError(
            f"{answer.request.method} {answer.request.url.path}: {answer.status_code}"
            f" {answer.text[:300]}"
        )
    return dict(answer.json()) if answer.content else {}


@contextlib.contextmanager
def throwaway_tenant(users: int, seed: int = 14) -> Iterator[DemoTenant]:
    """``dirguard sandbox serve`` on a free loopback port with ``users`` seeded users, until the
    block ends; then its process is stopped (SIGTERM, SIGKILL after 10 s) and its directory
    removed."""
    directory = Path(tempfile.mkdtemp(prefix="dirguard-demo-tenant-"))
    errors = directory / "sandbox.err"
    command = [sys.executable, "-m", "dirguard", "sandbox", "serve", "--users", str(users)]
    command += ["--seed", str(seed), "--tls-dir", str(directory / "tls")]
    process: subprocess.Popen[str] | None = None
    try:
        with errors.open("w", encoding="utf-8") as err:
            process = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=err,
                stdin=subprocess.DEVNULL,
                text=True,
                env={**os.environ, "PYTHONWARNINGS": "ignore"},
                start_new_session=True,
            )
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line:
            process.wait(timeout=START_TIMEOUT_S)
            raise TenantStartError(
                f"the sandbox tenant exited ({process.returncode}):"
                f" {errors.read_text(encoding='utf-8')[-500:]}"
            )
        tenant = DemoTenant(pid=process.pid, directory=directory, info=json.loads(line))
        yield tenant
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(directory, ignore_errors=True)


def _stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
