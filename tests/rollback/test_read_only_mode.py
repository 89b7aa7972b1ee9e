"""Read-only mode and the rights check, against the session's real Samba AD DC.

A read-only monitoring account (a plain user with DirSync rights only) takes a snapshot and a
capture pass and makes a plan; applying it is refused before any write, and Samba's own audit
log shows no write by that account. In full mode, an account outside Domain Admins is refused
with the missing group's name."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest
from sqlalchemy import select

from dirguard.store.database import create_engine_for, session_factory
from dirguard.store.models import AuditRecord, RestorePlan
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.accounts import Account, cli_runner, ro_account, writes_by
from tests.rollback.helpers import (
    add_user,
    events_of,
    guid_of,
    read,
    scratch_ou,
    write_config,
)

pytestmark = pytest.mark.samba

__all__ = ["ro_account"]


def _first_description_change(tmp_path: Path, ldap_admin: Any, dn: str) -> int:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        [event] = events_of(
            session_factory(engine), guid_of(ldap_admin, dn), "modify", "description"
        )
        return event.sequence
    finally:
        engine.dispose()


def _audit(tmp_path: Path) -> list[AuditRecord]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with session_factory(engine)() as session:
            return list(session.scalars(select(AuditRecord).order_by(AuditRecord.id)))
    finally:
        engine.dispose()


def _plan_status(tmp_path: Path, plan_id: int) -> str:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with session_factory(engine)() as session:
            return session.get_one(RestorePlan, plan_id).status
    finally:
        engine.dispose()


def test_read_only_mode_writes_nothing_to_the_directory(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
) -> None:
    config = write_config(
        tmp_path, samba_dc, mode="read-only", bind_upn=ro_account.upn, secret_env="TEST_RO_PW"
    )
    run = cli_runner(config, {"TEST_RO_PW": ro_account.password})
    with scratch_ou(ldap_admin, f"OU={unique('ro')},{samba_dc.base_dn}") as ou_dn:
        dn = f"CN=rita,{ou_dn}"
        add_user(ldap_admin, dn, unique("rita"), {"description": [b"before"]})
        run("snapshot", "ad")
        ldap_admin.modify_s(dn, [(ldap.MOD_REPLACE, "description", [b"after"])])
        assert run("capture", "ad")["captures"][0]["events"] >= 1
        event = _first_description_change(tmp_path, ldap_admin, dn)
        plan = run("rollback", "plan", "--event", str(event))
        assert [s["status"] for s in plan["steps"]] == ["planned"]

        check = run("rollback", "check", str(plan["id"]), code=2, as_json=False)
        assert "refuse: " in check.stdout and "read-only mode" in check.stdout
        refused = run("rollback", "apply", str(plan["id"]), "--as", "carol", code=2, as_json=False)
        assert "read-only mode" in refused.stderr
        assert "elevation_bind_upn" in refused.stderr

        assert read(ldap_admin, dn, "description")["description"] == [b"after"]
        assert _plan_status(tmp_path, plan["id"]) == "planned"
        [denied] = [r for r in _audit(tmp_path) if r.action == "rollback.refused"]
        assert denied.actor == "carol" and denied.outcome == "denied"
        assert "read-only mode" in denied.details["reason"]
    # Samba's own audit trail: the admin's change is there, nothing by the read-only account.
    assert writes_by(samba_dc, ro_account.sid) == []


def test_read_only_undelete_is_refused_before_any_write(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
) -> None:
    config = write_config(
        tmp_path, samba_dc, mode="read-only", bind_upn=ro_account.upn, secret_env="TEST_RO_PW"
    )
    run = cli_runner(config, {"TEST_RO_PW": ro_account.password})
    with scratch_ou(ldap_admin, f"OU={unique('rou')},{samba_dc.base_dn}") as ou_dn:
        run("snapshot", "ad")
        dn = f"CN=ulla,{ou_dn}"
        add_user(ldap_admin, dn, unique("ulla"), {"description": [b"kept"]})
        run("capture", "ad")
        ldap_admin.delete_s(dn)
        refused = run("undelete", dn, code=2, as_json=False)
        assert "read-only mode" in refused.stderr
        found = ldap_admin.search_s(ou_dn, ldap.SCOPE_ONELEVEL, "(objectClass=user)", ["1.1"])
        assert [d for d, _a in found if d] == []
    assert writes_by(samba_dc, ro_account.sid) == []


def test_full_mode_refuses_an_account_outside_domain_admins(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
) -> None:
    config = write_config(
        tmp_path, samba_dc, mode="full", bind_upn=ro_account.upn, secret_env="TEST_RO_PW"
    )
    run = cli_runner(config, {"TEST_RO_PW": ro_account.password})
    with scratch_ou(ldap_admin, f"OU={unique('pc')},{samba_dc.base_dn}") as ou_dn:
        dn = f"CN=pia,{ou_dn}"
        add_user(ldap_admin, dn, unique("pia"), {"description": [b"one"]})
        run("snapshot", "ad")
        ldap_admin.modify_s(dn, [(ldap.MOD_REPLACE, "description", [b"two"])])
        run("capture", "ad")
        plan = run(
            "rollback", "plan", "--event", str(_first_description_change(tmp_path, ldap_admin, dn))
        )
        check = run("rollback", "check", str(plan["id"]), "--json", code=2, as_json=False)
        checked = json.loads(check.stdout)
        assert checked["would"] == "refuse" and checked["mode"] == "full"
        assert [m["group"] for m in checked["rights"]["missing"]] == ["Domain Admins"]
        refused = run("rollback", "apply", str(plan["id"]), code=2, as_json=False)
        assert "not a member of Domain Admins" in refused.stderr
        assert "domain partition" in refused.stderr
        assert ro_account.name in refused.stderr
        assert read(ldap_admin, dn, "description")["description"] == [b"two"]
        assert _plan_status(tmp_path, plan["id"]) == "planned"
    assert writes_by(samba_dc, ro_account.sid) == []
