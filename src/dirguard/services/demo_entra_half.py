"""The Entra half of ``dirguard demo`` in its two moments: everything up to the rollback plan
(``play``), and, once the operator said yes, the apply and the check (``apply``).

dirguard works on the sandbox tenant through the same use cases its commands call (snapshot,
monitor, rollback plan, apply), as the tenant's full application in full mode, with the store
the demo's AD half uses; its configuration is written to the tenant's directory (the
application's secret in a 0600 file beside it) for the commands to try afterwards.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.loader import load_config
from dirguard.services import demo_entra as entra
from dirguard.services.demo_entra import TENANT, EntraIncidentReport, Progress, Targets
from dirguard.services.demo_tenant import DemoTenant, ok
from dirguard.services.rollback.plan_store import StoredPlan
from dirguard.services.runtime import Runtime


@dataclass(kw_only=True)
class EntraHalf:
    tenant: DemoTenant
    store_url: str
    sessions: sessionmaker[Session]
    actor: str
    progress: Progress
    users: int
    report: EntraIncidentReport = field(init=False)
    plan: StoredPlan | None = field(init=False, default=None)
    config_file: Path = field(init=False)
    _targets: Targets | None = field(init=False, default=None)
    _runtime: Runtime | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.report = EntraIncidentReport(tenant=TENANT, organisation={"users": self.users})
        secret_file = self.tenant.directory / "demo-app-secret"
        secret_file.write_text(self.tenant.full_app[1], encoding="utf-8")
        secret_file.chmod(0o600)
        self.config_file = self.tenant.directory / "dirguard-demo.toml"
        self.config_file.write_text(
            f'[store]\nurl = "{self.store_url}"\n\n'
            + entra.tenant_config_text(self.tenant, secret_file),
            encoding="utf-8",
        )

    @property
    def tenant_section(self) -> str:
        """The ``[[entra.tenants]]`` part of the configuration (for a combined file)."""
        text = self.config_file.read_text(encoding="utf-8")
        return text[text.index("[[entra.tenants]]") :]

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            config = load_config(self.config_file).config
            self._runtime = Runtime(config=config, sessions=self.sessions, principal=self.actor)
        return self._runtime

    def play(self) -> StoredPlan:
        """Set-up, baseline, monitoring, the rogue's incident, its capture and the plan."""
        from dirguard.services.capture.use_cases import SnapshotRequest, snapshot

        tenant, report = self.tenant, self.report
        # Microsoft's directoryAudits arrive 2-5 minutes late; the demo's tenant answers at once
        # so the demo ends in seconds (the late-actor path is the monitor's own test).
        tenant.set_audit_latency(0)
        self.progress("Setting up the tenant: a privileged group, conditional access, an app")
        with contextlib.ExitStack() as stack:
            admin = stack.enter_context(tenant.admin_client())
            rogue, password, targets = entra.set_up_organisation(admin, tenant)
            self._targets = targets
            report.organisation["groups"] = len(ok(admin.get("/groups"))["value"])
            # The rogue signed in earlier (device-code flow, an admin tool consented to).
            bad = stack.enter_context(tenant.signed_in(admin, rogue, password))
            report.rogue = rogue
            self.progress("Baseline snapshot of the tenant")
            snapshot(self.runtime, SnapshotRequest(domain=TENANT, kind="entra"))
            self.progress("Monitoring the tenant (Graph delta, directory audit)")
            stop, thread = entra.start_monitor(self.runtime)
            try:
                since = entra.now() - timedelta(seconds=1)
                self.progress(f"The rogue admin {rogue} is at work in the tenant")
                report.incident = entra.play(bad, tenant, targets)
                self.progress("Waiting for the monitor to store every change in the tenant")
                entra.wait_for_capture(self.runtime, since, targets.ids())
            finally:
                stop.set()
                thread.join(timeout=60)
        self.progress(f"Planning the rollback of everything {rogue} did in the tenant")
        self.plan = entra.plan_for(self.runtime, rogue, since)
        entra.report_capture(report, entra.captured(self.runtime, since))
        report.plan = self.plan.as_dict()
        self._since: datetime = since
        return self.plan

    def apply(self) -> None:
        from dirguard.services.rollback.apply_cases import ApplyRequest, apply_stored

        assert self.plan is not None and self._targets is not None
        self.progress(f"Applying plan {self.plan.id} to the tenant step by step")
        applied = apply_stored(self.runtime, ApplyRequest(plan_id=self.plan.id))
        report = self.report
        report.applied, report.status = True, applied.status
        report.steps = dict(Counter(s.status for s in applied.plan.steps))
        report.plan = applied.plan.as_dict()
        self.progress("Reading the tenant afresh and comparing it with the moment before")
        with self.tenant.admin_client() as fresh:
            entra.verify(fresh, self._targets, report)

    def not_applied(self) -> None:
        self.report.notes.append("the plan was not applied (not confirmed); it stays stored")
