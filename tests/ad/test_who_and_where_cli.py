"""Who and where through the CLI, against the session's real Samba AD DC: changes made with
samba-tool by the admin and with plain LDAP writes by a delegated non-admin account appear in
``dirguard changes --json`` with their old and new values, the acting account and its address
(from Samba's JSON audit files named in the configuration); a security descriptor change shows
its SDDL and the ACEs added. Samba 4.17 writes no audit record for a move, so a move stays
"actor unknown"."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.providers.ad.ldap_read import sd_flags_control
from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes
from dirguard.store.database import create_engine_for, session_factory
from dirguard.store.models import DirectoryObject, ObjectVersion
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.who.helpers import DELEGATE_PASSWORD, bind_as, read_attribute

pytestmark = pytest.mark.samba

Changes = list[dict[str, Any]]


def _config(tmp_path: Path, dc: SambaDC) -> Path:
    logs = dc.audit_logs
    files = ", ".join(
        f'"{p}"' for p in (logs.directory_changes, logs.group_changes, logs.password_changes)
    )
    path = tmp_path / "dirguard.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        "[[ad.domains]]\n"
        f'name = "{dc.realm.lower()}"\nservers = ["{dc.host}"]\nca_file = "{dc.ca_cert_path}"\n'
        f'bind_upn = "{dc.admin_upn}"\npassword = "env:TEST_DIRGUARD_AD_PASSWORD"\n'
        f"samba_audit_files = [{files}]\n",
        encoding="utf-8",
    )
    return path


def _one(changes: Changes, **wanted: Any) -> dict[str, Any]:
    found = [c for c in changes if all(c.get(k) == v for k, v in wanted.items())]
    assert len(found) == 1, f"expected one change with {wanted}, got {found}"
    return found[0]


def test_changes_name_the_acting_account_and_its_address(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    runner = CliRunner()
    config = _config(tmp_path, samba_dc)
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}

    def run(*args: str) -> dict[str, Any]:
        result = runner.invoke(app, ["--config", str(config), *args, "--json"], env=env)
        assert result.exit_code == 0, result.output
        assert samba_dc.admin_password not in result.output
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    base = samba_dc.base_dn
    ou, ou2 = unique("whoou"), unique("whoou2")
    ou_dn, ou2_dn = f"OU={ou},{base}", f"OU={ou2},{base}"
    ldap_admin.add_s(ou_dn, [("objectClass", [b"organizationalUnit"])])
    ldap_admin.add_s(ou2_dn, [("objectClass", [b"organizationalUnit"])])
    delegate = unique("deleg")
    samba_tool("user", "create", delegate, DELEGATE_PASSWORD)
    delegate_dn = f"CN={delegate},CN=Users,{base}"
    delegate_sid = sid_from_bytes(read_attribute(ldap_admin, delegate_dn, "objectSid"))[0]
    admin_name = f"{samba_dc.domain}\\{samba_dc.admin_user}"
    delegate_name = f"{samba_dc.domain}\\{delegate}"

    assert run("snapshot", "ad")["snapshots"][0]["objects"] > 100

    # Pass 1: the admin delegates the OU (a security descriptor change), creates a user and a
    # group in it; the delegate creates a contact there over plain LDAP.
    ace = f"(A;CI;CCDCLCSWRPWPDTSDRC;;;{delegate_sid})"
    samba_tool("dsacl", "set", f"--objectdn={ou_dn}", f"--sddl={ace}")
    user, group = unique("whou"), unique("whog")
    samba_tool("user", "create", user, "Pa55word!" + user, f"--userou=OU={ou}")
    samba_tool("group", "add", group, f"--groupou=OU={ou}")
    user_dn, group_dn = f"CN={user},{ou_dn}", f"CN={group},{ou_dn}"
    contact_dn = f"CN={unique('whoc')},{ou_dn}"
    deleg = bind_as(samba_dc, f"{delegate}@{samba_dc.realm}", DELEGATE_PASSWORD)
    try:
        deleg.add_s(contact_dn, [("objectClass", [b"contact"]), ("description", [b"first"])])
        gone_dn = f"CN={unique('whod')},{ou_dn}"
        deleg.add_s(gone_dn, [("objectClass", [b"contact"])])
        gone_guid = _guid(ldap_admin, gone_dn)
        first = run("capture", "ad")["captures"][0]
        assert first["actors"]["attributed"] >= 4

        # Pass 2: disable, add a member (admin); the delegate edits the contact and the user.
        samba_tool("user", "disable", user)
        samba_tool("group", "addmembers", group, user)
        deleg.modify_s(contact_dn, [(ldap.MOD_REPLACE, "description", [b"second"])])
        deleg.modify_s(user_dn, [(ldap.MOD_REPLACE, "description", [b"set by delegate"])])
        run("capture", "ad")

        # Pass 3: remove the member and move the user to the other OU (admin).
        samba_tool("group", "removemembers", group, user)
        samba_tool("user", "move", user, ou2_dn)
        deleg.delete_s(gone_dn)  # the delegate deletes a contact it created
        run("capture", "ad")
    finally:
        deleg.unbind_s()

    changes: Changes = run("changes", "--since", "2000-01-01")["changes"]
    by_dn = {
        dn: [c for c in changes if c["object"]["guid"] == guid]
        for dn, guid in (
            (ou_dn, _guid(ldap_admin, ou_dn)),
            (user_dn, _guid(ldap_admin, f"CN={user},{ou2_dn}")),
            (group_dn, _guid(ldap_admin, group_dn)),
            (contact_dn, _guid(ldap_admin, contact_dn)),
        )
    }
    admin_where = {"actor": admin_name, "actor_source": "samba-audit", "actor_address": "127.0.0.1"}
    delegate_where = {**admin_where, "actor": delegate_name}

    def who(change: dict[str, Any]) -> dict[str, Any]:
        return {k: change[k] for k in ("actor", "actor_source", "actor_address")}

    # The user: created and disabled by the admin, described by the delegate, moved by nobody
    # the audit trail knows of.
    user_changes = by_dn[user_dn]
    created = _one(user_changes, op="create")
    assert created["new"]["sAMAccountName"] == [user] and who(created) == admin_where
    disabled = _one(user_changes, op="modify", attribute="userAccountControl")
    assert (disabled["old"], disabled["new"]) == ("512", "514")
    assert who(disabled) == admin_where
    described = _one(user_changes, op="modify", attribute="description")
    assert (described["old"], described["new"]) == (None, ["set by delegate"])
    assert who(described) == delegate_where
    moved = _one(user_changes, op="move")
    assert (moved["old"].lower(), moved["new"].lower()) == (
        user_dn.lower(),
        f"CN={user},{ou2_dn}".lower(),
    )
    assert who(moved) == {"actor": None, "actor_source": None, "actor_address": None}

    # The group: one member added, then removed, each by the admin.
    group_changes = by_dn[group_dn]
    assert who(_one(group_changes, op="create")) == admin_where
    added = _one(group_changes, op="add-value", attribute="member")
    removed = _one(group_changes, op="remove-value", attribute="member")
    assert added["new"].lower() == removed["old"].lower() == user_dn.lower()
    assert who(added) == who(removed) == admin_where

    # The contact: created and changed by the delegate over LDAP.
    contact = by_dn[contact_dn]
    contact_created = _one(contact, op="create")
    assert contact_created["new"]["description"] == ["first"]
    assert who(contact_created) == delegate_where
    retold = _one(contact, op="modify", attribute="description")
    assert (retold["old"], retold["new"]) == (["first"], ["second"])
    assert who(retold) == delegate_where

    # A delete is attributed too: the audit record names the live DN, the event the tombstone.
    deleted = _one([c for c in changes if c["object"]["guid"] == gone_guid], op="delete")
    assert who(deleted) == delegate_where

    # The OU's security descriptor: SDDL before and after, and the ACE that was added.
    sd = _one(by_dn[ou_dn], op="modify", attribute="nTSecurityDescriptor")
    assert delegate_sid not in sd["old"] and delegate_sid in sd["new"]
    assert sd["old"].startswith("O:") and sd["new"].startswith("O:")
    added_aces = [a["ace"] for a in sd["details"]["aces_added"]]
    assert any(a.endswith(f";{delegate_sid})") and a.startswith("(A;CI;") for a in added_aces)
    assert "aces_removed" not in sd["details"]
    assert who(sd) == admin_where
    # The raw bytes stay in the stored version, for restore.
    with _sessions(tmp_path) as session:
        obj = session.scalars(
            select(DirectoryObject).where(DirectoryObject.external_id == sd["object"]["guid"])
        ).one()
        latest = session.scalars(
            select(ObjectVersion)
            .where(ObjectVersion.object_id == obj.id)
            .order_by(ObjectVersion.version.desc())
        ).first()
        assert latest is not None
        stored = latest.content["nTSecurityDescriptor"][0]
    # Owner, group and DACL, as the SD-flags control asks (the SACL is not read).
    [(_, live)] = ldap_admin.search_ext_s(
        ou_dn, ldap.SCOPE_BASE, attrlist=["nTSecurityDescriptor"], serverctrls=[sd_flags_control()]
    )
    assert stored == live["nTSecurityDescriptor"][0]

    # --actor filters to one account, by DOMAIN\account, the bare account name or its UPN.
    for name in (delegate, delegate_name, f"{delegate}@{samba_dc.realm.lower()}"):
        mine = run("changes", "--actor", name)["changes"]
        assert mine and {c["actor"] for c in mine} == {delegate_name}
        assert {c["object"]["guid"] for c in mine} == {
            by_dn[contact_dn][0]["object"]["guid"],
            by_dn[user_dn][0]["object"]["guid"],
            gone_guid,
        }


def _guid(ldap_admin: Any, dn: str) -> str:
    from dirguard.providers.ad.values import guid_text

    return guid_text(read_attribute(ldap_admin, dn, "objectGUID"))


class _sessions:
    """A session on the CLI's store file (to look at the raw bytes kept in versions)."""

    def __init__(self, tmp_path: Path) -> None:
        self._engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")

    def __enter__(self) -> Any:
        self._session = session_factory(self._engine)()
        return self._session

    def __exit__(self, *_exc: object) -> None:
        self._session.close()
        self._engine.dispose()


