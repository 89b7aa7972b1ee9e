"""Piped to a file or another program, the CLI's tables keep their natural width instead of
Rich's 80 columns for a non-terminal (``COLUMNS`` still decides when set)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

DIRGUARD = str(Path(sys.executable).with_name("dirguard"))


def _permissions(env: dict[str, str]) -> list[str]:
    done = subprocess.run(
        [DIRGUARD, "permissions", "--service", "guardian", "--mode", "read-only"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def test_piped_tables_are_not_cut_to_80_columns() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    lines = _permissions(env)
    rows = [line for line in lines if "Configure gMSA for domain partition" in line]
    assert rows and "guardian.ad.setup.domain" in rows[0], "a row is one line"
    assert max(len(line.rstrip()) for line in lines) > 80


def test_columns_still_decides_when_set() -> None:
    lines = _permissions({**os.environ, "COLUMNS": "80"})
    assert max(len(line) for line in lines) <= 80
