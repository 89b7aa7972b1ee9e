"""A sandbox tenant holding only its Global Administrator, and the administrator at the keyboard.

``admin_only_sandbox`` serves ``generate_admin_only_tenant`` (no groups, no app registrations,
Microsoft's first-party service principals). ``DeviceCodeApprover`` plays the administrator who
opens the device login page and types the code shown: it watches the tenant for pending device
codes and signs each in with the administrator's password through the sandbox's own login form.
``admin_graph`` is an independent reader: the administrator's own delegated token, fetched with
plain HTTP, so tests read the tenant back without going through dirguard.
"""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard_sandbox.first_party_apps import (
    GRAPH_COMMAND_LINE_TOOLS_APP_ID,
    generate_admin_only_tenant,
)
from dirguard_sandbox.server import BackgroundSandbox
from tests.fixtures.graph_sandbox import RunningSandbox

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
READ_SCOPES = (
    "https://graph.microsoft.com/Application.ReadWrite.All "
    "https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All "
    "https://graph.microsoft.com/DelegatedPermissionGrant.ReadWrite.All "
    "https://graph.microsoft.com/RoleManagement.ReadWrite.Directory"
)


@pytest.fixture(scope="module")
def admin_only_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    sandbox = BackgroundSandbox(
        generate_admin_only_tenant(seed=5),
        tmp_path_factory.mktemp("admin-only-tenant"),
        throttling=False,
    )
    sandbox.start()
    try:
        yield RunningSandbox(info=sandbox.info, state=sandbox.state)
    finally:
        # azure-identity's credentials can leave a kept-alive connection in garbage that is
        # not collected yet; collected now, it closes, instead of holding the server's side of
        # the connection open through shutdown (a ResourceWarning in some later test).
        gc.collect()
        sandbox.stop()


class DeviceCodeApprover:
    """Signs in every pending device code as the Global Administrator, from a thread."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        self.approved: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="device-approver", daemon=True)

    def __enter__(self) -> DeviceCodeApprover:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _pending(self) -> list[str]:
        try:
            entries = list(self.sandbox.state.sign_ins.values())
        except RuntimeError:  # the server thread changed the table meanwhile
            return []
        return [
            str(e["user_code"])
            for e in entries
            if e.get("kind") == "device_code"
            and e.get("user_id") is None
            and e["user_code"] not in self.approved
        ]

    def _run(self) -> None:
        info = self.sandbox.info
        while not self._stop.wait(0.05):
            for code in self._pending():
                answer = httpx.post(
                    f"{info.login_base}/devicelogin",
                    data={
                        "user_code": code,
                        "username": info.admin_user_principal_name,
                        "password": info.admin_password,
                    },
                    verify=self.sandbox.tls(),
                )
                assert "You have signed in" in answer.text, answer.text
                self.approved.append(code)


def admin_graph(sandbox: RunningSandbox) -> httpx.Client:
    """Graph as the administrator (device code flow spoken by hand, approved at once)."""
    token = admin_token(sandbox, READ_SCOPES)
    return httpx.Client(
        base_url=sandbox.info.graph_base,
        verify=sandbox.tls(),
        headers={"Authorization": f"Bearer {token}"},
    )


def admin_arm(sandbox: RunningSandbox) -> httpx.Client:
    """Azure Resource Manager as the administrator (the subscription's Owner)."""
    token = admin_token(sandbox, "https://management.azure.com/user_impersonation")
    return httpx.Client(
        base_url=sandbox.info.login_base,
        verify=sandbox.tls(),
        headers={"Authorization": f"Bearer {token}"},
        params={"api-version": "2022-04-01"},
    )


def admin_token(sandbox: RunningSandbox, scope: str) -> str:
    info = sandbox.info
    base = f"{info.login_base}/{info.tenant_id}/oauth2/v2.0"
    verify = sandbox.tls()
    flow = httpx.post(
        f"{base}/devicecode",
        data={"client_id": GRAPH_COMMAND_LINE_TOOLS_APP_ID, "scope": scope},
        verify=verify,
    ).json()
    httpx.post(
        f"{info.login_base}/devicelogin",
        data={
            "user_code": flow["user_code"],
            "username": info.admin_user_principal_name,
            "password": info.admin_password,
        },
        verify=verify,
    ).raise_for_status()
    answer = httpx.post(
        f"{base}/token",
        data={
            "grant_type": DEVICE_CODE_GRANT,
            "client_id": GRAPH_COMMAND_LINE_TOOLS_APP_ID,
            "device_code": flow["device_code"],
        },
        verify=verify,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def write_setup_config(directory: Path) -> Path:
    """A configuration with only a secret store (the tenant is not configured yet)."""
    path = directory / "dirguard.toml"
    path.write_text(
        f"""
[log]
level = "warning"

[secrets]
key_file = "{directory / "secret.key"}"
store_file = "{directory / "secrets.json"}"
""",
        encoding="utf-8",
    )
    return path


def connect_entra(
    sandbox: RunningSandbox,
    config: Path,
    mode: str,
    *extra: str,
    as_json: bool = True,
    services: str = "administrator,guardian",
) -> tuple[int, Any, str]:
    """Run ``connect entra [--json]`` for ``services`` (both by default), the administrator
    approving the sign-in; returns (exit code, parsed JSON or the text printed, stderr)."""
    info = sandbox.info
    with DeviceCodeApprover(sandbox) as approver:
        result = CliRunner().invoke(
            app,
            [
                "--config",
                str(config),
                "connect",
                "entra",
                "--tenant",
                info.tenant_id,
                "--authority",
                info.login_base,
                "--graph-url",
                info.login_base,
                "--arm-url",
                info.login_base,
                "--ca-file",
                str(info.ca_file),
                "--mode",
                mode,
                "--services",
                services,
                *(["--json"] if as_json else []),
                *extra,
            ],
        )
    assert approver.approved, "the command never asked the administrator to sign in"
    if not as_json:
        return result.exit_code, result.stdout, result.stderr
    output = json.loads(result.stdout) if result.stdout.strip() else None
    return result.exit_code, output, result.stderr


def validate_config(directory: Path, report: dict[str, Any]) -> Path:
    """A configuration holding the tenant as ``connect entra`` printed it."""
    path = directory / "validate.toml"
    snippet = report["config"]
    path.write_text(
        f"""
[log]
level = "warning"

[secrets]
key_file = "{directory / "secret.key"}"
store_file = "{directory / "secrets.json"}"

{snippet}
""",
        encoding="utf-8",
    )
    return path
