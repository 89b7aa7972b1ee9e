"""One LDAP modify is one audited change: a single-valued link replaced by a delegate (``replace:
manager``) shows as the new value added and the old one removed, and both carry the delegate as
their actor (the session's real Samba AD DC, its JSON audit, through the CLI), so a plan for
the delegate's changes alone puts the old manager back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.accounts import cli_runner
from tests.rollback.helpers import add_user, read, write_config
from tests.who.conftest import Delegation
from tests.who.helpers import DELEGATE_PASSWORD, bind_as


@pytest.mark.samba
def test_a_replaced_manager_is_one_change_with_one_actor(
    samba_dc: SambaDC, tmp_path: Path, delegation: Delegation, ldap_admin: Any
) -> None:
    tag = delegation.user[-8:]
    old, new, user = (f"CN={n}{tag},{delegation.ou_dn}" for n in ("mgra", "mgrb", "emp"))
    add_user(ldap_admin, old, f"mgra{tag}")
    add_user(ldap_admin, new, f"mgrb{tag}")
    add_user(ldap_admin, user, f"emp{tag}", {"manager": [old.encode()]})
    run = cli_runner(
        write_config(tmp_path, samba_dc), {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}
    )
    run("snapshot", "ad")

    delegate = bind_as(samba_dc, f"{delegation.user}@{samba_dc.realm}", DELEGATE_PASSWORD)
    try:
        delegate.modify_s(user, [(ldap.MOD_REPLACE, "manager", [new.encode()])])
    finally:
        delegate.unbind_s()
    run("capture", "ad")

    changes = run("changes", "--object", user, "--attribute", "manager")["changes"]
    by_op = {c["op"]: c for c in changes}
    assert set(by_op) == {"add-value", "remove-value"}, changes
    assert by_op["add-value"]["new"].lower() == new.lower()
    assert by_op["remove-value"]["old"].lower() == old.lower()
    actors = {c["actor"] for c in changes}
    assert len(actors) == 1 and actors.pop().lower().endswith("\\" + delegation.user.lower())

    plan = run("rollback", "plan", "--actor", delegation.user, "--since", changes[0]["observed_at"])
    assert not plan.get("unattributed_left_out"), plan
    applied = run("rollback", "apply", str(plan["id"]))
    assert applied["status"] == "applied", applied
    assert [v.decode().lower() for v in read(ldap_admin, user, "manager")["manager"]] == [
        old.lower()
    ]
