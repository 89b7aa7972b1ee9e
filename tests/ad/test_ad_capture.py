"""Snapshot and DirSync capture against the session's real Samba AD DC.

Each test has its own store (SQLite, and PostgreSQL where the fixture offers it) and its own
uniquely named objects, so the shared DC's other content does not matter.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import ldap
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.catalog.resource_type import Partition
from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad import KIND as AD
from dirguard.providers.ad.connection import AdConnection
from dirguard.providers.ad.read import dirsync_stream
from dirguard.providers.ad.values import guid_text
from dirguard.providers.base import ChangePage, store_source
from dirguard.services import history as history_query
from dirguard.services.capture.capture import CaptureError, capture_domain
from dirguard.services.capture.snapshot import snapshot_domain
from dirguard.store.cursors import get_cursor, save_cursor
from dirguard.store.models import ChangeEvent, DirectoryObject, ObjectVersion
from dirguard.throwaway.samba_dc import SambaDC

pytestmark = pytest.mark.samba

Sessions = sessionmaker[Session]


def _events(sessions: Sessions, guid: str) -> list[tuple[str, str | None, Any, Any]]:
    with sessions() as session:
        rows = session.execute(
            select(ChangeEvent)
            .join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
            .where(DirectoryObject.external_id == guid)
            .order_by(ChangeEvent.sequence)
        ).scalars()
        return [(e.op, e.attribute, e.old_value, e.new_value) for e in rows]


def _guid_of(ldap_admin: Any, dn: str) -> str:
    result = ldap_admin.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectGUID"])
    return guid_text(result[0][1]["objectGUID"][0])


def _object(sessions: Sessions, guid: str) -> DirectoryObject:
    with sessions() as session:
        return session.scalars(
            select(DirectoryObject).where(DirectoryObject.external_id == guid)
        ).one()


def _event_count(sessions: Sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(ChangeEvent)) or 0


def test_snapshot_keys_objects_by_guid_with_exact_bytes(
    store_sessions: Sessions,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    ldap_admin: Any,
    samba_dc: SambaDC,
) -> None:
    result = snapshot_domain(store_sessions, ad_conn, ad_domain)
    assert result.objects > 100 and result.new_objects > 20
    direct = ldap_admin.search_s(
        samba_dc.admin_dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectGUID", "objectSid"]
    )[0][1]
    admin = _object(store_sessions, guid_text(direct["objectGUID"][0]))
    assert admin.resource_type == "ad.user"
    assert admin.natural_key == "Administrator"
    assert admin.path == samba_dc.admin_dn
    with store_sessions() as session:
        content = session.scalars(
            select(ObjectVersion.content).where(ObjectVersion.object_id == admin.id)
        ).one()
        admins = history_query.find_object(session, "Domain Admins")
        ous = session.scalars(
            select(DirectoryObject.path).where(
                DirectoryObject.resource_type == "ad.organizational_unit"
            )
        ).all()
        admins_content = session.scalars(
            select(ObjectVersion.content).where(ObjectVersion.object_id == admins.id)
        ).one()
    assert content["objectGUID"] == direct["objectGUID"]
    assert content["objectSid"] == direct["objectSid"]
    assert isinstance(content["nTSecurityDescriptor"][0], bytes)
    assert admins.resource_type == "ad.group"
    assert samba_dc.admin_dn in admins_content["member"]
    assert f"OU=Domain Controllers,{samba_dc.base_dn}" in ous
    # Every object of the domain partition is kept, not only users, groups, OUs...
    assert result.not_in_catalog == {}
    with store_sessions() as session:
        generic = dict(
            session.execute(
                select(DirectoryObject.path, DirectoryObject.resource_type).where(
                    DirectoryObject.path.in_([samba_dc.base_dn, f"CN=Builtin,{samba_dc.base_dn}"])
                )
            ).all()
        )
    assert generic == {
        samba_dc.base_dn: "ad.domain_object",
        f"CN=Builtin,{samba_dc.base_dn}": "ad.domain_object",
    }

    again = snapshot_domain(store_sessions, ad_conn, ad_domain)
    assert again.new_objects == 0
    assert again.new_versions == 0, "an unchanged directory must not add versions"


def test_samba_tool_and_ldap_changes_become_events(
    store_sessions: Sessions,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    ldap_admin: Any,
    samba_dc: SambaDC,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    snapshot_domain(store_sessions, ad_conn, ad_domain)
    user, group = unique("u"), unique("g")
    user_dn = f"CN={user},CN=Users,{samba_dc.base_dn}"
    samba_tool("user", "create", user, "Pa55word!" + user)
    samba_tool("group", "add", group)
    capture_domain(store_sessions, ad_conn, ad_domain)
    user_guid = _guid_of(ldap_admin, user_dn)
    group_guid = _guid_of(ldap_admin, f"CN={group},CN=Users,{samba_dc.base_dn}")
    created = _events(store_sessions, user_guid)
    assert [e[0] for e in created] == ["create"]
    assert created[0][3]["sAMAccountName"] == [user]

    photo = os.urandom(700)
    samba_tool("user", "disable", user)
    samba_tool("group", "addmembers", group, user)
    ldap_admin.modify_s(
        user_dn,
        [(ldap.MOD_REPLACE, "description", [b"first"]), (ldap.MOD_ADD, "jpegPhoto", [photo])],
    )
    capture_domain(store_sessions, ad_conn, ad_domain)
    ldap_admin.modify_s(user_dn, [(ldap.MOD_REPLACE, "description", [b"second"])])
    samba_tool("group", "removemembers", group, user)
    capture_domain(store_sessions, ad_conn, ad_domain)

    user_events = _events(store_sessions, user_guid)[1:]
    assert ("modify", "userAccountControl", "512", "514") in user_events
    assert ("modify", "description", None, ["first"]) in user_events
    assert ("modify", "description", ["first"], ["second"]) in user_events
    assert ("modify", "jpegPhoto", None, [photo]) in user_events
    assert _events(store_sessions, group_guid)[1:] == [
        ("add-value", "member", None, user_dn),
        ("remove-value", "member", user_dn, None),
    ]
    with store_sessions() as session:
        stored = history_query.state_at(
            session,
            history_query.find_object(session, user),
            history_query.parse_time("2999-01-01"),
        )
    assert stored is not None
    assert stored["attributes"]["jpegPhoto"] == [
        {"$bytes": __import__("base64").b64encode(photo).decode()}
    ]

    before = _event_count(store_sessions)
    nothing = capture_domain(store_sessions, ad_conn, ad_domain)
    assert nothing.events == 0 and _event_count(store_sessions) == before


def test_move_and_rename_keep_one_history_and_delete_keeps_last_state(
    store_sessions: Sessions,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    ldap_admin: Any,
    samba_dc: SambaDC,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    user, ou = unique("m"), unique("ou")
    samba_tool("user", "create", user, "Pa55word!" + user, "--description=keep me")
    samba_tool("ou", "add", f"OU={ou},{samba_dc.base_dn}")
    snapshot_domain(store_sessions, ad_conn, ad_domain)
    guid = _guid_of(ldap_admin, f"CN={user},CN=Users,{samba_dc.base_dn}")

    samba_tool("user", "move", user, f"OU={ou}")
    capture_domain(store_sessions, ad_conn, ad_domain)
    moved_dn = f"CN={user},OU={ou},{samba_dc.base_dn}"
    ldap_admin.rename_s(moved_dn, f"CN={user}-renamed")
    capture_domain(store_sessions, ad_conn, ad_domain)
    renamed_dn = f"CN={user}-renamed,OU={ou},{samba_dc.base_dn}"

    events = _events(store_sessions, guid)
    assert (
        "move",
        "distinguishedName",
        f"CN={user},CN=Users,{samba_dc.base_dn}",
        moved_dn,
    ) in events
    assert ("rename", "distinguishedName", moved_dn, renamed_dn) in events
    with store_sessions() as session:
        assert len(history_query.find_objects(session, guid)) == 1
    assert _object(store_sessions, guid).path == renamed_dn

    samba_tool("user", "delete", user)
    capture_domain(store_sessions, ad_conn, ad_domain)
    obj = _object(store_sessions, guid)
    assert obj.deleted
    assert "\\0ADEL:" in (obj.path or "")
    assert _events(store_sessions, guid)[-1][0] == "delete"
    with store_sessions() as session:
        last = history_query.last_live_version(session, obj.id)
        timeline = history_query.history(session, history_query.find_object(session, guid))
    assert last is not None
    assert last.content["description"] == ["keep me"]
    assert last.content["distinguishedName"] == [renamed_dn]
    assert [e["op"] for e in timeline][:1] == ["move"]


def test_cursor_never_advances_without_its_events(
    store_sessions: Sessions,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    samba_dc: SambaDC,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    snapshot_domain(store_sessions, ad_conn, ad_domain)
    stream = dirsync_stream(Partition.DOMAIN)
    with store_sessions() as session:
        cookie_before = get_cursor(session, store_source(AD, ad_domain.name), stream)
    user = unique("c")
    samba_tool("user", "create", user, "Pa55word!" + user)

    def crash(_session: Session, _page: ChangePage) -> None:
        raise RuntimeError("injected failure before commit")

    with pytest.raises(RuntimeError, match="injected"):
        capture_domain(store_sessions, ad_conn, ad_domain, before_commit=crash)
    with store_sessions() as session:
        assert get_cursor(session, store_source(AD, ad_domain.name), stream) == cookie_before
        assert history_query.find_objects(session, user) == []
    assert _event_count(store_sessions) == 0

    first = capture_domain(store_sessions, ad_conn, ad_domain)
    assert first.ops["create"] >= 1
    count = _event_count(store_sessions)
    # Replay the same DirSync answer from the old cookie: nothing is duplicated.
    with store_sessions.begin() as session:
        assert cookie_before is not None
        save_cursor(session, store_source(AD, ad_domain.name), stream, cookie_before)
    replay = capture_domain(store_sessions, ad_conn, ad_domain)
    assert replay.entries >= 1 and replay.events == 0
    assert _event_count(store_sessions) == count


def test_capture_without_snapshot_says_what_to_do(
    store_sessions: Sessions, ad_conn: AdConnection, ad_domain: AdDomainConfig
) -> None:
    with pytest.raises(CaptureError, match="snapshot ad"):
        capture_domain(store_sessions, ad_conn, ad_domain)
