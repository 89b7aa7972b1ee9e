"""``python -m tests.rollback.entra_elevation_child CONFIG PLAN_ID``: apply a stored
``entra.patch`` plan through the guarded apply with just-in-time elevation, as a separate
process the crash test can SIGKILL while it is elevated (``TEST_DIRGUARD_PAUSE_AFTER_ELEVATION``
names the marker file it waits on)."""

from __future__ import annotations

import sys
from pathlib import Path

from dirguard.config.loader import load_config
from dirguard.services.rollback.entra_access import entra_access
from dirguard.services.rollback.guarded_apply import apply_guarded
from dirguard.services.runtime import open_runtime
from tests.rollback.entra_patch_writer import writer_for


def main(config_path: str, plan_id: str) -> None:
    config = load_config(Path(config_path), require_file=True).config
    [tenant] = config.entra.tenants
    with open_runtime(config, "crash-test") as runtime:
        access = entra_access(runtime, tenant, lambda: writer_for(runtime, tenant))
        apply_guarded(runtime.sessions, access, int(plan_id), requested_by="crash-test")


if __name__ == "__main__":
    main(*sys.argv[1:3])
