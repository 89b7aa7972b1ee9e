"""``dirguard monitor`` signs checkpoints of the event chains on its schedule, and a chore that
fails never stops the capture (the session's real Samba AD DC, the real CLI)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.test_ad_monitor import WAIT_LIMIT_S, Cli, _config, _stop, _wait_for


def _with_store_keys(tmp_path: Path, dc: SambaDC, checkpoint_file: Path) -> Path:
    config = _config(tmp_path, dc)
    text = config.read_text(encoding="utf-8").replace(
        "[store]\n",
        f'[store]\ncheckpoint_file = "{checkpoint_file}"\ncheckpoint_interval = 1\n',
        1,
    )
    secrets = f'[secrets]\nkey_file = "{tmp_path / "k"}"\nstore_file = "{tmp_path / "s.json"}"\n'
    config.write_text(secrets + text, encoding="utf-8")
    return config


@pytest.mark.samba
def test_the_monitor_writes_checkpoints_that_db_verify_checks(
    samba_dc: SambaDC, tmp_path: Path, samba_tool: Callable[..., str], unique: Callable[[str], str]
) -> None:
    checkpoints = tmp_path / "checkpoints.jsonl"
    cli = Cli(_with_store_keys(tmp_path, samba_dc, checkpoints), samba_dc, tmp_path)
    cli.run("snapshot", "ad")
    monitor, _log = cli.start_monitor("--interval", "0.5")
    try:
        name = unique("cp")
        samba_tool("user", "create", name, f"Pa55word!{name}")
        _wait_for(lambda: bool(cli.changes(name)), "the monitor to store the user", monitor)
        head = max(c["sequence"] for c in cli.changes(name))

        def pinned() -> bool:
            lines = checkpoints.read_text().splitlines() if checkpoints.exists() else []
            return any(json.loads(line)["sequence"] >= head for line in lines)

        _wait_for(pinned, "a checkpoint of the new head", monitor)
    finally:
        assert _stop(monitor) == 0
    report = cli.run("db", "verify")
    assert report["ok"], report
    [chain] = report["chains"]
    assert chain["checkpoint"]["sequence"] >= head


@pytest.mark.samba
def test_a_failing_chore_is_logged_and_the_capture_goes_on(
    samba_dc: SambaDC, tmp_path: Path, samba_tool: Callable[..., str], unique: Callable[[str], str]
) -> None:
    unwritable = tmp_path / "a-directory"
    unwritable.mkdir()
    cli = Cli(_with_store_keys(tmp_path, samba_dc, unwritable), samba_dc, tmp_path)
    cli.run("snapshot", "ad")
    monitor, log = cli.start_monitor("--interval", "0.5")
    try:
        name = unique("cpgo")
        samba_tool("user", "create", name, f"Pa55word!{name}")
        _wait_for(lambda: bool(cli.changes(name)), "the monitor to store the user", monitor)
        deadline = time.monotonic() + WAIT_LIMIT_S
        while "chain checkpoint failed" not in log.read_text(encoding="utf-8"):
            assert monitor.poll() is None, "the monitor exited"
            assert time.monotonic() < deadline, "no warning about the checkpoint"
            time.sleep(0.2)
        later = unique("cpgo2")
        samba_tool("user", "create", later, f"Pa55word!{later}")
        _wait_for(lambda: bool(cli.changes(later)), "the monitor to go on capturing", monitor)
    finally:
        assert _stop(monitor) == 0
    assert f"cannot append to the checkpoint file {unwritable}" in log.read_text(encoding="utf-8")
