"""Undoing a permission change (against the session's real Samba AD DC, through the CLI).

``samba-tool dsacl set`` grants a user write rights on an OU; ``dirguard changes`` shows the ACE
added; the plan for that change restores the DACL from dirguard's stored previous descriptor
with the SD-flags control; afterwards the ACE is gone and the rest of the DACL is what it was
(explicit ACEs compared: the DC re-derives inherited ones). A second DACL change after the
selected one makes the step a conflict, skipped unless ``--force``."""

from __future__ import annotations

import json
import struct
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import ldap
import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.directory import read_dacl, write_dacl
from dirguard.providers.ad.object_diff import security_descriptor_change
from dirguard.providers.ad.plan.restore_plan import HistoryEvent, ObjectFacts, StepKind
from dirguard.providers.ad.plan.undo_planner import plan_events, plan_point_in_time
from dirguard.providers.ad.sd import sddl_names as names
from dirguard.providers.ad.sd.dacl_edit import (
    INHERITED_ACE,
    access_allowed_ace,
    sid_to_bytes,
    with_aces_removed,
)
from dirguard.providers.ad.sd.sd_restore import explicit_aces, mismatch, sd_flags_of
from dirguard.providers.ad.sd.security_descriptor import parse_security_descriptor, sid_from_bytes
from dirguard.providers.ad.values import Content
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.store.column_types import utcnow
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.helpers import add_user, read, scratch_ou, write_config

DOMAIN = "S-1-5-21-1-2-3"
USER = f"{DOMAIN}-1105"
OU_DN = "OU=Sales,DC=corp,DC=example"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
AU_READ = access_allowed_ace("S-1-5-11", 0x20094)
USER_RPWP = access_allowed_ace(USER, 0x30)
USER_RC = access_allowed_ace(USER, 0x20000)
SYSTEM_INHERITED = bytes([0, INHERITED_ACE]) + access_allowed_ace("S-1-5-18", 0xF01FF)[2:]


def _sd(owner: str, aces: list[bytes]) -> bytes:
    """A self-relative descriptor: owner and group ``owner``, a DACL of ``aces``."""
    sid = sid_to_bytes(owner)
    body = b"".join(aces)
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(body), len(aces), 0) + body
    control = names.SE_SELF_RELATIVE | names.SE_DACL_PRESENT
    header = struct.pack("<BBHIIII", 1, 0, control, 20, 20 + len(sid), 0, 20 + 2 * len(sid))
    return header + sid + sid + acl


def _change(n: int, old: bytes, new: bytes) -> HistoryEvent:
    """The event as capture records it (SDDL and difference), with the stored bytes."""
    shown = security_descriptor_change("nTSecurityDescriptor", old, new, DOMAIN)
    return HistoryEvent(
        id=n,
        sequence=n,
        object_guid="ou",
        op=ChangeOp.MODIFY,
        attribute="nTSecurityDescriptor",
        old=shown.old,
        new=shown.new,
        when=WHEN,
        old_bytes=old,
        new_bytes=new,
    )


def _ou(current: bytes) -> dict[str, ObjectFacts]:
    content: Content = {"distinguishedName": [OU_DN], "nTSecurityDescriptor": [current]}
    return {
        "ou": ObjectFacts(
            guid="ou",
            resource_type=RESOURCE_TYPES["ad.organizational_unit"],
            dn=OU_DN,
            deleted=False,
            current=content,
        )
    }


def test_an_added_ace_is_undone_by_writing_the_earlier_dacl_only() -> None:
    before = _sd("S-1-5-32-544", [AU_READ, SYSTEM_INHERITED])
    after = _sd("S-1-5-32-544", [AU_READ, USER_RPWP, SYSTEM_INHERITED])
    [step] = plan_events([_change(1, before, after)], _ou(after)).steps
    assert step.kind is StepKind.SET_SECURITY and not step.skipped
    written = parse_security_descriptor(bytes(step.values[0]))
    assert (written.owner, written.group, written.sacl) == (None, None, None)
    assert sd_flags_of(bytes(step.values[0])) == 4
    assert written.dacl == parse_security_descriptor(before).dacl
    assert f"remove (A;;RPWP;;;{USER})" in step.description
    assert "Restore the DACL of OU=Sales" in step.description


