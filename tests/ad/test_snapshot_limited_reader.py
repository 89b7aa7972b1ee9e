"""A snapshot by an account that cannot read every entry (the session's real Samba AD DC).

A domain user holding only the replication rights the read-only mode asks for may list some
entries whose objectGUID it may not read (on Samba: IP Security objects, the Password Settings
Container, NTDS Quotas). The snapshot skips and counts them instead of failing, stores what the
account can read, and a second snapshot by the same account does not call anything deleted that
it merely cannot see.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from dirguard.providers.ad.connection import connect
from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes
from dirguard.providers.ad.setup.account_grants import EXTENDED_RIGHT_GUIDS
from dirguard.services.capture.snapshot import snapshot_domain
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.models import DirectoryObject
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config


def test_a_plain_user_snapshots_what_it_can_read_and_counts_the_rest(
    samba_dc: SambaDC,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    name = unique("plain")
    password = f"Pa55word!{uuid.uuid4().hex[:8]}"
    samba_tool("user", "create", name, password)
    user_dn = f"CN={name},CN=Users,{samba_dc.base_dn}"
    sid = sid_from_bytes(
        ldap_admin.search_s(user_dn, 0, attrlist=["objectSid"])[0][1]["objectSid"][0]
    )[0]
    rights = ("Replicate Directory Changes", "Replicate Directory Changes All")
    aces = "".join(f"(OA;;CR;{EXTENDED_RIGHT_GUIDS[r]};;{sid})" for r in rights)
    samba_tool("dsacl", "set", f"--objectdn={samba_dc.base_dn}", f"--sddl={aces}")
    monkeypatch.setenv("TEST_DIRGUARD_AD_PASSWORD", password)
    domain = domain_config(samba_dc, bind_upn=f"{name}@{samba_dc.realm}")
    engine = create_engine_for(f"sqlite:///{tmp_path / 'store.db'}")
    upgrade(engine)
    sessions = session_factory(engine)
    try:
        with connect(domain, password) as conn:
            first = snapshot_domain(sessions, conn, domain)
            second = snapshot_domain(sessions, conn, domain)
        assert first.unreadable > 0, "Samba hides some objectGUIDs from a plain user"
        assert first.new_objects > 0
        assert second.unreadable == first.unreadable
        assert second.deletes_detected == 0, "unreadable is not deleted"
        with sessions() as session:
            paths = set(session.scalars(select(DirectoryObject.path)))
            deleted = session.scalar(
                select(func.count()).select_from(DirectoryObject).where(DirectoryObject.deleted)
            )
        assert user_dn in paths, "the account's own object is guarded"
        assert deleted == 0
    finally:
        engine.dispose()
        ldap_admin.delete_s(user_dn)
