"""Just-in-time elevation against the session's real Samba AD DC.

The read-only account (a plain user with DirSync rights) is configured with an elevation
credential (the DC's admin). A rollback adds it to Domain Admins just for the plan and removes it
afterwards: after success, after a failed step, and, when dirguard was killed while elevated,
at the next ``dirguard elevation revoke`` or ``rollback apply``. Every elevation is in dirguard's
audit log, and its membership changes are dirguard's own writes in the history.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ldap
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.services.rollback.elevation import PAUSE_ENV
from dirguard.store.database import create_engine_for, session_factory
from dirguard.store.models import AuditRecord, ChangeEvent
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.accounts import (
    DIRGUARD,
    REPLICATE_CHANGES,
    REPLICATE_CHANGES_ALL,
    Account,
    cli_json,
    cli_runner,
    domain_admins,
    group_members,
    ro_account,
)
from tests.rollback.helpers import (
    add_ou,
    add_user,
    events_of,
    guid_of,
    read,
    remove_tree,
    scratch_ou,
    write_config,
)

pytestmark = pytest.mark.samba

__all__ = ["ro_account"]

MARKER_WAIT_S = 120.0
"""How long the crash test waits for the paused child to report its elevation (not a timing
assertion: a slow machine only waits longer)."""


def _config(tmp_path: Path, dc: SambaDC, account: Account) -> tuple[Path, dict[str, str]]:
    config = write_config(
        tmp_path,
        dc,
        mode="read-only",
        bind_upn=account.upn,
        secret_env="TEST_RO_PW",
        extra=(
            f'elevation_bind_upn = "{dc.admin_upn}"\nelevation_password = "env:TEST_ELEVATION_PW"\n'
        ),
    )
    return config, {"TEST_RO_PW": account.password, "TEST_ELEVATION_PW": dc.admin_password}


def _store(tmp_path: Path) -> Any:
    return create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")


def _audit(tmp_path: Path, prefix: str) -> list[AuditRecord]:
    engine = _store(tmp_path)
    try:
        with session_factory(engine)() as session:
            query = select(AuditRecord).where(AuditRecord.action.startswith(prefix))
            return list(session.scalars(query.order_by(AuditRecord.id)))
    finally:
        engine.dispose()


def _membership_events(
    tmp_path: Path, ldap_admin: Any, dc: SambaDC, account: Account
) -> list[ChangeEvent]:
    """The recorded changes of Domain Admins' ``member`` that name ``account``."""
    engine = _store(tmp_path)
    try:
        sessions = session_factory(engine)
        group_guid = guid_of(ldap_admin, domain_admins(dc))
        events = events_of(sessions, group_guid, "add-value", "member") + events_of(
            sessions, group_guid, "remove-value", "member"
        )
    finally:
        engine.dispose()
    return [
        e for e in events if account.dn.lower() in json.dumps([e.old_value, e.new_value]).lower()
    ]


def _description_plan(
    run: Callable[..., Any], tmp_path: Path, ldap_admin: Any, dn: str
) -> dict[str, Any]:
    """Change ``dn``'s description as the admin, capture it, plan its undo."""
    ldap_admin.modify_s(dn, [(ldap.MOD_REPLACE, "description", [b"changed"])])
    run("capture", "ad")
    engine = _store(tmp_path)
    try:
        [event] = events_of(
            session_factory(engine), guid_of(ldap_admin, dn), "modify", "description"
        )
    finally:
        engine.dispose()
    plan: dict[str, Any] = run("rollback", "plan", "--event", str(event.sequence))
    return plan


def _leave_group(ldap_admin: Any, group_dn: str, account: Account) -> None:
    """Clean-up: take ``account`` out of ``group_dn`` if a failed test left it there."""
    if account.dn.lower() in group_members(ldap_admin, group_dn):
        ldap_admin.modify_s(group_dn, [(ldap.MOD_DELETE, "member", [account.dn.encode()])])


