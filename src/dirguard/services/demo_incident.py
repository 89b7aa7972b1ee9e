"""The demo's incident on a throwaway domain: the job dirguard exists for, end to end.

A small organisation is made in the DC and snapshotted; ``dirguard monitor``'s loop runs; a
separate "rogue admin" account makes its bad half hour over LDAP; the monitor captures every
change and Samba's audit names who made it and from where; one plan undoes everything the rogue
did; it is applied step by step and read back; and a fresh read of the live directory is
compared with the moment before the incident. Everything goes through the same use cases the
CLI commands call (snapshot, monitor, fill actors, rollback plan, apply, diff).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dirguard.providers.ad import KIND as AD
from dirguard.providers.base import store_source
from dirguard.services.compare import CompareReport, CompareRequest, compare
from dirguard.services.history import ChangeView, find_changes
from dirguard.services.rollback.plan_store import StoredPlan
from dirguard.services.runtime import Runtime
from dirguard.throwaway.samba_dc import SambaDC
from dirguard.throwaway.samba_incident import Incident, play_incident
from dirguard.throwaway.samba_org import Organisation, seed_organisation

Progress = Callable[[str], None]
Confirm = Callable[[StoredPlan], bool]

CAPTURE_WAIT_S = 120.0
"""How long the demo waits for the monitor to have stored every change of the incident."""


@dataclass(kw_only=True)
class IncidentReport:
    realm: str
    organisation: dict[str, int]
    incident: list[str]
    captured: list[dict[str, Any]] = field(default_factory=list)
    """The rogue's changes as dirguard recorded them (who, from where, when)."""
    captured_by_kind: dict[str, int] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    applied: bool = False
    status: str = "planned"
    steps: dict[str, int] = field(default_factory=dict)
    restored: bool = False
    """The live directory equals the moment before the incident, but for what reanimated
    objects cannot get back (``left`` says what and why)."""
    left: list[dict[str, Any]] = field(default_factory=list)
    """What still differs from the moment before (and why, where known)."""
    notes: list[str] = field(default_factory=list)
    config: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _guids(conn: Any, dns: list[str]) -> dict[str, str]:
    import ldap

    from dirguard.providers.ad.values import guid_text

    found = {}
    for dn in dns:
        [(_, attrs)] = conn.search_s(dn, ldap.SCOPE_BASE, attrlist=["objectGUID"])
        found[guid_text(attrs["objectGUID"][0])] = dn
    return found


def _captured(runtime: Runtime, domain_name: str, since: datetime) -> list[ChangeView]:
    with runtime.sessions() as session:
        return find_changes(session, source=store_source(AD, domain_name), since=since)


def _wait_for_capture(
    runtime: Runtime, domain_name: str, since: datetime, expected: dict[str, str]
) -> list[ChangeView]:
    """The changes since ``since`` once every expected object has one, and its actor is known."""
    deadline = time.monotonic() + CAPTURE_WAIT_S
    while True:
        changes = _captured(runtime, domain_name, since)
        seen = {c.object["guid"] for c in changes if c.actor}
        if set(expected) <= seen or time.monotonic() > deadline:
            return changes
        time.sleep(0.5)


def _run_monitor(runtime: Runtime, domain_name: str) -> tuple[threading.Event, threading.Thread]:
    from dirguard.providers.ad.change_notification import change_notifier
    from dirguard.services.capture.monitor import Monitor

    watcher = Monitor(
        sessions=runtime.sessions,
        domains=runtime.ad_domains(domain_name),
        connector=lambda d: runtime.openers(d).bind(),
        interval=1.0,
        notifier=change_notifier,
    )
    thread = threading.Thread(target=watcher.run, name="dirguard-monitor", daemon=True)
    thread.start()
    return watcher.stop, thread


def _summary(changes: list[ChangeView]) -> list[dict[str, Any]]:
    return [
        {
            "when": c.occurred_at or c.observed_at,
            "actor": c.actor,
            "from": c.actor_address,
            "op": c.op,
            "attribute": c.attribute,
            "object": c.object["dn"],
        }
        for c in changes
    ]


KNOWN_LEFT = {
    "lastknownparent": "set by the DC when the object was deleted, kept on reanimation",
    "pwdlastset": "the password was lost with the deletion (AD keeps none on a tombstone):"
    " set a new one before the account is used",
}
"""What a reanimated object cannot get back, and why."""


def _left(diff: CompareReport, deleted: set[str]) -> tuple[list[dict[str, Any]], bool]:
    """What still differs, grouped by what differs; whether it is all of the known kind (on
    objects the incident deleted)."""
    groups: dict[tuple[str, tuple[str, ...], str | None], list[str]] = {}
    restored = True
    for difference in diff.differences:
        fields = tuple(sorted(f.field for f in difference.fields))
        known = (
            difference.presence.value == "changed"
            and difference.guid in deleted
            and all(f.lower() in KNOWN_LEFT for f in fields)
        )
        restored = restored and known
        why = "; ".join(KNOWN_LEFT[f.lower()] for f in fields) if known else None
        groups.setdefault((difference.presence.value, fields, why), []).append(
            difference.dn or difference.guid
        )
    left = [
        {"presence": p, "fields": list(f), "why": why, "count": len(objects), "objects": objects}
        for (p, f, why), objects in groups.items()
    ]
    return left, restored


