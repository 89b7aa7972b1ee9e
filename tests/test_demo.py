"""`dirguard demo`, the README's first command: store migrated, run and audit recorded, the
catalog read, and a real domain snapshotted into the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Mode, Service
from dirguard.services.demo import incident_on
from dirguard.store import database
from dirguard.store.models import AuditRecord, ChangeEvent, DirectoryObject, Run
from dirguard.throwaway.samba_dc import SambaDC


def test_demo_cli_without_domain_creates_store_and_records_run(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    env.pop("DIRGUARD_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "dirguard", "demo", "--json", "--no-domain", "--no-tenant"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    db_file = tmp_path / "data" / "dirguard" / "dirguard.db"
    assert db_file.is_file()
    assert report["schema_revision"] == database.head_revision()
    guardian = report["permissions"]["guardian"]
    assert guardian["read-only"] == len(MANIFEST.select(Service.GUARDIAN, Mode.READ_ONLY))
    assert guardian["read-only"] < guardian["full"]
    assert report["skipped"] == [
        "sandbox tenant: skipped on request",
        "throwaway domain: skipped on request",
    ]
    engine = database.create_engine_for(f"sqlite:///{db_file}")
    with database.session_factory(engine)() as session:
        run = session.scalars(select(Run)).one()
        assert (run.kind, run.status, run.id) == ("demo", "succeeded", report["run_id"])
        audit = session.scalars(select(AuditRecord)).one()
        assert audit.action == "demo.run" and audit.outcome == "succeeded"
    engine.dispose()


def _live(ldap_admin: Any, guid: str) -> dict[str, list[bytes]] | None:
    import ldap

    try:
        [(dn, attrs)] = ldap_admin.search_s(f"<GUID={guid}>", ldap.SCOPE_BASE, attrlist=["*"])
    except ldap.NO_SUCH_OBJECT:
        return None
    return attrs if dn else None


def test_the_incident_is_captured_with_its_actor_and_undone(
    samba_dc: SambaDC, ldap_admin: Any, tmp_path: Path
) -> None:
    """The demo's domain step on the session's DC, checked against the DC directly."""
    import ldap

    from dirguard.providers.ad.ldap_read import sd_flags_control
    from dirguard.providers.ad.sd.security_descriptor import (
        parse_security_descriptor,
        sid_from_bytes,
    )

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = database.create_engine_for(url)
    database.upgrade(engine)
    sessions = database.session_factory(engine)
    asked: list[int] = []

    def confirm(plan: Any) -> bool:
        asked.append(plan.id)
        return True

    steps: list[str] = []
    report = incident_on(
        samba_dc, url, sessions, "tester", steps.append, confirm, users_per_department=6
    )
    engine.dispose()
    assert asked == [report["plan"]["id"]]
    rogue = next(c["actor"] for c in report["captured"] if c["actor"])
    assert all(c["actor"] == rogue for c in report["captured"]), "every change is the rogue's"
    assert {c["from"] for c in report["captured"]} == {"127.0.0.1"}
    assert report["status"] == "applied" and report["restored"], report["left"]
    kinds = report["captured_by_kind"]
    assert kinds["add-value member"] == 1 and kinds["modify nTSecurityDescriptor"] == 1
    assert kinds["modify userAccountControl"] == 6  # the Sales users

    # The DC itself: the rogue's member gone from Domain Admins, Sales enabled again, the
    # deleted objects live with their GUIDs, the rogue's ACE gone from Engineering.
    [(_, attrs)] = ldap_admin.search_s(
        f"CN=Domain Admins,CN=Users,{samba_dc.base_dn}", ldap.SCOPE_BASE, attrlist=["member"]
    )
    members = {m.decode().lower() for m in attrs["member"]}
    [added] = [c for c in report["captured"] if c["attribute"] == "member"]
    assert added["object"].lower().startswith("cn=domain admins")
    engine = database.create_engine_for(url)
    with database.session_factory(engine)() as session:
        events = session.execute(
            select(
                ChangeEvent.op, ChangeEvent.attribute, ChangeEvent.new_value, DirectoryObject
            ).join(DirectoryObject, ChangeEvent.object_id == DirectoryObject.id)
        ).all()
    engine.dispose()
    promoted = [new for op, attr, new, _ in events if op == "add-value" and attr == "member"]
    assert promoted and all(str(p).lower() not in members for p in promoted)
    gone = {o.external_id for op, _, _, o in events if op == "delete"}
    disabled = {o.external_id for _, attr, _, o in events if attr == "userAccountControl"}
    assert len(gone) == 7  # the Finance OU and its six users
    for guid in gone:
        live = _live(ldap_admin, guid)
        assert live is not None and b"TRUE" not in live.get("isDeleted", [])
    for guid in disabled - gone:
        live = _live(ldap_admin, guid)
        assert live is not None and live["userAccountControl"] == [b"512"]
    sam = rogue.split("\\", 1)[1]
    [(_, account)] = [
        e
        for e in ldap_admin.search_s(
            samba_dc.base_dn, ldap.SCOPE_SUBTREE, f"(sAMAccountName={sam})", ["objectSid"]
        )
        if e[0]
    ]
    rogue_sid = sid_from_bytes(account["objectSid"][0])[0]
    [acl] = [c for c in report["captured"] if c["attribute"] == "nTSecurityDescriptor"]
    [(_, sd)] = ldap_admin.search_ext_s(
        acl["object"],
        ldap.SCOPE_BASE,
        attrlist=["nTSecurityDescriptor"],
        serverctrls=[sd_flags_control()],
    )
    dacl = parse_security_descriptor(sd["nTSecurityDescriptor"][0]).dacl
    assert dacl is not None and rogue_sid not in {ace.sid for ace in dacl.aces}
    assert any("Applying plan" in s for s in steps)