def test_elevation_is_granted_for_the_rollback_and_gone_afterwards(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
) -> None:
    config, env = _config(tmp_path, samba_dc, ro_account)
    run = cli_runner(config, env)
    with scratch_ou(ldap_admin, f"OU={unique('elev')},{samba_dc.base_dn}") as ou_dn:
        dn = f"CN=emil,{ou_dn}"
        add_user(ldap_admin, dn, unique("emil"), {"description": [b"original"]})
        run("snapshot", "ad")
        plan = _description_plan(run, tmp_path, ldap_admin, dn)

        checked = run("rollback", "check", str(plan["id"]))
        assert checked["would"] == "elevate" and checked["elevation_configured"]
        assert [m["group"] for m in checked["rights"]["missing"]] == ["Domain Admins"]
        assert ro_account.dn.lower() not in group_members(ldap_admin, domain_admins(samba_dc))

        applied = run("rollback", "apply", str(plan["id"]), "--requested-by", "alice")
        assert applied["status"] == "applied"
        assert [s["status"] for s in applied["steps"]] == ["succeeded"]
        assert read(ldap_admin, dn, "description")["description"] == [b"original"]
        assert applied["rights"]["ok"] and len(applied["elevations"]) == 1
        assert ro_account.dn.lower() not in group_members(ldap_admin, domain_admins(samba_dc))

        status = run("elevation", "status")
        assert status["pending"] == []
        [done] = [r for r in status["recent"] if r["id"] == applied["elevations"][0]]
        assert done["status"] == "ended" and done["group"] == "Domain Admins"
        assert done["account"] == ro_account.upn and done["requested_by"] == "alice"
        assert done["reason"] == f"rollback plan {plan['id']}" and done["ended_at"]

        grant, end = _audit(tmp_path, "elevation.")
        assert (grant.action, end.action) == ("elevation.grant", "elevation.end")
        assert grant.actor == end.actor == "alice"
        assert end.details["group"] == "Domain Admins" and end.details["account"] == ro_account.upn
        assert end.details["started_at"] < end.details["ended_at"]

        # Added and removed between two capture passes: the history holds no membership change.
        run("capture", "ad")
        assert _membership_events(tmp_path, ldap_admin, samba_dc, ro_account) == []


def test_a_failed_step_still_ends_the_elevation(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
) -> None:
    config, env = _config(tmp_path, samba_dc, ro_account)
    run = cli_runner(config, env)
    with scratch_ou(ldap_admin, f"OU={unique('elf')},{samba_dc.base_dn}") as ou_dn:
        dn = f"CN=fred,{ou_dn}"
        add_user(ldap_admin, dn, unique("fred"), {"description": [b"original"]})
        run("snapshot", "ad")
        plan = _description_plan(run, tmp_path, ldap_admin, dn)
        ldap_admin.delete_s(dn)  # the step's object is gone: the step fails

        failed = run("rollback", "apply", str(plan["id"]), code=1)
        assert failed["status"] == "failed"
        [step] = failed["steps"]
        assert step["status"] == "failed" and "deleted" in step["outcome"]
        assert len(failed["elevations"]) == 1
        assert ro_account.dn.lower() not in group_members(ldap_admin, domain_admins(samba_dc))
        assert run("elevation", "status")["pending"] == []
        assert [r.action for r in _audit(tmp_path, "elevation.")] == [
            "elevation.grant",
            "elevation.end",
        ]


