"""Through the CLI, against the session's real Samba AD DC: ``dirguard show OBJECT --at TIME``
gives the state between two changes (a text attribute changed twice, a group's ``member`` between
an add and a remove), and a snapshot notices objects deleted while nothing was capturing."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.providers.ad import KIND as AD
from dirguard.providers.ad.values import guid_text
from dirguard.providers.base import store_source
from dirguard.store.column_types import utcnow
from dirguard.store.database import create_engine_for, session_factory
from dirguard.store.models import DirectoryObject
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import Run

pytestmark = pytest.mark.samba


def _guid_of(ldap_admin: Any, dn: str) -> str:
    found = ldap_admin.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectGUID"])
    return guid_text(found[0][1]["objectGUID"][0])


def _show(dirguard: Run, name: str, at: str) -> dict[str, Any]:
    return dirguard("show", name, "--at", at)["attributes"]


def test_show_at_gives_the_state_between_two_changes(
    dirguard: Run,
    samba_dc: SambaDC,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    user, group = unique("at"), unique("atg")
    user_dn = f"CN={user},CN=Users,{samba_dc.base_dn}"
    samba_tool("user", "create", user, "Pa55word!" + user, "--description=one")
    samba_tool("group", "add", group)
    dirguard("snapshot", "ad")
    after_snapshot = utcnow().isoformat()

    ldap_admin.modify_s(user_dn, [(ldap.MOD_REPLACE, "description", [b"two"])])
    dirguard("capture", "ad")
    between_changes = utcnow().isoformat()
    ldap_admin.modify_s(user_dn, [(ldap.MOD_REPLACE, "description", [b"three"])])
    dirguard("capture", "ad")

    samba_tool("group", "addmembers", group, user)
    dirguard("capture", "ad")
    while_member = utcnow().isoformat()
    samba_tool("group", "removemembers", group, user)
    dirguard("capture", "ad")
    at_the_end = utcnow().isoformat()

    assert _show(dirguard, user, after_snapshot)["description"] == ["one"]
    assert _show(dirguard, user, between_changes)["description"] == ["two"]
    assert _show(dirguard, user, at_the_end)["description"] == ["three"]
    assert "member" not in _show(dirguard, group, between_changes)
    assert _show(dirguard, group, while_member)["member"] == [user_dn]
    assert "member" not in _show(dirguard, group, at_the_end)


def test_a_snapshot_records_deletes_made_while_nothing_was_capturing(
    dirguard: Run,
    samba_dc: SambaDC,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
) -> None:
    user, group = unique("gone"), unique("goneg")
    user_dn = f"CN={user},CN=Users,{samba_dc.base_dn}"
    samba_tool("user", "create", user, "Pa55word!" + user, "--description=last words")
    samba_tool("group", "add", group)
    samba_tool("group", "addmembers", group, user)
    first = dirguard("snapshot", "ad")["snapshots"][0]
    assert first["deletes_detected"] == 0
    guid = _guid_of(ldap_admin, user_dn)
    # An object dirguard stores as live that the directory no longer has at all (its
    # tombstone is gone too): the snapshot finds neither it nor a tombstone.
    vanished = str(uuid.uuid4())
    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    with session_factory(engine).begin() as session:
        session.add(
            DirectoryObject(
                source=store_source(AD, samba_dc.realm.lower()),
                resource_type="ad.contact",
                external_id=vanished,
                natural_key=None,
                path=f"CN=Vanished {vanished[:8]},CN=Users,{samba_dc.base_dn}",
            )
        )
    engine.dispose()

    samba_tool("user", "delete", user)
    second = dirguard("snapshot", "ad")["snapshots"][0]
    assert second["deletes_detected"] >= 2

    (deleted,) = dirguard("changes", "--object", guid)["changes"]
    assert deleted["op"] == "delete"
    assert deleted["actor"] is None
    assert deleted["detected_by"] == "snapshot"
    assert deleted["old"] == user_dn
    assert "\\0ADEL:" in deleted["new"]
    history = dirguard("history", guid)
    assert history["object"]["deleted"] is True
    assert _show(dirguard, guid, utcnow().isoformat())["isDeleted"] == ["TRUE"]

    (gone,) = dirguard("changes", "--object", vanished)["changes"]
    assert (gone["op"], gone["new"], gone["detected_by"]) == ("delete", None, "snapshot")
    assert dirguard("history", vanished)["object"]["deleted"] is True

    third = dirguard("snapshot", "ad")["snapshots"][0]
    assert third["deletes_detected"] == 0
    # The capture from the first snapshot's cookie receives the tombstone: nothing new for it.
    dirguard("capture", "ad")
    assert [c["op"] for c in dirguard("changes", "--object", guid)["changes"]] == ["delete"]
