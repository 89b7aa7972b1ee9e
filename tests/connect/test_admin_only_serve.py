"""``python -m dirguard_sandbox serve --admin-only``: a tenant to try ``dirguard connect entra``
against by hand. It holds its Global Administrator and no app registrations, lets the
administrator sign in through Microsoft Graph Command Line Tools, and keeps its Azure
subscription (owned by the administrator) in the saved state."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import httpx

GRAPH_COMMAND_LINE_TOOLS = "14d82eec-204b-4c2f-b7e8-296a70dad1f6"
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def test_admin_only_tenant_is_served_and_saved(tmp_path: Path) -> None:
    state_file = tmp_path / "tenant.json"
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "dirguard_sandbox", "serve", "--admin-only"),
            *("--state", str(state_file), "--tls-dir", str(tmp_path / "tls")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no output"
        info = json.loads(line)
        assert info["apps"]["full"]["client_id"] == ""
        admin = info["global_administrator"]
        base = f"{info['login_base']}/{info['tenant_id']}/oauth2/v2.0"
        tls = ssl.create_default_context(cafile=info["ca_file"])
        with httpx.Client(verify=tls) as http:
            flow = http.post(
                f"{base}/devicecode",
                data={
                    "client_id": GRAPH_COMMAND_LINE_TOOLS,
                    "scope": "https://graph.microsoft.com/Application.ReadWrite.All",
                },
            ).json()
            signed_in = http.post(
                f"{info['login_base']}/devicelogin",
                data={
                    "user_code": flow["user_code"],
                    "username": admin["user_principal_name"],
                    "password": admin["password"],
                },
            )
            assert "You have signed in" in signed_in.text
            token = http.post(
                f"{base}/token",
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                    "client_id": GRAPH_COMMAND_LINE_TOOLS,
                    "device_code": flow["device_code"],
                },
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            applications = http.get(f"{info['graph_base']}/applications", headers=headers)
            users = http.get(f"{info['graph_base']}/users", headers=headers)
        assert applications.status_code == 200 and applications.json()["value"] == []
        assert users.status_code == 403  # Application.ReadWrite.All does not read users
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
    saved = json.loads(state_file.read_text(encoding="utf-8"))
    assert len(saved["users"]) == 1
    assert saved["groups"] == {}
    [subscription] = saved["subscriptions"].values()
    [owner] = saved["rbac_assignments"].values()
    assert owner["properties"]["scope"] == f"/subscriptions/{subscription['subscriptionId']}"
    assert owner["properties"]["roleDefinitionId"].endswith(OWNER)
    assert owner["properties"]["principalId"] in saved["users"]
