"""The main job on embedded defaults: what ``dirguard demo`` (the README's first command) runs.

It migrates the configured store (SQLite by default), records a run and an audit entry, reads the
permission manifest and resource catalog, and — where Debian's ``samba-ad-dc`` and python-ldap
are installed and dirguard runs as root — provisions a throwaway Samba AD DC on loopback and
inventories it by resource type, then stops it. Each step reports what it did or why it was
skipped; nothing here needs a network beyond loopback.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dirguard.catalog.manifest import MANIFEST
from dirguard.catalog.permission_model import Mode, Service
from dirguard.catalog.resource_type import LdapSource, Partition
from dirguard.catalog.resource_types import RESOURCE_TYPES
from dirguard.config.schema import Config
from dirguard.store import database
from dirguard.store.audit import AuditOutcome, record_audit
from dirguard.store.models import RunStatus
from dirguard.store.runs import finish_run, start_run
from dirguard.throwaway.samba_dc import SambaDC
from dirguard.throwaway.samba_dc_process import SambaNotInstalledError

Progress = Callable[[str], None]
DomainInventory = Callable[[Progress], dict[str, Any]]
"""Provides the demo's domain: starts (or reaches) a DC and returns its inventory."""


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
                    report.domain = (domain or inventory_throwaway_domain)(progress)
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


def inventory_throwaway_domain(progress: Progress) -> dict[str, Any]:
    """Start a throwaway DC, count its objects per AD resource type, stop it."""
    from dirguard.throwaway.samba_dc import throwaway_samba_dc

    progress("Provisioning a throwaway Samba AD DC on 127.0.0.1 (about 10 s)")
    with throwaway_samba_dc() as dc:
        return inventory_samba_dc(dc, progress)


def inventory_samba_dc(dc: SambaDC, progress: Progress) -> dict[str, Any]:
    """Count a running DC's objects per AD resource type of the catalog."""
    import ldap

    from dirguard.throwaway.samba_dc import open_ldaps

    progress(f"Inventorying {dc.realm} over {dc.ldaps_uri} (certificate checked)")
    conn = open_ldaps(dc)
    try:
        root = conn.search_s("", ldap.SCOPE_BASE, "(objectClass=*)", ["*"])[0][1]
        bases = {
            Partition.DOMAIN: root["defaultNamingContext"][0].decode(),
            Partition.CONFIGURATION: root["configurationNamingContext"][0].decode(),
            Partition.SCHEMA: root["schemaNamingContext"][0].decode(),
        }
        counts: dict[str, int] = {}
        for resource_type in RESOURCE_TYPES.by_source(LdapSource):
            assert isinstance(resource_type.source, LdapSource)
            source = resource_type.source
            entries = conn.search_s(
                bases[source.partition], ldap.SCOPE_SUBTREE, source.ldap_filter, ["1.1"]
            )
            counts[resource_type.key] = sum(1 for dn, _ in entries if dn)
    finally:
        conn.unbind_s()
    return {"realm": dc.realm, "base_dn": bases[Partition.DOMAIN], "objects": counts}
