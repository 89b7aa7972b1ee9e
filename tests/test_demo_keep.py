"""``dirguard demo --keep`` (Entra half, no root needed): everything keeps running with the web
console on it; the sign-in it prints works and the console shows the rogue's captured changes;
Ctrl-C stops the console and the tenant by their pids and removes the demo's directories."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

WAIT_S = 180.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_keep_serves_the_console_and_ctrl_c_stops_everything(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "TMPDIR": str(tmp_path),
        "COLUMNS": "200",
    }
    env.pop("DIRGUARD_CONFIG", None)
    out = tmp_path / "demo.out"
    with out.open("wb") as sink:
        demo = subprocess.Popen(
            [sys.executable, "-m", "dirguard", "demo", "--yes", "--keep", "--no-domain"],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        deadline = time.monotonic() + WAIT_S
        while "Press Ctrl-C" not in (text := out.read_text(errors="replace")):
            if demo.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the demo did not stay up (exit {demo.returncode}): {text[-2000:]}")
            time.sleep(0.5)
        found = re.search(r"Console: (https://\S+)", text)
        password = re.search(r"sign in as demo with the password (\S+)", text)
        console_pid = re.search(r"pid of the console: (\d+)", text)
        assert found and password and console_pid, text[-2000:]
        made = [p for p in tmp_path.iterdir() if p.name.startswith("dirguard-demo-")]
        assert len(made) == 2, made  # the demo's store and configuration; the tenant's
        # The console's self-signed certificate (made on first serve, kept in the data dir).
        cert = tmp_path / "data" / "dirguard" / "console-tls" / "console-cert.pem"
        trust = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=found.group(1), verify=trust) as web:
            form = web.get("/signin")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            assert token, form.text[:500]
            signed_in = web.post(
                "/signin",
                data={
                    "csrf_token": token.group(1),
                    "next": "/",
                    "name": "demo",
                    "password": password.group(1),
                    "code": "",
                },
            )
            assert signed_in.status_code == 303, signed_in.text[:500]
            changes = web.get("/changes", follow_redirects=True)
            assert changes.status_code == 200
            assert "rogue.admin@" in changes.text and "Helpdesk Administrators" in changes.text
        demo.send_signal(signal.SIGINT)
        assert demo.wait(timeout=60) == 0, out.read_text(errors="replace")[-2000:]
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert not _alive(int(console_pid.group(1)))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("dirguard-demo-")]