def run_incident(
    dc: SambaDC,
    runtime: Runtime,
    progress: Progress,
    confirm: Confirm,
    *,
    users_per_department: int = 40,
) -> IncidentReport:
    """The incident on ``dc`` with dirguard working through ``runtime`` (its domain is ``dc``'s,
    bound as the DC's administrator in full mode, with Samba's audit files)."""
    from dirguard.services.capture.use_cases import (
        ActorsRequest,
        SnapshotRequest,
        fill_actors,
        snapshot,
    )
    from dirguard.services.rollback.apply_cases import ApplyRequest, apply_stored
    from dirguard.services.rollback.plan_cases import ByActor, PlanRequest, make_plan
    from dirguard.throwaway.samba_dc import open_ldaps

    domain = runtime.ad_domain(None)
    progress("Making a small organisation: departments, users, nested groups, service accounts")
    admin = open_ldaps(dc)
    try:
        org = seed_organisation(dc, admin, users_per_department)
        report = IncidentReport(
            realm=dc.realm,
            organisation={
                "departments": len(org.departments),
                "users": org.users,
                "service_accounts": len(org.service_accounts),
            },
            incident=[],
        )
        progress("Baseline snapshot of the domain")
        snapshot(runtime, SnapshotRequest(domain=domain.name))
        targets = _targets(admin, dc, org)
    finally:
        admin.unbind_s()
    progress("Monitoring started (LDAP change notification, DirSync)")
    stop, thread = _run_monitor(runtime, domain.name)
    try:
        before = datetime.now(UTC)
        progress(f"The rogue admin {org.rogue_upn} is at work")
        incident = play_incident(dc, org)
        report.incident = incident.lines()
        progress("Waiting for the monitor to store every change with its actor")
        _wait_for_capture(runtime, domain.name, before, targets)
    finally:
        stop.set()
        thread.join(timeout=60)
    fill_actors(runtime, ActorsRequest(domain=domain.name))
    _report_capture(report, _captured(runtime, domain.name, before), org)
    progress(f"Planning the rollback of everything {org.rogue_sam} did")
    plan = make_plan(
        runtime,
        PlanRequest(
            selection=ByActor(actor=org.rogue_sam, since=before, include_unattributed=True),
            domain=domain.name,
        ),
    )
    report.plan = plan.as_dict()
    if not confirm(plan):
        report.notes.append("the plan was not applied (not confirmed); it stays stored")
        return report
    progress(f"Applying plan {plan.id} step by step, each step read back")
    applied = apply_stored(runtime, ApplyRequest(plan_id=plan.id))
    report.applied, report.status = True, applied.status
    report.steps = dict(Counter(s.status for s in applied.plan.steps))
    progress("Comparing the live directory with the moment before the incident")
    diff = compare(runtime, CompareRequest(since=before, live=True, domain=domain.name))
    deleted = {
        c.object["guid"] for c in _captured(runtime, domain.name, before) if c.op == "delete"
    }
    report.left, report.restored = _left(diff, {g for g in deleted if g})
    report.notes += _notes(incident)
    return report


def _targets(admin: Any, dc: SambaDC, org: Organisation) -> dict[str, str]:
    """objectGUID → DN of every object the incident touches (read before it)."""
    finance, engineering = org.departments["Finance"], org.departments["Engineering"]
    return _guids(
        admin,
        [
            f"CN=Domain Admins,CN=Users,{dc.base_dn}",
            *org.departments["Sales"].users,
            finance.ou,
            engineering.ou,
        ],
    )


def _report_capture(report: IncidentReport, changes: list[ChangeView], org: Organisation) -> None:
    report.captured = _summary(changes)
    kinds = Counter(f"{c.op} {c.attribute or ''}".strip() for c in changes)
    report.captured_by_kind = dict(kinds.most_common())
    actors = {c.actor for c in changes if c.actor}
    if actors and all(org.rogue_sam.lower() in a.lower() for a in actors):
        report.notes.append(f"every attributed change names {org.rogue_sam}")


def _notes(incident: Incident) -> list[str]:
    return [
        f"the {incident.deleted_objects} objects of {incident.deleted_ou} came back from their"
        " tombstones with the same objectGUID and objectSid, their attributes and group"
        " memberships from dirguard's history",
    ]


def demo_config_text(dc: SambaDC, store_url: str, password_file: Path) -> str:
    """The configuration the demo works with, for the commands it suggests afterwards."""
    logs = dc.audit_logs
    files = ", ".join(
        f'"{p}"' for p in (logs.directory_changes, logs.group_changes, logs.password_changes)
    )
    return (
        f'[store]\nurl = "{store_url}"\n\n'
        "[[ad.domains]]\n"
        f'name = "{dc.realm.lower()}"\nservers = ["{dc.host}"]\nca_file = "{dc.ca_cert_path}"\n'
        f'bind_upn = "{dc.admin_upn}"\npassword = "file:{password_file}"\nmode = "full"\n'
        f"samba_audit_files = [{files}]\n"
    )
