"""Helpers of the console service tests: a runtime over a configuration aimed at the session's
DC (admin bind, full mode unless told otherwise), with a baseline snapshot taken."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dirguard.config.loader import load_config
from dirguard.services.capture.use_cases import SnapshotRequest, snapshot
from dirguard.services.runtime import Runtime, open_runtime
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.helpers import ADMIN_SECRET_ENV, write_config


@contextmanager
def dc_runtime(
    tmp_path: Path,
    samba_dc: SambaDC,
    monkeypatch: pytest.MonkeyPatch,
    *,
    principal: str = "alice",
    sections: str = "",
    baseline: bool = True,
) -> Iterator[Runtime]:
    """A runtime for the DC as ``principal``; ``sections`` are more TOML tables (after the
    domain's); ``baseline``: a snapshot is taken first."""
    monkeypatch.setenv(ADMIN_SECRET_ENV, samba_dc.admin_password)
    path = write_config(tmp_path, samba_dc)
    path.write_text(path.read_text(encoding="utf-8") + "\n" + sections, encoding="utf-8")
    config = load_config(path).config
    with open_runtime(config, principal) as runtime:
        if baseline:
            snapshot(runtime, SnapshotRequest())
        yield runtime
