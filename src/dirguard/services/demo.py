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

from sqlalchemy.orm import Session, sessionmaker

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Mode, Service
from dirguard.config.loader import load_config
from dirguard.config.schema import Config
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.demo_incident import Confirm
from dirguard.store import database
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.models import RunStatus
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


def _never(_plan: object) -> bool:
    return False


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
                    report.domain = (domain or incident_domain(config.store.url, actor, _never))(
                        sessions, progress
                    )
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


Keep = Callable[[dict[str, Any]], None]
"""Called with the finished report while the throwaway DC still runs (``--keep``); the DC is
stopped when it returns."""


def incident_domain(
    store_url: str, actor: str, confirm: Confirm, keep: Keep | None = None
) -> DomainInventory:
    """The demo's domain step: a throwaway DC with the rogue admin's incident played on it."""

    def inventory(sessions: sessionmaker[Session], progress: Progress) -> dict[str, Any]:
        from dirguard.throwaway.samba_dc import throwaway_samba_dc

        progress("Provisioning a throwaway Samba AD DC on 127.0.0.1 (about 10 s)")
        with throwaway_samba_dc() as dc:
            report = incident_on(dc, store_url, sessions, actor, progress, confirm)
            if keep is not None:
                keep(report)
            return report

    return inventory


def incident_on(
    dc: SambaDC,
    store_url: str,
    sessions: sessionmaker[Session],
    actor: str,
    progress: Progress,
    confirm: Confirm,
    *,
    users_per_department: int = 40,
) -> dict[str, Any]:
    """Play the incident on a running DC, dirguard bound as its administrator in full mode with
    Samba's audit files; a configuration for the same DC and store is written into the DC's work
    directory (password in a 0600 file) for the commands to try afterwards."""
    from dirguard.services.demo_incident import demo_config_text, run_incident
    from dirguard.services.runtime import AdOpeners, Runtime, connect_ad

    password_file = dc.workdir / "demo-admin-password"
    password_file.write_text(dc.admin_password, encoding="utf-8")
    password_file.chmod(0o600)
    config_file = dc.workdir / "dirguard-demo.toml"
    config_file.write_text(demo_config_text(dc, store_url, password_file), encoding="utf-8")
    config = load_config(config_file).config
    runtime = Runtime(
        config=config,
        sessions=sessions,
        principal=actor,
        ad_openers=lambda d: AdOpeners(
            bind=lambda: connect_ad(d, dc.admin_password), elevator=None
        ),
    )
    report = run_incident(dc, runtime, progress, confirm, users_per_department=users_per_department)
    report.config = str(config_file)
    return report.as_dict()
