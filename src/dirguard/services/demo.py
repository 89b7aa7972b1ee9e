"""The main job on embedded defaults: what ``dirguard demo`` (the README's first command) runs.

It migrates the configured store (SQLite by default), records a run and an audit entry, reads the
permission manifest and resource catalog, and — where Debian's ``samba-ad-dc`` and python-ldap
are installed and dirguard runs as root — provisions a throwaway Samba AD DC on loopback and
takes a baseline snapshot of it into the store through dirguard's own snapshot use case, then
stops it. Each step reports what it did or why it was
skipped; nothing here needs a network beyond loopback.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Mode, Service
from dirguard.catalog.resource_type import Partition
from dirguard.config.schema import AdDomainConfig, AdSection, Config
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.store import database
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.models import DirectoryObject, RunStatus
from dirguard.store.runs import finish_run, start_run
from dirguard.throwaway.samba_dc import SambaDC
from dirguard.throwaway.samba_dc_process import SambaNotInstalledError

Progress = Callable[[str], None]
DomainInventory = Callable[[sessionmaker[Session], Progress], dict[str, Any]]
"""Provides the demo's domain: starts (or reaches) a DC, snapshots it into the store, reports."""


@dataclass
class DemoReport:
    store: str = ""
    schema_revision: str | None = None
    run_id: int | None = None
    permissions: dict[str, dict[str, int]] = field(default_factory=dict)
    features: int = 0
    resource_types: int = 0
    domain: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def samba_unavailable_reason() -> str | None:
    """Why the throwaway DC cannot run here, or ``None`` when it can."""
    if importlib.util.find_spec("ldap") is None:
        return (
            "python-ldap not installed (apt-get install libldap2-dev libsasl2-dev; "
            "pip install 'dirguard[ad]')"
        )
    if os.geteuid() != 0:
        return "a throwaway DC binds ports 389/636 and needs root"
    return None


def run_demo(
    config: Config,
    actor: str,
    progress: Progress,
    domain: DomainInventory | None = None,
) -> DemoReport:
    """Run the demo; ``domain`` defaults to a throwaway Samba DC where one can run."""
    report = DemoReport(store=database.masked(config.store.url))
    progress("Migrating the store")
    engine = database.create_engine_for(config.store.url)
    try:
        database.upgrade(engine)
        report.schema_revision = database.current_revision(engine)
        sessions = database.session_factory(engine)
        with sessions.begin() as session:
            run = start_run(session, "demo", None)
            report.run_id = run.id
        progress("Reading the permission manifest and resource catalog")
        for service in Service:
            report.permissions[service.value] = {
                mode.value: len(MANIFEST.select(service=service, mode=mode)) for mode in Mode
            }
        report.features = len(MANIFEST.features)
        report.resource_types = len(RESOURCE_TYPES)
        status, error = RunStatus.SUCCEEDED, None
        try:
            reason = None if domain is not None else samba_unavailable_reason()
            if reason is None:
                try:
                    report.domain = (domain or snapshot_throwaway_domain)(sessions, progress)
                    if not report.domain:
                        reason = "skipped on request"
                except SambaNotInstalledError as missing:
                    reason = f"{missing} (apt-get install samba-ad-dc)"
            if reason is not None:
                report.skipped.append(f"throwaway domain: {reason}")
        except Exception as exc:
            status, error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
            raise
        finally:
            with sessions.begin() as session:
                merged = session.merge(run)
                finish_run(session, merged, status, {"domain": report.domain}, error)
                record_audit(
                    session,
                    actor,
                    "demo.run",
                    None,
                    {"run": report.run_id, "skipped": report.skipped},
                    AuditOutcome.SUCCEEDED if error is None else AuditOutcome.FAILED,
                )
    finally:
        engine.dispose()
    return report


def snapshot_throwaway_domain(
    sessions: sessionmaker[Session], progress: Progress
) -> dict[str, Any]:
    """Start a throwaway DC, take a baseline snapshot of it into the store, stop it."""
    from dirguard.throwaway.samba_dc import throwaway_samba_dc

    progress("Provisioning a throwaway Samba AD DC on 127.0.0.1 (about 10 s)")
    with throwaway_samba_dc() as dc:
        return snapshot_samba_dc(dc, sessions, progress)


def snapshot_samba_dc(
    dc: SambaDC, sessions: sessionmaker[Session], progress: Progress
) -> dict[str, Any]:
    """Baseline snapshot of a running DC (all three partitions) through dirguard's own snapshot
    use case, bound with the DC's generated password, then the stored objects counted per
    resource type."""
    from dirguard.services.capture.use_cases import SnapshotRequest, snapshot
    from dirguard.services.runtime import AdOpeners, Runtime, connect_ad

    domain = AdDomainConfig(
        name=dc.realm.lower(),
        servers=[dc.host],
        ca_file=dc.ca_cert_path,
        bind_upn=dc.admin_upn,
        # A reference is required by the schema; the generated password is handed over below.
        password="env:DIRGUARD_DEMO_UNUSED",  # noqa: S106 - a reference, not a secret
        partitions=[Partition.DOMAIN, Partition.CONFIGURATION, Partition.SCHEMA],
    )
    runtime = Runtime(
        config=Config(ad=AdSection(domains=[domain])),
        sessions=sessions,
        principal="dirguard",
        ad_openers=lambda d: AdOpeners(
            bind=lambda: connect_ad(d, dc.admin_password), elevator=None
        ),
    )
    progress(f"Snapshotting {dc.realm} over {dc.ldaps_uri} (certificate checked)")
    (result,) = snapshot(runtime, SnapshotRequest(domain=domain.name)).snapshots
    with sessions() as session:
        counts = dict(
            session.execute(
                select(DirectoryObject.resource_type, func.count())
                .where(DirectoryObject.source == domain.name)
                .group_by(DirectoryObject.resource_type)
                .order_by(DirectoryObject.resource_type)
            ).all()
        )
    return {
        "realm": dc.realm,
        "base_dn": dc.base_dn,
        "snapshot": result.as_dict(),
        "objects": counts,
    }