def test_a_later_pass_fills_in_actors_unknown_before(
    samba_dc: SambaDC,
    tmp_path: Path,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    """Without an audit source the change stays actor unknown; once the configuration names the
    audit files, the next pass (with no new changes) attributes it."""
    runner = CliRunner()
    config = _config(tmp_path, samba_dc)
    with_audit = config.read_text(encoding="utf-8")
    without = "\n".join(line for line in with_audit.splitlines() if "samba_audit" not in line)
    config.write_text(without + "\n", encoding="utf-8")
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}

    def run(*args: str) -> dict[str, Any]:
        result = runner.invoke(app, ["--config", str(config), *args, "--json"], env=env)
        assert result.exit_code == 0, result.output
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    run("snapshot", "ad")
    user = unique("late")
    samba_tool("user", "create", user, "Pa55word!" + user)
    first = run("capture", "ad")["captures"][0]
    assert first["actors"] is None
    [created] = [c for c in run("changes", "--object", user)["changes"] if c["op"] == "create"]
    assert created["actor"] is None

    config.write_text(with_audit, encoding="utf-8")
    second = run("capture", "ad")["captures"][0]
    assert second["events"] == 0 and second["actors"]["attributed"] >= 1
    [created] = [c for c in run("changes", "--object", user)["changes"] if c["op"] == "create"]
    assert created["actor"] == f"{samba_dc.domain}\\{samba_dc.admin_user}"
    assert created["actor_address"] == "127.0.0.1"


def test_audit_files_listed_twice_or_too_many_are_refused(samba_dc: SambaDC) -> None:
    logs = samba_dc.audit_logs
    with pytest.raises(ValidationError, match="an audit file is listed twice"):
        domain_config(samba_dc, samba_audit_files=[logs.directory_changes] * 2)
    with pytest.raises(ValidationError, match="samba_audit_files"):
        domain_config(samba_dc, samba_audit_files=list(logs.all()))
    three = [logs.directory_changes, logs.group_changes, logs.password_changes]
    assert domain_config(samba_dc, samba_audit_files=three).samba_audit_files == three
