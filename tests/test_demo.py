"""`dirguard demo`, the README's first command: store migrated, run and audit recorded, the
catalog read, and a real domain snapshotted into the store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Mode, Service
from dirguard.config.schema import Config, StoreConfig
from dirguard.services.demo import run_demo, snapshot_samba_dc
from dirguard.store import database
from dirguard.store.models import AuditRecord, Run
from dirguard.throwaway.samba_dc import SambaDC


def test_demo_cli_without_domain_creates_store_and_records_run(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    env.pop("DIRGUARD_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "dirguard", "demo", "--json", "--no-domain"],
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
    assert report["skipped"] == ["throwaway domain: skipped on request"]
    engine = database.create_engine_for(f"sqlite:///{db_file}")
    with database.session_factory(engine)() as session:
        run = session.scalars(select(Run)).one()
        assert (run.kind, run.status, run.id) == ("demo", "succeeded", report["run_id"])
        audit = session.scalars(select(AuditRecord)).one()
        assert audit.action == "demo.run" and audit.outcome == "succeeded"
    engine.dispose()


def _add_users(conn: Any, base_dn: str, count: int) -> None:
    import ldap.modlist

    ou = f"OU=demo-{uuid.uuid4().hex[:8]},{base_dn}"
    conn.add_s(ou, ldap.modlist.addModlist({"objectClass": [b"organizationalUnit"]}))
    for i in range(count):
        name = f"demo{uuid.uuid4().hex[:8]}{i}"
        conn.add_s(
            f"CN={name},{ou}",
            ldap.modlist.addModlist({"objectClass": [b"user"], "sAMAccountName": [name.encode()]}),
        )


def test_demo_snapshots_a_real_domain_into_the_store(
    samba_dc: SambaDC, ldap_admin: Any, tmp_path: Path
) -> None:
    config = Config(store=StoreConfig(url=f"sqlite:///{tmp_path / 'demo.db'}"))
    steps: list[str] = []

    def domain(sessions: Any, progress: Any) -> dict[str, Any]:
        return snapshot_samba_dc(samba_dc, sessions, progress)

    first = run_demo(config, "tester", steps.append, domain=domain).domain
    _add_users(ldap_admin, samba_dc.base_dn, 3)
    second = run_demo(config, "tester", steps.append, domain=domain).domain
    before, after = first["objects"], second["objects"]
    assert before["ad.user"] >= 1  # Administrator at least
    assert before["ad.schema_object"] > 1000 and before["ad.configuration_object"] > 1000
    assert after["ad.user"] == before["ad.user"] + 3
    assert after["ad.organizational_unit"] == before["ad.organizational_unit"] + 1
    assert after["ad.group"] == before["ad.group"]
    assert second["snapshot"]["new_objects"] == 4  # the OU and its three users
    assert any("certificate checked" in step for step in steps)
