"""``python -m dirguard_sandbox serve``: its one JSON line, and state kept across restarts."""

from __future__ import annotations

import json
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx


@contextmanager
def _serving(*arguments: str) -> Iterator[dict[str, Any]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "dirguard_sandbox", "serve", *arguments],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no output"
        yield json.loads(line)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def _token(info: dict[str, Any], tls: ssl.SSLContext) -> str:
    app = info["apps"]["full"]
    answer = httpx.post(
        f"{info['login_base']}/{info['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "https://graph.microsoft.com/.default",
        },
        verify=tls,
    )
    token: str = answer.json()["access_token"]
    return token


def test_serve_announces_everything_needed_and_keeps_state(tmp_path: Path) -> None:
    state_file = tmp_path / "tenant.json"
    # The audit log is read back at once: no simulated latency (serve's default is realistic).
    with _serving(
        "--users", "6", "--seed", "3", "--state", str(state_file), "--audit-latency", "0"
    ) as info:
        assert set(info) >= {"tenant_id", "login_base", "graph_base", "ca_file", "apps"}
        assert info["apps"]["full"]["client_id"] != info["apps"]["read_only"]["client_id"]
        assert info["global_administrator"]["password"]
        tls = ssl.create_default_context(cafile=info["ca_file"])
        headers = {"Authorization": f"Bearer {_token(info, tls)}"}
        with httpx.Client(base_url=info["graph_base"], verify=tls, headers=headers) as client:
            users = client.get("/users").json()["value"]
            assert len(users) == 6
            target = users[-1]["id"]
            assert client.patch(f"/users/{target}", json={"jobTitle": "Kept"}).status_code == 204
    assert state_file.exists()
    with _serving("--state", str(state_file), "--audit-latency", "0") as again:
        assert again["tenant_id"] == info["tenant_id"]
        assert again["audit_latency"] == 0.0
        assert again["apps"]["full"]["client_secret"] == info["apps"]["full"]["client_secret"]
        tls = ssl.create_default_context(cafile=again["ca_file"])
        headers = {"Authorization": f"Bearer {_token(again, tls)}"}
        with httpx.Client(base_url=again["graph_base"], verify=tls, headers=headers) as client:
            assert client.get(f"/users/{target}").json()["jobTitle"] == "Kept"
            audits = client.get("/auditLogs/directoryAudits").json()["value"]
            assert [a["activityDisplayName"] for a in audits] == ["Update user"]


def test_serve_line_tells_where_sent_mail_lands() -> None:
    with _serving("--users", "4", "--seed", "5") as info:
        # Unless told otherwise, serve holds audit entries back as Microsoft's latency does.
        assert info["audit_latency"] == "realistic"
        tls = ssl.create_default_context(cafile=info["ca_file"])
        headers = {"Authorization": f"Bearer {_token(info, tls)}"}
        with httpx.Client(base_url=info["graph_base"], verify=tls, headers=headers) as client:
            sender = next(u for u in client.get("/users").json()["value"] if u.get("mail"))
            message = {
                "subject": "Where does this go?",
                "toRecipients": [{"emailAddress": {"address": "kim@partner.example"}}],
            }
            sent = client.post(f"/users/{sender['id']}/sendMail", json={"message": message})
        assert sent.status_code == 202, sent.text
        outbox_url = info["admin"]["outbox_url"]
        refused = httpx.get(outbox_url, verify=tls)
        shown = httpx.get(
            outbox_url, headers={"x-sandbox-admin-key": info["admin"]["key"]}, verify=tls
        )
    assert refused.status_code == 403
    assert shown.status_code == 200, shown.text
    landed = [m["message"]["subject"] for m in shown.json()["messages"]]
    assert landed == ["Where does this go?"]


def test_same_seed_same_tenant_and_bad_input_is_named(tmp_path: Path) -> None:
    from dirguard_sandbox.seed_data import SeedOptions, generate_tenant

    first = generate_tenant(SeedOptions(users=8, seed=11))
    second = generate_tenant(SeedOptions(users=8, seed=11))
    other = generate_tenant(SeedOptions(users=8, seed=12))
    assert first.tenant_id == second.tenant_id != other.tenant_id
    assert [u["userPrincipalName"] for u in first.users.values()] == [
        u["userPrincipalName"] for u in second.users.values()
    ]
    answer = subprocess.run(
        [sys.executable, "-m", "dirguard_sandbox", "serve", "--users", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert answer.returncode == 3
    assert "--users" in answer.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    answer = subprocess.run(
        [sys.executable, "-m", "dirguard_sandbox", "serve", "--state", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert answer.returncode == 3
    assert "broken.json" in answer.stderr
