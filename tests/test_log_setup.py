"""Logs: readable text or JSON lines, and resolved credentials never appear in them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from dirguard.config.credentials import resolve_credential
from dirguard.config.secret_store import SecretStore
from dirguard.log_setup import configure_logging


def test_resolved_credential_is_masked_in_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("info", "text")
    store = SecretStore(tmp_path / "k", tmp_path / "s.json")
    value = resolve_credential("env:DG_LOG_PW", store, {"DG_LOG_PW": "correct-horse-battery"})
    log = logging.getLogger("dirguard.test")
    log.info("binding with %s", value)
    try:
        raise RuntimeError(f"server said no to {value}")
    except RuntimeError:
        log.exception("bind failed")
    err = capsys.readouterr().err
    assert "correct-horse-battery" not in err
    assert "binding with [redacted]" in err
    assert "bind failed" in err and "server said no to [redacted]" in err


def test_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning", "json")
    logging.getLogger("dirguard.monitor").warning("DC %s unreachable, retrying", "dc1")
    logging.getLogger("dirguard.monitor").info("not shown at warning level")
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["level"] == "warning" and entry["logger"] == "dirguard.monitor"
    assert entry["message"] == "DC dc1 unreachable, retrying"
    configure_logging()