def test_a_changed_owner_is_restored_with_the_dacl() -> None:
    before = _sd("S-1-5-32-544", [AU_READ])
    after = _sd(f"{DOMAIN}-512", [AU_READ, USER_RPWP])
    [step] = plan_events([_change(1, before, after)], _ou(after)).steps
    written = parse_security_descriptor(bytes(step.values[0]))
    assert (written.owner, written.group) == ("S-1-5-32-544", "S-1-5-32-544")
    assert sd_flags_of(bytes(step.values[0])) == 7
    assert "owner back from DA to BA" in step.description


def test_a_dacl_changed_again_is_skipped_unless_forced() -> None:
    before = _sd("S-1-5-32-544", [AU_READ])
    after = _sd("S-1-5-32-544", [AU_READ, USER_RPWP])
    later = _sd("S-1-5-32-544", [AU_READ, USER_RPWP, USER_RC])
    draft = plan_events([_change(1, before, after)], _ou(later))
    [step] = draft.steps
    assert step.skipped and step.conflict is not None
    assert f"explicit ACEs not expected: (A;;RC;;;{USER})" in step.conflict
    assert any("skipped" in w for w in draft.warnings)
    [forced] = plan_events([_change(1, before, after)], _ou(later), force=True).steps
    assert not forced.skipped and forced.conflict == step.conflict


def test_only_inherited_aces_reordered_is_no_conflict() -> None:
    before = _sd("S-1-5-32-544", [AU_READ])
    after = _sd("S-1-5-32-544", [AU_READ, USER_RPWP, SYSTEM_INHERITED])
    now = _sd("S-1-5-32-544", [USER_RPWP, AU_READ])
    [step] = plan_events([_change(1, before, after)], _ou(now)).steps
    assert step.conflict is None
    assert mismatch(after, now, 4) is None


def test_without_stored_descriptors_the_plan_says_so() -> None:
    before = _sd("S-1-5-32-544", [AU_READ])
    after = _sd("S-1-5-32-544", [AU_READ, USER_RPWP])
    event = replace(_change(7, before, after), old_bytes=None)
    draft = plan_events([event], _ou(after))
    assert draft.steps == ()
    assert draft.warnings == (
        f"{OU_DN}: dirguard holds no stored descriptor before and after change(s) 7; "
        "its security descriptor cannot be restored",
    )


def _explicit(conn: Any, dn: str) -> Counter[str]:
    raw = read(conn, dn, "nTSecurityDescriptor")["nTSecurityDescriptor"][0]
    return explicit_aces(parse_security_descriptor(raw))


def _dsacl_aces(printed: str) -> list[str]:
    """The ACEs of the DACL ``samba-tool dsacl get`` prints (its last line is the SDDL)."""
    sddl = printed.strip().splitlines()[-1]
    dacl = sddl.split("D:", 1)[1].split("S:", 1)[0]
    return ["(" + ace for ace in dacl.split("(")[1:]]


class Cli:
    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.runner, self.config, self.env = CliRunner(), config, env

    def __call__(self, *args: str, code: int = 0) -> Any:
        result = self.runner.invoke(
            app, ["--config", str(self.config), *args, "--json"], env=self.env
        )
        assert result.exit_code == code, result.output
        return json.loads(result.stdout)


class _OuWithUser(NamedTuple):
    cli: Cli
    ou_dn: str
    user_dn: str
    sid: str


@contextmanager
def _ou_with_user(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    unique: Callable[[str], str],
    ou: str,
    user: str,
) -> Iterator[_OuWithUser]:
    """The CLI on a config for the DC, and a new OU holding one new user (with its SID); the OU's
    tree is removed afterwards."""
    cli = Cli(
        write_config(tmp_path, samba_dc), {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}
    )
    with scratch_ou(ldap_admin, f"OU={unique(ou)},{samba_dc.base_dn}") as ou_dn:
        user_dn = f"CN={unique(user)},{ou_dn}"
        add_user(ldap_admin, user_dn, unique(user))
        sid = sid_from_bytes(read(ldap_admin, user_dn, "objectSid")["objectSid"][0])[0]
        yield _OuWithUser(cli, ou_dn, user_dn, sid)


