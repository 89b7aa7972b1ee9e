"""An elevation a running apply holds is never revoked from under it, and one a killed apply
left behind is revoked by a running ``dirguard monitor`` on its own timer — the read-only
account does not stay a Domain Admin until the next command starts (the session's real Samba AD
DC, the real CLI in child processes)."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.accounts import (
    DIRGUARD,
    Account,
    cli_json,
    cli_runner,
    domain_admins,
    group_members,
    ro_account,
)
from tests.rollback.helpers import add_user, scratch_ou
from tests.rollback.test_elevation import (
    _config,
    _description_plan,
    _kill,
    _leave_group,
    _paused_apply,
)

pytestmark = pytest.mark.samba

__all__ = ["ro_account"]

REVOKE_WAIT_S = 90.0
"""How long the test waits for the monitor's check (not a timing assertion)."""


def test_a_running_applys_elevation_stays_and_a_killed_ones_is_revoked_by_the_monitor(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
) -> None:
    config, env = _config(tmp_path, samba_dc, ro_account)
    run = cli_runner(config, env)
    admins = domain_admins(samba_dc)
    with scratch_ou(ldap_admin, f"OU={unique('lease')},{samba_dc.base_dn}") as ou:
        dn = f"CN=lea,{ou}"
        add_user(ldap_admin, dn, unique("lea"), {"description": [b"original"]})
        run("snapshot", "ad")
        plan = _description_plan(run, tmp_path, ldap_admin, dn)
        child, _marker = _paused_apply(config, env, tmp_path, plan["id"])
        monitor: subprocess.Popen[str] | None = None
        log = tmp_path / "monitor.log"
        try:
            # The apply is alive and elevated: revoking now would pull the rights from under it.
            revoked = cli_json(config, {**os.environ, **env}, "elevation", "revoke")
            assert revoked["revoked"] == []
            assert ro_account.dn.lower() in group_members(ldap_admin, admins)

            with log.open("w", encoding="utf-8") as err:
                monitor = subprocess.Popen(
                    [DIRGUARD, "--config", str(config), "monitor", "--elevation-check", "1"],
                    env={**os.environ, **env},
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    text=True,
                )
            _wait_until(lambda: "watching" in log.read_text(encoding="utf-8"), monitor, "start")
            _kill(child)  # killed while elevated: nothing ends the elevation but the monitor
            _wait_until(
                lambda: ro_account.dn.lower() not in group_members(ldap_admin, admins),
                monitor,
                "the elevation to be revoked",
            )
            assert run("elevation", "status")["pending"] == []
        finally:
            if child.poll() is None:
                _kill(child)
            if monitor is not None:
                monitor.terminate()
                monitor.wait(timeout=60)
            _leave_group(ldap_admin, admins, ro_account)
    assert "left by a dirguard that stopped" in log.read_text(encoding="utf-8")


def _wait_until(done: Callable[[], bool], monitor: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + REVOKE_WAIT_S
    while not done():
        assert monitor.poll() is None, "the monitor exited"
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.3)
