"""Conflicts through the CLI: a value changed again after the selected change is skipped with a
warning unless ``--force``; applying reports the skipped step and exits 1. Bad selections get a
clear error (against the session's real Samba AD DC)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.store.database import create_engine_for, session_factory
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.helpers import (
    add_user,
    events_of,
    guid_of,
    read,
    scratch_ou,
    write_config,
)

pytestmark = pytest.mark.samba


def test_a_conflict_is_skipped_without_force_and_undone_with_it(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    runner = CliRunner()
    config = write_config(tmp_path, samba_dc)
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}

    def run(*args: str, code: int = 0) -> dict[str, Any]:
        result = runner.invoke(app, ["--config", str(config), *args, "--json"], env=env)
        assert result.exit_code == code, result.output
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    with scratch_ou(ldap_admin, f"OU={unique('conf')},{samba_dc.base_dn}") as ou_dn:
        run("snapshot", "ad")
        dn = f"CN=dora,{ou_dn}"
        add_user(ldap_admin, dn, unique("dora"), {"description": [b"a"]})
        run("capture", "ad")
        ldap_admin.modify_s(dn, [(ldap.MOD_REPLACE, "description", [b"b"])])
        run("capture", "ad")
        ldap_admin.modify_s(dn, [(ldap.MOD_REPLACE, "description", [b"c"])])
        run("capture", "ad")
        engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
        try:
            first, _second = events_of(
                session_factory(engine), guid_of(ldap_admin, dn), "modify", "description"
            )
        finally:
            engine.dispose()

        plan = run("rollback", "plan", "--event", str(first.sequence))
        [step] = plan["steps"]
        assert step["status"] == "skipped"
        assert step["conflict"] == "changed again since: it is now 'c', not 'b'"
        assert any("skipped" in w for w in plan["selection"]["warnings"])
        applied = run("rollback", "apply", str(plan["id"]), code=1)
        assert applied["status"] == "partial"
        assert read(ldap_admin, dn, "description")["description"] == [b"c"]
        again = runner.invoke(
            app, ["--config", str(config), "rollback", "apply", str(plan["id"])], env=env
        )
        assert again.exit_code == 1 and "already applied" in again.stderr

        forced = run("rollback", "plan", "--event", str(first.sequence), "--force")
        assert [s["status"] for s in forced["steps"]] == ["planned"]
        done = run("rollback", "apply", str(forced["id"]))
        assert [s["status"] for s in done["steps"]] == ["succeeded"]
        assert read(ldap_admin, dn, "description")["description"] == [b"a"]


def test_bad_selections_get_clear_errors(samba_dc: SambaDC, tmp_path: Path) -> None:
    runner = CliRunner()
    config = write_config(tmp_path, samba_dc)
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}

    def fail(*args: str) -> Any:
        return runner.invoke(app, ["--config", str(config), "rollback", *args], env=env)

    none = fail("plan")
    assert none.exit_code == 2 and "exactly one of --event" in none.output
    assert "needs --to" in fail("plan", "--object", "x").output
    assert "needs --since" in fail("plan", "--actor", "x").output
    assert "not an ISO 8601 time" in fail("plan", "--object", "x", "--to", "yesterday").output
    unknown = fail("plan", "--event", "999999", "--no-refresh")
    assert unknown.exit_code == 1 and "no change #999999" in unknown.stderr
    missing = fail("apply", "4242")
    assert missing.exit_code == 1 and "no restore plan 4242" in missing.stderr
