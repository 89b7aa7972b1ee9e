"""The main job on embedded defaults: what ``dirguard demo`` (the README's first command) runs.

It migrates the configured store (SQLite by default) and records a run and an audit entry there,
reads the permission manifest and resource catalog, then plays a rogue admin's incident where it
can: in the sandbox Microsoft 365 tenant (``dirguard sandbox serve``, a child process, always
possible) and — where Debian's ``samba-ad-dc`` and python-ldap are installed and dirguard runs
as root — on a throwaway Samba AD DC on loopback. The incident's history lives in a throwaway
store in the demo's own temporary directory (a demo never writes a rogue admin into the store
you run dirguard with); both directories are baselined, monitored, the incident captured with
its actors, and ONE confirmation applies the rollback plans of both; then each directory is read
afresh and compared with the moment before. ``keep`` is called while everything still runs.
Each step reports what it did or why it was skipped; nothing here needs a network beyond
loopback.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Mode, Service
from dirguard.config.loader import load_config
from dirguard.config.schema import Config
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.demo_incident import Confirm
from dirguard.services.rollback.plan_store import StoredPlan
from dirguard.store import database
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.models import RunStatus
from dirguard.store.runs import finish_run, start_run
from dirguard.throwaway.samba_dc import SambaDC
from dirguard.throwaway.samba_dc_process import SambaNotInstalledError

Progress = Callable[[str], None]
ConfirmAll = Callable[[list[StoredPlan]], bool]
"""Asked once with every directory's rollback plan: apply them all?"""
TENANT_USERS = 300
AD_HINT = "for the Active Directory half run: sudo bash scripts/demo"


@dataclass
class DemoReport:
    store: str = ""
    schema_revision: str | None = None
    run_id: int | None = None
    permissions: dict[str, dict[str, int]] = field(default_factory=dict)
    features: int = 0
    resource_types: int = 0
    domain: dict[str, Any] = field(default_factory=dict)
    tenant: dict[str, Any] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @property
    def restored(self) -> bool:
        """Every half that was applied is back as it was (``False`` when one is not)."""
        halves = [h for h in (self.domain, self.tenant) if h.get("applied")]
        return all(h.get("restored") for h in halves)


@dataclass(frozen=True, kw_only=True)
class DemoOptions:
    ad: bool = True
    entra: bool = True
    confirm: ConfirmAll = field(default=lambda _plans: False)
    keep: Callable[[DemoReport, Path, str], None] | None = None
    """Called with the report, the configuration naming everything the demo runs and its
    store, while everything still runs (``--keep``); everything stops when it returns."""
    tenant_users: int = TENANT_USERS
    users_per_department: int = 40


def samba_unavailable_reason() -> str | None:
    """Why the throwaway DC cannot run here, or ``None`` when it can."""
    if importlib.util.find_spec("ldap") is None:
        return (
            "python-ldap not installed (apt-get install libldap2-dev libsasl2-dev; "
            f"pip install 'dirguard[ad]'); {AD_HINT}"
        )
    if os.geteuid() != 0:
        return f"a throwaway DC binds ports 389/636 and needs root; {AD_HINT}"
    return None


def run_demo(config: Config, actor: str, progress: Progress, options: DemoOptions) -> DemoReport:
    """Run the demo; the run and its audit record go to the configured store."""
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
            _incidents(report, actor, progress, options)
        except Exception as exc:
            status, error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
            raise
        finally:
            with sessions.begin() as session:
                merged = session.merge(run)
                restored = {
                    h: r.get("restored")
                    for h, r in (("domain", report.domain), ("tenant", report.tenant))
                    if r
                }
                finish_run(session, merged, status, {"restored": restored}, error)
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


def _incidents(report: DemoReport, actor: str, progress: Progress, options: DemoOptions) -> None:
    """Both halves in a throwaway store: the tenant's played up to its plan, then the domain's
    (whose confirmation is the one for both), then the tenant's applied."""
    from dirguard.services.demo_entra_half import EntraHalf
    from dirguard.services.demo_tenant import throwaway_tenant

    ad_reason = samba_unavailable_reason() if options.ad else "skipped on request"
    if not options.entra:
        report.skipped.append("sandbox tenant: skipped on request")
    if ad_reason is not None:
        report.skipped.append(f"throwaway domain: {ad_reason}")
    if not options.entra and ad_reason is not None:
        return
    work = Path(tempfile.mkdtemp(prefix="dirguard-demo-"))
    store_url = f"sqlite:///{work / 'incident.db'}"
    engine = database.create_engine_for(store_url)
    try:
        database.upgrade(engine)
        sessions = database.session_factory(engine)
        with contextlib.ExitStack() as stack:
            half: EntraHalf | None = None
            if options.entra:
                progress(
                    f"Starting the sandbox Microsoft 365 tenant ({options.tenant_users} users)"
                    " on 127.0.0.1 over HTTPS"
                )
                tenant = stack.enter_context(throwaway_tenant(options.tenant_users))
                half = EntraHalf(
                    tenant=tenant,
                    store_url=store_url,
                    sessions=sessions,
                    actor=actor,
                    progress=progress,
                    users=options.tenant_users,
                )
                half.play()

            def decide(ad_plan: StoredPlan | None) -> bool:
                plans = [p for p in (half.plan if half else None, ad_plan) if p is not None]
                yes = options.confirm(plans)
                if half is not None:
                    half.apply() if yes else half.not_applied()
                    report.tenant = half.report.as_dict()
                return yes

            sections = [half.tenant_section] if half is not None else []

            def keep(ad_report: dict[str, Any] | None) -> None:
                if options.keep is None:
                    return
                if ad_report is not None:
                    report.domain = ad_report
                    text = Path(ad_report["config"]).read_text(encoding="utf-8")
                    sections.insert(0, text[text.index("[[ad.domains]]") :])
                from dirguard.services.demo_console import write_config

                options.keep(report, write_config(work, store_url, sections), store_url)

            if ad_reason is None:
                try:
                    report.domain = incident_domain(
                        store_url,
                        actor,
                        decide,
                        keep if options.keep else None,
                        options.users_per_department,
                    )(sessions, progress)
                except SambaNotInstalledError as missing:
                    report.skipped.append(
                        f"throwaway domain: {missing} (apt-get install samba-ad-dc)"
                    )
                    ad_reason = str(missing)
            if ad_reason is not None and half is not None:
                decide(None)
                keep(None)
    finally:
        engine.dispose()
        shutil.rmtree(work, ignore_errors=True)


Keep = Callable[[dict[str, Any]], None]
"""Called with the finished report while the throwaway DC still runs (``--keep``); the DC is
stopped when it returns."""


DomainInventory = Callable[[sessionmaker[Session], Progress], dict[str, Any]]
"""Provides the demo's domain: starts a DC, plays the incident into the store, reports."""


def incident_domain(
    store_url: str,
    actor: str,
    confirm: Confirm,
    keep: Keep | None = None,
    users_per_department: int = 40,
) -> DomainInventory:
    """The demo's domain step: a throwaway DC with the rogue admin's incident played on it."""

    def inventory(sessions: sessionmaker[Session], progress: Progress) -> dict[str, Any]:
        from dirguard.throwaway.samba_dc import throwaway_samba_dc

        progress("Provisioning a throwaway Samba AD DC on 127.0.0.1 (about 10 s)")
        with throwaway_samba_dc() as dc:
            report = incident_on(
                dc,
                store_url,
                sessions,
                actor,
                progress,
                confirm,
                users_per_department=users_per_department,
            )
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
