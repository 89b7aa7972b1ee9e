"""``dirguard restore OBJECT --at TIME`` on the session's real Samba AD DC: the plan is printed
and nothing written without ``--apply``; with it the object is back (attributes and place), a
second run finds nothing to do; bad input gets a clear error and a non-zero exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.store.column_types import utcnow
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.helpers import add_ou, add_user, read, remove_tree, write_config

pytestmark = pytest.mark.samba


def test_restore_plans_then_applies_an_object_back_to_a_moment(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    runner = CliRunner()
    config = write_config(tmp_path, samba_dc)
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}

    def run(*args: str, code: int = 0) -> Any:
        result = runner.invoke(app, ["--config", str(config), *args], env=env)
        assert result.exit_code == code, result.output
        return result

    ou = f"OU={unique('rest')},{samba_dc.base_dn}"
    away = f"OU=away,{ou}"
    add_ou(ldap_admin, ou)
    add_ou(ldap_admin, away)
    try:
        sam = unique("rosa")
        dn, moved = f"CN=rosa,{ou}", f"CN=rosa-x,{away}"
        add_user(ldap_admin, dn, sam, {"description": [b"original"], "title": [b"Clerk"]})
        run("snapshot", "ad", "--json")
        moment = utcnow().isoformat()
        ldap_admin.modify_s(
            dn, [(ldap.MOD_REPLACE, "description", [b"changed"]), (ldap.MOD_DELETE, "title", None)]
        )
        ldap_admin.rename_s(dn, "CN=rosa-x", away)

        planned = json.loads(run("restore", sam, "--at", moment, "--json").stdout)
        assert planned["apply_with"] == f"dirguard rollback apply {planned['id']}"
        assert [s["description"] for s in planned["steps"]] == [
            f"Move {moved} back to {ou} as CN=rosa",
            f"Set description of {moved} from 'changed' back to 'original'",
            f"Set title of {moved} from (empty) back to 'Clerk'",
        ]
        assert read(ldap_admin, moved, "description")["description"] == [b"changed"], "it wrote"
        text = run("restore", sam, "--at", moment, "--no-refresh").stdout
        assert "Nothing was written. Apply it with: dirguard rollback apply" in text

        applied = json.loads(run("restore", sam, "--at", moment, "--apply", "--json").stdout)
        assert applied["status"] == "applied"
        assert {s["status"] for s in applied["steps"]} == {"succeeded"}
        now = read(ldap_admin, dn, "description", "title")
        assert now == {"description": [b"original"], "title": [b"Clerk"]}

        again = json.loads(run("restore", sam, "--at", moment, "--json").stdout)
        assert again["plan"] is None, "nothing left to restore"

        missing = run("restore", "nobody-here", "--at", moment, "--no-refresh", code=1)
        assert "no object 'nobody-here'" in missing.output
        early = run("restore", sam, "--at", "2001-01-01", "--no-refresh", code=1)
        assert "dirguard had not recorded" in early.output
        bad = run("restore", sam, "--at", "yesterday", code=2)
        assert "'yesterday' is not an ISO 8601 time" in bad.output
    finally:
        remove_tree(ldap_admin, ou)
