"""An apply that stopped after a write and before recording it can be finished (the session's
real Samba AD DC, through the CLI): the steps an interrupted apply already performed — a
reanimation, attributes, a membership, a permission change — count as done when the plan is
applied again, instead of failing ("Trying to restore not deleted object") or being skipped as
"changed again"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.providers.ad.apply import perform
from dirguard.providers.ad.plan.steps import planned_step
from dirguard.services.rollback.steps import pending_plan
from dirguard.store.database import create_engine_for, session_factory
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.rollback.accounts import cli_runner
from tests.rollback.helpers import add_group, add_user, read, scratch_ou, write_config


@pytest.mark.samba
def test_an_interrupted_apply_is_finished_by_applying_again(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    samba_tool: Callable[..., str],
) -> None:
    from dirguard.providers.ad.connection import connect

    run = cli_runner(
        write_config(tmp_path, samba_dc), {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}
    )
    with scratch_ou(ldap_admin, f"OU={unique('resume')},{samba_dc.base_dn}") as ou:
        user, group = f"CN={unique('usr')},{ou}", f"CN={unique('grp')},{ou}"
        add_user(ldap_admin, user, unique("usr"), {"description": [b"before"]})
        add_group(ldap_admin, group, unique("grp"))
        ldap_admin.modify_s(group, [(ldap.MOD_ADD, "member", [user.encode()])])
        run("snapshot", "ad")
        since = datetime.now(UTC).isoformat()
        ldap_admin.modify_s(user, [(ldap.MOD_REPLACE, "description", [b"after"])])
        samba_tool("dsacl", "set", f"--objectdn={ou}", "--sddl=(A;;RPWP;;;AU)")
        ldap_admin.delete_s(user)
        run("capture", "ad")
        plan = run("rollback", "plan", "--under", ou, "--since", since)
        kinds = [s["kind"] for s in plan["steps"]]
        assert {"reanimate", "set-security", "add-value"} <= set(kinds), kinds

        # An apply that performed every step and was killed before recording any of them.
        engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
        pending = pending_plan(session_factory(engine), plan["id"])
        engine.dispose()
        with connect(domain_config(samba_dc), samba_dc.admin_password) as conn:
            for position in sorted(pending.steps):
                result = perform(conn, planned_step(pending.steps[position][1]), force=False)
                assert result.status in ("succeeded", "unchanged"), result

        applied = run("rollback", "apply", str(plan["id"]))
        assert applied["status"] == "applied", [s["outcome"] for s in applied["steps"]]
        statuses = {s["status"] for s in applied["steps"] if s["status"] != "skipped"}
        assert statuses == {"unchanged"}, applied["steps"]
        assert read(ldap_admin, user, "description")["description"] == [b"before"]
