"""Undoing creates under the ``--disable-instead`` policy on the session's real Samba AD DC: the
user the selected window created is kept and disabled, the OU it created is still deleted (only
accounts can be disabled), and the plan says so."""

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


def test_created_user_is_disabled_and_created_ou_deleted(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    runner = CliRunner()
    config = write_config(tmp_path, samba_dc)
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}

    def run(*args: str) -> Any:
        result = runner.invoke(app, ["--config", str(config), *args, "--json"], env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    ou = f"OU={unique('dis')},{samba_dc.base_dn}"
    add_ou(ldap_admin, ou)
    try:
        run("snapshot", "ad")
        since = utcnow().isoformat()
        user, made_ou = f"CN=temp,{ou}", f"OU=made,{ou}"
        add_user(
            ldap_admin,
            user,
            unique("temp"),
            {"userAccountControl": [b"512"], "unicodePwd": ['"Pa55word!x1"'.encode("utf-16-le")]},
        )
        add_ou(ldap_admin, made_ou)
        assert int(read(ldap_admin, user, "userAccountControl")["userAccountControl"][0]) == 512

        plan = run("rollback", "plan", "--under", ou, "--since", since, "--disable-instead")
        assert [s["description"] for s in plan["steps"]] == [
            f"Disable {user} (created by the selected change; kept and disabled by the "
            "--disable-instead policy)",
            f"Delete {made_ou} (created by the selected change)",
        ]
        assert plan["selection"]["warnings"] == [
            f"{made_ou} was created by the selection and is not an account that can be "
            "disabled; it is deleted"
        ]
        applied = run("rollback", "apply", str(plan["id"]))
        assert applied["status"] == "applied", applied["steps"]
        assert int(read(ldap_admin, user, "userAccountControl")["userAccountControl"][0]) == 514
        with pytest.raises(ldap.NO_SUCH_OBJECT):
            read(ldap_admin, made_ou, "ou")
    finally:
        remove_tree(ldap_admin, ou)