def _wait_for(path: Path, child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + MARKER_WAIT_S
    while not path.exists():
        if child.poll() is not None:
            _out, err = child.communicate()
            pytest.fail(f"dirguard exited ({child.returncode}) before elevating: {err[-800:]}")
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail(f"dirguard did not elevate within {MARKER_WAIT_S} s")
        time.sleep(0.1)


def _paused_apply(
    config: Path, env: dict[str, str], tmp_path: Path, plan_id: int, *extra: str
) -> tuple[subprocess.Popen[str], Path]:
    """``dirguard rollback apply PLAN`` in a child process, paused by the test hook once the
    elevation is granted (the marker file exists; removing it lets the child go on)."""
    marker = tmp_path / "elevated.pid"
    child = subprocess.Popen(
        [DIRGUARD, "--config", str(config), "rollback", "apply", str(plan_id), *extra],
        env={**os.environ, **env, PAUSE_ENV: str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(marker, child)
    return child, marker


def _kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.communicate()
    assert child.returncode == -signal.SIGKILL


@contextlib.contextmanager
def _killed_with_pending_elevation(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
    tag: str,
    person: str,
) -> Iterator[tuple[Path, dict[str, str], Callable[..., Any], dict[str, Any], str]]:
    """A description-change plan whose apply was killed while elevated: ``(config, env, run,
    plan, Domain Admins' DN)``, the read-only account still a member; cleaned up afterwards."""
    config, env = _config(tmp_path, samba_dc, ro_account)
    run = cli_runner(config, env)
    ou_dn = f"OU={unique(tag)},{samba_dc.base_dn}"
    add_ou(ldap_admin, ou_dn)
    admins = domain_admins(samba_dc)
    try:
        dn = f"CN={person},{ou_dn}"
        add_user(ldap_admin, dn, unique(person), {"description": [b"original"]})
        run("snapshot", "ad")
        plan = _description_plan(run, tmp_path, ldap_admin, dn)
        child, _marker = _paused_apply(config, env, tmp_path, plan["id"])
        _kill(child)
        assert ro_account.dn.lower() in group_members(ldap_admin, admins)
        yield config, env, run, plan, admins
    finally:
        _leave_group(ldap_admin, admins, ro_account)
        remove_tree(ldap_admin, ou_dn)


def test_a_killed_dirguard_leaves_a_pending_elevation_that_the_next_start_revokes(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
) -> None:
    began = datetime.now(UTC).isoformat()
    config, env = _config(tmp_path, samba_dc, ro_account)
    run = cli_runner(config, env)
    ou_dn = f"OU={unique('elk')},{samba_dc.base_dn}"
    add_ou(ldap_admin, ou_dn)
    admins = domain_admins(samba_dc)
    try:
        dn = f"CN=kai,{ou_dn}"
        add_user(ldap_admin, dn, unique("kai"), {"description": [b"original"]})
        run("snapshot", "ad")
        plan = _description_plan(run, tmp_path, ldap_admin, dn)

        child, _marker = _paused_apply(config, env, tmp_path, plan["id"])
        assert ro_account.dn.lower() in group_members(ldap_admin, admins)
        _kill(child)

        # Still a member: nothing ran after the kill. The store knows it is pending.
        assert ro_account.dn.lower() in group_members(ldap_admin, admins)
        [pending] = run("elevation", "status")["pending"]
        assert pending["group"] == "Domain Admins" and pending["account"] == ro_account.upn
        assert read(ldap_admin, dn, "description")["description"] == [b"changed"]
        # A capture pass now sees the membership: it is dirguard's own write, not the admin's.
        run("capture", "ad")
        [added] = _membership_events(tmp_path, ldap_admin, samba_dc, ro_account)
        assert added.op == "add-value" and added.actor_source == "dirguard"
        assert added.actor == f"dirguard (for {getpass.getuser()}; elevation {pending['id']})"

        revoked = cli_json(
            config, {**os.environ, **env}, "elevation", "revoke", "--requested-by", "oscar"
        )
        assert [r["id"] for r in revoked["revoked"]] == [pending["id"]]
        assert revoked["revoked"][0]["status"] == "ended"
        assert "later start" in revoked["revoked"][0]["end_note"]
        assert ro_account.dn.lower() not in group_members(ldap_admin, admins)
        assert run("elevation", "status")["pending"] == []
        grant, revoke = _audit(tmp_path, "elevation.")
        assert (grant.action, revoke.action) == ("elevation.grant", "elevation.revoke")
        assert revoke.details["ended_by"] == "oscar" and revoke.actor == getpass.getuser()
        run("capture", "ad")
        events = _membership_events(tmp_path, ldap_admin, samba_dc, ro_account)
        assert [e.op for e in events] == ["add-value", "remove-value"]
        assert all(e.actor_source == "dirguard" for e in events)
        # Never offered back as the elevation account's change: a plan for everything that
        # account did since the test began holds the description change, not the membership.
        elevator = f"{samba_dc.domain}\\{samba_dc.admin_user}"
        undo = run("rollback", "plan", "--actor", elevator, "--since", began, "--no-refresh")
        assert undo["steps"] and all(s["dn"].lower() != admins.lower() for s in undo["steps"])
        assert all("Domain Admins" not in s["description"] for s in undo["steps"])

        # The plan was never started: it applies now, with a fresh elevation that ends.
        applied = run("rollback", "apply", str(plan["id"]))
        assert applied["status"] == "applied"
        assert read(ldap_admin, dn, "description")["description"] == [b"original"]
        assert ro_account.dn.lower() not in group_members(ldap_admin, admins)
    finally:
        _leave_group(ldap_admin, admins, ro_account)
        remove_tree(ldap_admin, ou_dn)


def test_the_next_apply_revokes_a_pending_elevation_first(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
) -> None:
    with _killed_with_pending_elevation(
        samba_dc, tmp_path, ldap_admin, unique, ro_account, "eln", "nina"
    ) as (config, env, _run, plan, admins):
        result = CliRunner().invoke(
            app, ["--config", str(config), "rollback", "apply", str(plan["id"]), "--json"], env=env
        )
        assert result.exit_code == 0, result.output
        assert "revoked pending elevation" in result.stderr
        assert json.loads(result.stdout)["status"] == "applied"
        assert ro_account.dn.lower() not in group_members(ldap_admin, admins)
        assert [r.action for r in _audit(tmp_path, "elevation.")] == [
            "elevation.grant",
            "elevation.revoke",
            "elevation.grant",
            "elevation.end",
        ]


def test_undelete_in_read_only_mode_runs_inside_one_elevation(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
) -> None:
    """The read-only account is not shown tombstones: the capture and the plan run elevated."""
    config, env = _config(tmp_path, samba_dc, ro_account)
    run = cli_runner(config, env)
    with scratch_ou(ldap_admin, f"OU={unique('elu')},{samba_dc.base_dn}") as ou_dn:
        dn = f"CN=uwe,{ou_dn}"
        sam = unique("uwe")
        add_user(ldap_admin, dn, sam, {"description": [b"kept"]})
        guid = guid_of(ldap_admin, dn)
        run("snapshot", "ad")
        ldap_admin.delete_s(dn)

        done = run("undelete", sam, "--as", "dora")
        assert done["status"] == "applied" and len(done["elevations"]) == 1
        assert guid_of(ldap_admin, dn) == guid
        assert read(ldap_admin, dn, "description")["description"] == [b"kept"]
        assert ro_account.dn.lower() not in group_members(ldap_admin, domain_admins(samba_dc))
        [row] = run("elevation", "status")["recent"]
        assert row["status"] == "ended" and row["requested_by"] == "dora"
        assert row["plan_id"] == done["id"]
        assert row["reason"] == f"undelete {sam} (plan {done['id']})"


def test_an_elevation_that_cannot_be_ended_stays_pending_and_is_said(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
    samba_tool: Callable[..., str],
) -> None:
    """The elevation account is disabled while the rollback runs: the membership cannot be
    removed; apply says so (exit 1), the row stays pending, and a later revoke removes it."""
    elevator = unique("elevsvc")
    elevator_password = f"Pa55word!{elevator}"
    samba_tool("user", "create", elevator, elevator_password)
    samba_tool("group", "addmembers", "Domain Admins", elevator)
    config = write_config(
        tmp_path,
        samba_dc,
        mode="read-only",
        bind_upn=ro_account.upn,
        secret_env="TEST_RO_PW",
        extra=(
            f'elevation_bind_upn = "{elevator}@{samba_dc.realm}"\n'
            'elevation_password = "env:TEST_ELEVATION_PW"\n'
        ),
    )
    env = {"TEST_RO_PW": ro_account.password, "TEST_ELEVATION_PW": elevator_password}
    run = cli_runner(config, env)
    ou_dn = f"OU={unique('elx')},{samba_dc.base_dn}"
    add_ou(ldap_admin, ou_dn)
    admins = domain_admins(samba_dc)
    try:
        dn = f"CN=xena,{ou_dn}"
        add_user(ldap_admin, dn, unique("xena"), {"description": [b"original"]})
        run("snapshot", "ad")
        plan = _description_plan(run, tmp_path, ldap_admin, dn)
        child, marker = _paused_apply(config, env, tmp_path, plan["id"], "--json")
        samba_tool("user", "disable", elevator)
        marker.unlink()
        out, err = child.communicate()
        assert child.returncode == 1, err
        shown = json.loads(out)
        assert shown["status"] == "applied" and len(shown["elevation_problems"]) == 1
        assert "not ended" in err and "dirguard elevation revoke" in err
        assert read(ldap_admin, dn, "description")["description"] == [b"original"]
        assert ro_account.dn.lower() in group_members(ldap_admin, admins)
        [pending] = run("elevation", "status")["pending"]
        assert pending["id"] == shown["elevations"][0]

        samba_tool("user", "enable", elevator)
        revoked = run("elevation", "revoke")
        assert [r["id"] for r in revoked["revoked"]] == [pending["id"]]
        assert ro_account.dn.lower() not in group_members(ldap_admin, admins)
    finally:
        _leave_group(ldap_admin, admins, ro_account)
        ldap_admin.delete_s(f"CN={elevator},CN=Users,{samba_dc.base_dn}")
        remove_tree(ldap_admin, ou_dn)


def test_the_monitor_revokes_a_pending_elevation_when_it_starts(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
) -> None:
    with _killed_with_pending_elevation(
        samba_dc, tmp_path, ldap_admin, unique, ro_account, "elm", "mona"
    ) as (config, env, run, _plan, admins):
        result = CliRunner().invoke(
            app, ["--config", str(config), "monitor", "--once", "--json"], env=env
        )
        assert result.exit_code == 0, result.output
        assert "revoked pending elevation" in result.stderr
        assert ro_account.dn.lower() not in group_members(ldap_admin, admins)
        assert run("elevation", "status")["pending"] == []
        assert [r.action for r in _audit(tmp_path, "elevation.")] == [
            "elevation.grant",
            "elevation.revoke",
        ]


def test_undelete_of_a_configuration_object_is_elevated_to_enterprise_admins(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ro_account: Account,
    samba_tool: Callable[..., str],
) -> None:
    """A subnet lives in the configuration partition: its reanimation needs Enterprise Admins,
    which the elevation grants before planning (the rights are known from the stored DN)."""
    configuration = f"CN=Configuration,{samba_dc.base_dn}"
    rights = "".join(
        f"(OA;;CR;{right};;{ro_account.sid})"
        for right in (REPLICATE_CHANGES, REPLICATE_CHANGES_ALL)
    )
    samba_tool("dsacl", "set", f"--objectdn={configuration}", f"--sddl={rights}")
    config = write_config(
        tmp_path,
        samba_dc,
        mode="read-only",
        bind_upn=ro_account.upn,
        secret_env="TEST_RO_PW",
        extra=(
            f'elevation_bind_upn = "{samba_dc.admin_upn}"\n'
            'elevation_password = "env:TEST_ELEVATION_PW"\n'
            'partitions = ["domain", "configuration"]\n'
        ),
    )
    env = {"TEST_RO_PW": ro_account.password, "TEST_ELEVATION_PW": samba_dc.admin_password}
    run = cli_runner(config, env)
    octet = int(unique("")[:4], 16) % 250 + 1
    dn = f"CN=10.{octet}.77.0/24,CN=Subnets,CN=Sites,{configuration}"
    ldap_admin.add_s(dn, [("objectClass", [b"subnet"]), ("description", [b"Lyon office"])])
    try:
        guid = guid_of(ldap_admin, dn)
        run("snapshot", "ad")
        ldap_admin.delete_s(dn)

        done = run("undelete", guid, "--as", "dora")
        assert done["status"] == "applied"
        recent = run("elevation", "status")["recent"]
        granted = {row["group"] for row in recent if row["plan_id"] == done["id"]}
        assert "Enterprise Admins" in granted, recent
        assert {row["status"] for row in recent if row["plan_id"] == done["id"]} == {"ended"}
        assert guid_of(ldap_admin, dn) == guid
        assert read(ldap_admin, dn, "description")["description"] == [b"Lyon office"]
        enterprise_admins = f"CN=Enterprise Admins,CN=Users,{samba_dc.base_dn}"
        assert ro_account.dn.lower() not in group_members(ldap_admin, enterprise_admins)
    finally:
        with contextlib.suppress(ldap.NO_SUCH_OBJECT):
            ldap_admin.delete_s(dn)
