"""``dirguard monitor`` keeps running while other dirguard commands write the same SQLite store
(the session's real Samba AD DC, the real CLI in separate processes): in each round a user is
deleted over LDAP, and while the monitor captures, an undelete, a rollback apply and a capture
run at the same time. Every command succeeds, none says "database is locked", and the monitor is
still running at the end."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.test_ad_monitor import DIRGUARD, Cli, _config, _stop, _wait_for

ROUNDS = 4


def _start(cli: Cli, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [DIRGUARD, "--config", str(cli.config), *args, "--json"],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=180)
    assert process.returncode == 0, err
    assert "database is locked" not in err
    parsed: dict[str, Any] = json.loads(out)
    return parsed


@pytest.mark.samba
def test_undelete_apply_and_capture_beside_a_running_monitor(
    samba_dc: SambaDC,
    tmp_path: Path,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    config = _config(tmp_path, samba_dc)
    with config.open("a", encoding="utf-8") as extra:
        extra.write('mode = "full"\n')  # the admin binds: no elevation needed to write
    cli = Cli(config, samba_dc, tmp_path)
    cli.run("snapshot", "ad")
    monitor, log = cli.start_monitor("--interval", "0.5")
    try:
        for n in range(ROUNDS):
            gone, kept = unique(f"gone{n}"), unique(f"kept{n}")
            for name in (gone, kept):
                samba_tool("user", "create", name, f"Pa55word!{name}")
            _wait_for(
                lambda pair=(gone, kept): all(cli.changes(name) for name in pair),
                f"the monitor to store the users of round {n}",
                monitor,
            )
            samba_tool("user", "delete", gone)
            samba_tool("user", "disable", kept)

            def disables(name: str = kept) -> list[dict[str, Any]]:
                return [
                    c
                    for c in cli.changes(name)
                    if c["attribute"] == "userAccountControl" and str(c["new"]) == "514"
                ]

            def seen() -> bool:
                return bool(disables())

            _wait_for(seen, f"the monitor to store round {n}", monitor)
            _wait_for(
                lambda name=gone: any(c["op"] == "delete" for c in cli.changes(name)),
                f"the monitor to store the deletion of round {n}",
                monitor,
            )
            disabled = disables()[-1]
            plan = cli.run("rollback", "plan", "--event", str(disabled["sequence"]))
            writers = [
                _start(cli, "undelete", gone),
                _start(cli, "rollback", "apply", str(plan["id"])),
                _start(cli, "capture", "ad"),
            ]
            undeleted, applied, _captured = (_finish(p) for p in writers)
            assert undeleted["status"] == "applied", undeleted
            assert applied["status"] == "applied", applied
            assert monitor.poll() is None, "the monitor is still running"
    finally:
        code = _stop(monitor)
    assert code == 0
    assert "database is locked" not in log.read_text(encoding="utf-8")
