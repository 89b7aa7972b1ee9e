"""``dirguard diff`` (the session's real Samba AD DC, through the CLI): the changes of a bad
half hour under an OU show between two recorded moments and against the live directory, and
after the rollback the live directory under the OU is what it was."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ldap
import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.helpers import add_group, add_user, scratch_ou, write_config


class Cli:
    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.config, self.env = config, env

    def __call__(self, *args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(
            app, ["--config", str(self.config), *args, "--json"], env=self.env
        )
        assert result.exit_code == code, result.output
        return json.loads(result.stdout)


@pytest.mark.samba
def test_diff_between_moments_and_with_the_live_directory(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    cli = Cli(
        write_config(tmp_path, samba_dc), {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}
    )
    with scratch_ou(ldap_admin, f"OU={unique('diff')},{samba_dc.base_dn}") as ou:
        kept, gone = f"CN={unique('kept')},{ou}", f"CN={unique('gone')},{ou}"
        group = f"CN={unique('grp')},{ou}"
        add_user(ldap_admin, kept, unique("kept"))
        add_user(ldap_admin, gone, unique("gone"))
        add_group(ldap_admin, group, unique("grp"))
        cli("snapshot", "ad")
        before = datetime.now(UTC).isoformat()

        ldap_admin.modify_s(kept, [(ldap.MOD_REPLACE, "description", [b"changed by the rogue"])])
        ldap_admin.modify_s(group, [(ldap.MOD_ADD, "member", [kept.encode()])])
        ldap_admin.delete_s(gone)
        new = f"CN={unique('new')},{ou}"
        add_user(ldap_admin, new, unique("new"))
        cli("capture", "ad")
        after = datetime.now(UTC).isoformat()

        for moments in (("--to", after), ("--live",)):
            report = cli("diff", "--from", before, *moments, "--under", ou, code=1)
            found = {d["dn"]: d for d in report["differences"]}
            assert found[kept]["presence"] == "changed"
            fields = {f["field"]: f for f in found[kept]["fields"]}
            assert fields["description"]["after"] == ["changed by the rogue"]
            assert fields["description"]["before"] is None
            members = {f["field"]: f for f in found[group]["fields"]}["member"]
            assert members["added"] == [kept] and members["removed"] == []
            assert found[gone]["presence"] == "removed"
            assert found[new]["presence"] == "added"
            assert set(found) == {kept, group, gone, new}, sorted(found)
            assert report["counts"] == {"added": 1, "removed": 1, "changed": 2}

        same = cli("diff", "--from", before, "--to", before, "--under", ou)
        assert same["same"] and same["compared"] == 4

        plan = cli("rollback", "plan", "--under", ou, "--since", before)
        applied = cli("rollback", "apply", str(plan["id"]))
        assert applied["status"] == "applied", applied
        shown = cli("rollback", "show", str(plan["id"]))  # the stored plan, as it stands
        assert (shown["id"], shown["status"]) == (plan["id"], "applied")
        assert [s["status"] for s in shown["steps"]] == [s["status"] for s in applied["steps"]]
        missing = CliRunner().invoke(
            app, ["--config", str(cli.config), "rollback", "show", "999999"], env=cli.env
        )
        assert missing.exit_code == 1 and "999999" in missing.output
        # Back as it was, but for what the DC itself keeps on a reanimated object: the
        # read-only lastKnownParent (set by the deletion) stays.
        restored = cli("diff", "--from", before, "--live", "--under", ou, code=1)
        [left] = restored["differences"]
        assert (left["dn"], left["presence"]) == (gone, "changed")
        assert [f["field"] for f in left["fields"]] == ["lastKnownParent"]