def _sd_changes(cli: Cli, ou_dn: str) -> list[dict[str, Any]]:
    found = cli("changes", "--object", ou_dn, "--attribute", "nTSecurityDescriptor")["changes"]
    assert isinstance(found, list)
    return found


@pytest.mark.samba
def test_an_ace_granted_with_dsacl_is_rolled_back(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    with _ou_with_user(samba_dc, tmp_path, ldap_admin, unique, "acl", "writer") as scene:
        cli, ou_dn, _, sid = scene
        cli("snapshot", "ad")
        before = _explicit(ldap_admin, ou_dn)
        before_printed = _dsacl_aces(samba_tool("dsacl", "get", f"--objectdn={ou_dn}"))

        samba_tool("dsacl", "set", f"--objectdn={ou_dn}", f"--sddl=(A;;RPWP;;;{sid})")
        cli("capture", "ad")
        [change] = _sd_changes(cli, ou_dn)
        added = [a["ace"] for a in change["details"]["aces_added"]]
        assert added == [f"(A;;RPWP;;;{sid})"]
        assert "aces_removed" not in change["details"]

        plan = cli("rollback", "plan", "--event", str(change["sequence"]))
        [step] = plan["steps"]
        assert step["kind"] == "set-security" and step["status"] == "planned"
        assert f"remove (A;;RPWP;;;{sid})" in step["description"]
        assert "DACL" in step["description"] and "SACL is left alone" in step["description"]
        applied = cli("rollback", "apply", str(plan["id"]))
        assert [s["status"] for s in applied["steps"]] == ["succeeded"], applied

        after_printed = _dsacl_aces(samba_tool("dsacl", "get", f"--objectdn={ou_dn}"))
        assert not any(sid in ace for ace in after_printed)
        assert sorted(after_printed) == sorted(before_printed)
        assert _explicit(ldap_admin, ou_dn) == before


@pytest.mark.samba
def test_a_dacl_changed_again_is_a_conflict(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    with _ou_with_user(samba_dc, tmp_path, ldap_admin, unique, "aclc", "writer") as scene:
        cli, ou_dn, _, sid = scene
        cli("snapshot", "ad")
        samba_tool("dsacl", "set", f"--objectdn={ou_dn}", f"--sddl=(A;;RPWP;;;{sid})")
        cli("capture", "ad")
        samba_tool("dsacl", "set", f"--objectdn={ou_dn}", f"--sddl=(A;;RC;;;{sid})")
        cli("capture", "ad")
        first, second = _sd_changes(cli, ou_dn)
        assert [a["ace"] for a in second["details"]["aces_added"]] == [f"(A;;RC;;;{sid})"]

        plan = cli("rollback", "plan", "--event", str(first["sequence"]))
        [step] = plan["steps"]
        assert step["status"] == "skipped"
        assert "changed again since" in step["conflict"] and f"(A;;RC;;;{sid})" in step["conflict"]
        held = _explicit(ldap_admin, ou_dn)
        applied = cli("rollback", "apply", str(plan["id"]), code=1)
        assert applied["status"] == "partial"
        assert _explicit(ldap_admin, ou_dn) == held

        forced = cli("rollback", "plan", "--event", str(first["sequence"]), "--force")
        [step] = forced["steps"]
        assert step["status"] == "planned"
        done = cli("rollback", "apply", str(forced["id"]))
        assert [s["status"] for s in done["steps"]] == ["succeeded"], done
        now = _explicit(ldap_admin, ou_dn)
        assert not any(sid in ace for ace in now)


@pytest.mark.samba
def test_an_ace_removed_by_an_ldap_rewrite_of_a_users_dacl_is_added_back(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any, unique: Callable[[str], str]
) -> None:
    with _ou_with_user(samba_dc, tmp_path, ldap_admin, unique, "aclu", "target") as scene:
        cli, _, user_dn, _ = scene
        cli("snapshot", "ad")
        before = _explicit(ldap_admin, user_dn)
        victim = sorted(before)[0]
        sd = read_dacl(ldap_admin, user_dn)
        rewritten, count = with_aces_removed(sd, lambda ace: ace.sddl() == victim)
        assert count == before[victim]
        write_dacl(ldap_admin, user_dn, rewritten)
        assert victim not in _explicit(ldap_admin, user_dn)
        cli("capture", "ad")
        [change] = _sd_changes(cli, user_dn)
        assert len(change["details"]["aces_removed"]) == count
        assert "aces_added" not in change["details"]

        plan = cli("rollback", "plan", "--event", str(change["sequence"]))
        [step] = plan["steps"]
        assert step["kind"] == "set-security" and step["status"] == "planned"
        assert step["description"].count("add back (") == count
        assert "remove (" not in step["description"]
        applied = cli("rollback", "apply", str(plan["id"]))
        assert [s["status"] for s in applied["steps"]] == ["succeeded"], applied
        assert _explicit(ldap_admin, user_dn) == before


@pytest.mark.samba
def test_restore_at_a_moment_brings_the_dacl_back(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    with _ou_with_user(samba_dc, tmp_path, ldap_admin, unique, "aclt", "writer") as scene:
        cli, ou_dn, _, sid = scene
        ldap_admin.modify_s(ou_dn, [(ldap.MOD_REPLACE, "description", [b"kept"])])
        cli("snapshot", "ad")
        before = _explicit(ldap_admin, ou_dn)
        moment = utcnow().isoformat()
        samba_tool("dsacl", "set", f"--objectdn={ou_dn}", f"--sddl=(A;;RPWP;;;{sid})")
        samba_tool("dsacl", "set", f"--objectdn={ou_dn}", f"--sddl=(D;;WP;;;{sid})")

        planned = cli("restore", ou_dn, "--at", moment)
        [step] = planned["steps"]
        assert step["kind"] == "set-security"
        assert f"remove (A;;RPWP;;;{sid})" in step["description"]
        assert f"remove (D;;WP;;;{sid})" in step["description"]
        applied = cli("restore", ou_dn, "--at", moment, "--apply")
        assert [s["status"] for s in applied["steps"]] == ["succeeded"], applied
        assert _explicit(ldap_admin, ou_dn) == before
        assert cli("restore", ou_dn, "--at", moment)["plan"] is None, "nothing left to restore"


def test_point_in_time_restores_only_a_dacl_that_differs() -> None:
    then = _sd("S-1-5-32-544", [AU_READ, SYSTEM_INHERITED])
    now = _sd("S-1-5-32-544", [USER_RC, AU_READ])
    [ou] = _ou(now).values()
    target: Content = {"distinguishedName": [OU_DN], "nTSecurityDescriptor": [then]}
    [step] = plan_point_in_time(ou, target).steps
    assert step.kind is StepKind.SET_SECURITY and step.expected == (now,)
    assert f"remove (A;;RC;;;{USER})" in step.description and "add back" not in step.description
    assert parse_security_descriptor(bytes(step.values[0])).dacl == (
        parse_security_descriptor(then).dacl
    )
    same = _sd("S-1-5-32-544", [AU_READ, USER_RC, SYSTEM_INHERITED])  # reordered, inherited
    assert plan_point_in_time(ou, {**target, "nTSecurityDescriptor": [same]}).steps == ()


def test_an_earlier_descriptor_without_a_dacl_is_never_written_back() -> None:
    after = _sd("S-1-5-32-544", [AU_READ, USER_RPWP])
    sid = sid_to_bytes("S-1-5-32-544")
    no_dacl = struct.pack("<BBHIIII", 1, 0, names.SE_SELF_RELATIVE, 20, 20, 0, 0) + sid
    draft = plan_events([_change(3, no_dacl, after)], _ou(after))
    assert draft.steps == ()
    [warning] = draft.warnings
    assert warning.startswith(f"{OU_DN}: the stored security descriptor cannot be restored")
    assert "NULL DACL, which grants everyone full access" in warning
