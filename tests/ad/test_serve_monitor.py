"""``dirguard serve --monitor`` on a real Samba DC: the monitor runs in the console's process, a
change made over LDAP is in the store while it serves, and SIGTERM stops both cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dirguard.throwaway.samba_dc import SambaDC
from tests.web.served_console import console_config, free_port, served_console

DIRGUARD = Path(sys.executable).with_name("dirguard")
WAIT_LIMIT_S = 90.0


@pytest.mark.samba
def test_serve_with_monitor_captures_and_stops_cleanly(
    samba_dc: SambaDC,
    tmp_path: Path,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    domain = f"""
[[ad.domains]]
name = "{samba_dc.realm.lower()}"
servers = ["{samba_dc.host}"]
ca_file = "{samba_dc.ca_cert_path}"
bind_upn = "{samba_dc.admin_upn}"
password = "env:TEST_SERVE_AD_PASSWORD"
"""
    env = {"TEST_SERVE_AD_PASSWORD": samba_dc.admin_password}
    port = free_port()
    config = console_config(tmp_path, port, domain)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(DIRGUARD), "--config", str(config), *args],
            env={**os.environ, **env, "XDG_DATA_HOME": str(tmp_path / "data")},
            capture_output=True,
            text=True,
            check=False,
        )

    name = unique("sv")
    baseline = cli("snapshot", "ad")
    assert baseline.returncode == 0, baseline.stderr
    with served_console(
        tmp_path, port, domain, env=env, args=("--monitor", "--interval", "0.5")
    ) as served:
        samba_tool("user", "create", name, "Pa55word!" + name)
        deadline = time.monotonic() + WAIT_LIMIT_S
        while True:
            found = cli("changes", "--object", name, "--json")
            if found.returncode == 0 and json.loads(found.stdout)["changes"]:
                break
            assert served.process.poll() is None, served.log.read_text()
            assert time.monotonic() < deadline, f"{name} not captured: {served.log.read_text()}"
            time.sleep(0.5)
    log = served.log.read_text()  # served_console asserted exit code 0 after SIGTERM
    assert "stopping the monitor" in log
    assert "monitor stopped (run" in log
    runs = cli("db", "status", "--json")
    assert runs.returncode == 0, runs.stderr
