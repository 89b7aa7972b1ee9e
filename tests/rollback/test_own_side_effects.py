"""What the directory itself changes on an object dirguard brings back (Samba sets
``primaryGroupID``, ``codePage``, ``countryCode``… on a reanimated account) is dirguard's doing:
after an undelete, every change the next capture records on the object is attributed to dirguard
on behalf of the operator, and a later actor plan with the unattributed changes offers none of
it back (the session's real Samba AD DC, through the CLI)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.helpers import add_user, scratch_ou, write_config


@pytest.mark.samba
def test_an_undeleted_accounts_side_effects_are_dirguards(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    config = write_config(tmp_path, samba_dc)

    def run(*args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(
            app,
            ["--config", str(config), *args, "--json"],
            env={"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password},
        )
        assert result.exit_code == code, result.output
        return json.loads(result.stdout) if result.stdout.strip() else None

    with scratch_ou(ldap_admin, f"OU={unique('side')},{samba_dc.base_dn}") as ou:
        sam = unique("back")
        user = f"CN={sam},{ou}"
        add_user(ldap_admin, user, sam, {"description": [b"kept"]})
        run("snapshot", "ad")
        ldap_admin.delete_s(user)
        run("capture", "ad")
        before = datetime.now(UTC).isoformat()
        applied = run("undelete", sam, "--as", "alice")
        assert applied["status"] == "applied", applied["steps"]
        run("capture", "ad")

        since = run("changes", "--object", sam, "--since", before)["changes"]
        assert since, "the undelete and the directory's own changes are recorded"
        assert {c["actor"] for c in since} == {"dirguard (for alice)"}, [
            (c["op"], c["attribute"], c["actor"]) for c in since
        ]
        replan = CliRunner().invoke(
            app,
            [
                *("--config", str(config), "rollback", "plan", "--actor", samba_dc.admin_user),
                *("--include-unattributed", "--since", before, "--json"),
            ],
            env={"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password},
        )
        assert replan.exit_code == 1, replan.output
        # nothing unattributed is left in the window: dirguard's own writes are not offered back
        assert "no recorded change by" in replan.output, replan.output
