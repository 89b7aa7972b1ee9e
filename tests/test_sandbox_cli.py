"""`dirguard sandbox serve` starts the sandbox tenant and announces how to reach it."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import pytest


def test_serve_announces_tenant_and_answers_over_its_own_tls(tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-m", "dirguard", "sandbox", "serve", "--users", "3"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        info = json.loads(server.stdout.readline())
        assert Path(info["ca_file"]).is_file()
        assert set(info["apps"]) == {"full", "read_only"}
        context = ssl.create_default_context(cafile=info["ca_file"])
        discovery = (
            f"{info['login_base']}/{info['tenant_id']}/v2.0/.well-known/openid-configuration"
        )
        with urllib.request.urlopen(discovery, context=context, timeout=10) as answer:  # noqa: S310
            document = json.load(answer)
        assert document["token_endpoint"].startswith(info["login_base"])
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=20)
    assert server.returncode == 0


def _policies(info: dict[str, Any]) -> list[dict[str, Any]]:
    """The tenant's conditional access policies, read with the ready full-permission app."""
    app = info["apps"]["full"]
    context = ssl.create_default_context(cafile=info["ca_file"])
    with httpx.Client(verify=context, timeout=10) as http:
        token = http.post(
            f"{info['login_base']}/{info['tenant_id']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": app["client_id"],
                "client_secret": app["client_secret"],
                "scope": "https://graph.microsoft.com/.default",
            },
        ).json()["access_token"]
        answer = http.get(
            f"{info['graph_base']}/identity/conditionalAccess/policies",
            headers={"Authorization": f"Bearer {token}"},
        )
    answer.raise_for_status()
    policies: list[dict[str, Any]] = answer.json()["value"]
    return policies


@pytest.mark.parametrize("realistic", [False, True])
def test_serve_realistic_adds_conditional_access(realistic: bool) -> None:
    command = [sys.executable, "-m", "dirguard", "sandbox", "serve", "--users", "30"]
    server = subprocess.Popen(
        command + ["--realistic"] * realistic,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        policies = _policies(json.loads(server.stdout.readline()))
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=20)
    assert bool(policies) is realistic


def test_serve_refuses_realistic_with_admin_only() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dirguard", "sandbox", "serve", "--realistic", "--admin-only"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--realistic and --admin-only exclude each other" in result.stderr
