"""Helpers for ``dirguard connect validate`` tests: a configuration naming the sandbox tenant."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from tests.fixtures.graph_sandbox import RunningSandbox

SECRET_ENV = "CONNECT_TEST_CLIENT_SECRET"


def write_config(
    directory: Path,
    sandbox: RunningSandbox,
    *,
    read_only: bool,
    mode: str,
    services: str,
    credential: str = f'client_secret = "env:{SECRET_ENV}"',
) -> Path:
    info = sandbox.info
    client_id = info.read_only_client_id if read_only else info.full_client_id
    path = directory / "dirguard.toml"
    path.write_text(
        f"""
[log]
level = "warning"

[secrets]
key_file = "{directory / "secret.key"}"
store_file = "{directory / "secrets.json"}"

[[entra.tenants]]
name = "sandbox"
tenant_id = "{info.tenant_id}"
client_id = "{client_id}"
{credential}
authority = "{info.login_base}"
graph_url = "{info.login_base}"
ca_file = "{info.ca_file}"
mode = "{mode}"
services = [{services}]
""",
        encoding="utf-8",
    )
    return path


Validate = Callable[..., tuple[int, Any, str]]


@pytest.fixture
def run_validate(graph_sandbox: RunningSandbox, tmp_path: Path) -> Validate:
    """Run ``dirguard connect validate --json``; returns (exit code, parsed JSON, stderr)."""

    def run(
        *,
        read_only: bool = False,
        mode: str = "full",
        services: str = '"guardian"',
        secret: str | None = None,
    ) -> tuple[int, Any, str]:
        info = graph_sandbox.info
        config = write_config(
            tmp_path, graph_sandbox, read_only=read_only, mode=mode, services=services
        )
        if secret is None:
            secret = info.read_only_client_secret if read_only else info.full_client_secret
        result = CliRunner().invoke(
            app,
            ["--config", str(config), "connect", "validate", "--json"],
            env={SECRET_ENV: secret},
        )
        stdout = result.stdout
        return result.exit_code, json.loads(stdout) if stdout.strip() else None, result.stderr

    return run
