"""The demo's Entra half: a rogue Global Administrator's bad half hour in the sandbox tenant,
captured with who, from where and when, and undone by one plan.

The organisation (the tenant's full application) has a role-assignable "Helpdesk Administrators"
group holding the Helpdesk Administrator role, a named location and the conditional access
policy that blocks it, a "Payroll export" application, and a second Global Administrator,
``rogue.admin``. dirguard (its own application, full mode) takes a baseline and monitors; the
rogue, signed in through the device-code flow, adds a member to the privileged group, deletes
the policy and then its named location, adds a client secret to the application and deletes
three users, all over Graph. The directory audit names the rogue; one plan by actor undoes it;
it is applied, and an independent read of the tenant (the full application again) is compared
with what it held before the incident.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from dirguard.services.demo_tenant import DemoTenant, ok
from dirguard.services.history import ChangeView, find_changes
from dirguard.services.rollback.plan_store import StoredPlan
from dirguard.services.runtime import Runtime

Progress = Callable[[str], None]
TENANT = "demo"
CA = "identity/conditionalAccess"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
CAPTURE_WAIT_S = 120.0
DELETED_USERS = 3
VOLATILE = {"id", "createdDateTime", "modifiedDateTime", "@odata.context"}


@dataclass(kw_only=True)
class EntraIncidentReport:
    tenant: str
    organisation: dict[str, int]
    rogue: str = ""
    incident: list[str] = field(default_factory=list)
    captured: list[dict[str, Any]] = field(default_factory=list)
    captured_by_kind: dict[str, int] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    applied: bool = False
    status: str = "planned"
    steps: dict[str, int] = field(default_factory=dict)
    restored: bool = False
    """An independent read of the tenant matches the moment before the incident, but for what
    ``left`` names (and why)."""
    checks: dict[str, bool] = field(default_factory=dict)
    left: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(kw_only=True)
class Targets:
    """What the incident touches, as the tenant showed it before."""

    group: dict[str, Any]
    members: list[str]
    newcomer: dict[str, Any]
    location: dict[str, Any]
    policy: dict[str, Any]
    app: dict[str, Any]
    secrets: list[str]
    users: list[dict[str, Any]]
    groups_of: dict[str, list[str]]

    def ids(self) -> set[str]:
        objects = [self.group, self.location, self.policy, self.app, *self.users]
        return {str(o["id"]) for o in objects}


def _ids(client: httpx.Client, path: str) -> list[str]:
    return sorted(str(item["id"]) for item in ok(client.get(path))["value"])


def _by_name(client: httpx.Client, path: str, name: str) -> dict[str, Any] | None:
    return next((i for i in ok(client.get(path))["value"] if i.get("displayName") == name), None)


def set_up_organisation(admin: httpx.Client, tenant: DemoTenant) -> tuple[str, str, Targets]:
    """The tenant as its administrators made it before dirguard came: returns the rogue's
    sign-in name, password and what the incident will touch."""
    domain = str(tenant.info["global_administrator"]["user_principal_name"]).split("@", 1)[1]
    password = secrets.token_urlsafe(18) + "aA1!"
    rogue = ok(
        admin.post(
            "/users",
            json={
                "accountEnabled": True,
                "displayName": "Rogue Admin",
                "mailNickname": "rogue.admin",
                "userPrincipalName": f"rogue.admin@{domain}",
                "passwordProfile": {"password": password, "forceChangePasswordNextSignIn": False},
            },
        )
    )
    for principal, role in ((rogue["id"], GLOBAL_ADMINISTRATOR),):
        ok(
            admin.post(
                "/roleManagement/directory/roleAssignments",
                json={"principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/"},
            )
        )
    group = _by_name(admin, "/groups", "Helpdesk Administrators")
    if group is None:
        raise RuntimeError("the sandbox tenant has no Helpdesk Administrators group")
    ok(
        admin.post(
            "/roleManagement/directory/roleAssignments",
            json={
                "principalId": group["id"],
                "roleDefinitionId": HELPDESK_ADMINISTRATOR,
                "directoryScopeId": "/",
            },
        )
    )
    made = ok(
        admin.post(
            f"/{CA}/namedLocations",
            json={
                "@odata.type": "#microsoft.graph.ipNamedLocation",
                "displayName": "Untrusted hosting ranges",
                "isTrusted": False,
                "ipRanges": [
                    {
                        "@odata.type": "#microsoft.graph.iPv4CidrRange",
                        "cidrAddress": "203.0.113.0/24",
                    }
                ],
            },
        )
    )
    location = ok(admin.get(f"/{CA}/namedLocations/{made['id']}"))
    # An organisation on conditional access has turned Security Defaults off (Entra refuses an
    # enabled policy while they are on).
    ok(
        admin.patch(
            "/policies/identitySecurityDefaultsEnforcementPolicy", json={"isEnabled": False}
        )
    )
    made = ok(
        admin.post(
            f"/{CA}/policies",
            json={
                "displayName": "Block sign-in from untrusted hosting ranges",
                "state": "enabled",
                "conditions": {
                    "applications": {"includeApplications": ["All"]},
                    "users": {"includeUsers": ["All"], "excludeGroups": [group["id"]]},
                    "locations": {"includeLocations": [location["id"]]},
                },
                "grantControls": {"operator": "OR", "builtInControls": ["block"]},
            },
        )
    )
    policy = ok(admin.get(f"/{CA}/policies/{made['id']}"))
    app = ok(admin.post("/applications", json={"displayName": "Payroll export"}))
    members = _ids(admin, f"/groups/{group['id']}/members")
    people = [
        u
        for u in ok(admin.get("/users?$top=60&$select=id,displayName,userPrincipalName"))["value"]
        if u["id"] not in members
        and u["id"] != rogue["id"]
        and not str(u["userPrincipalName"]).startswith("admin@")
    ]
    newcomer, users = people[0], people[-DELETED_USERS:]
    targets = Targets(
        group=group,
        members=members,
        newcomer=newcomer,
        location=location,
        policy=policy,
        app=app,
        secrets=secrets_of(admin, app),
        users=[_user(admin, u["id"]) for u in users],
        groups_of={u["id"]: _ids(admin, f"/users/{u['id']}/memberOf") for u in users},
    )
    return str(rogue["userPrincipalName"]), password, targets


USER_FIELDS = "id,displayName,userPrincipalName,accountEnabled,department,jobTitle,mail"


def _user(client: httpx.Client, user_id: str) -> dict[str, Any]:
    return ok(client.get(f"/users/{user_id}?$select={USER_FIELDS}"))


def play(rogue: httpx.Client, tenant: DemoTenant, targets: Targets) -> list[str]:
    """The rogue's bad half hour, over Graph as the rogue; what it did, in words."""
    group, location, policy, app = targets.group, targets.location, targets.policy, targets.app
    newcomer = targets.newcomer
    ok(
        rogue.post(
            f"/groups/{group['id']}/members/$ref",
            json={"@odata.id": f"{tenant.graph_base}/directoryObjects/{newcomer['id']}"},
        )
    )
    ok(rogue.delete(f"/{CA}/policies/{policy['id']}"))
    ok(rogue.delete(f"/{CA}/namedLocations/{location['id']}"))
    ok(
        rogue.post(
            f"/applications/{app['id']}/addPassword",
            json={"passwordCredential": {"displayName": "sync"}},
        )
    )
    for user in targets.users:
        ok(rogue.delete(f"/users/{user['id']}"))
    names = ", ".join(str(u["userPrincipalName"]) for u in targets.users)
    return [
        f"added {newcomer['userPrincipalName']} to {group['displayName']} (role-assignable,"
        " holds the Helpdesk Administrator role)",
        f"deleted the conditional access policy {policy['displayName']!r}",
        f"deleted the named location {location['displayName']!r} it used",
        f"added a client secret to the application {app['displayName']!r}",
        f"deleted {len(targets.users)} users: {names}",
    ]


def wait_for_capture(runtime: Runtime, since: datetime, expected: set[str]) -> list[ChangeView]:
    """The tenant's changes since ``since`` once every expected object has one."""
    from dirguard.providers.base import store_source

    deadline = time.monotonic() + CAPTURE_WAIT_S
    while True:
        with runtime.sessions() as session:
            changes = find_changes(session, source=store_source("entra", TENANT), since=since)
        if expected <= {c.object["guid"] for c in changes} or time.monotonic() > deadline:
            return changes
        time.sleep(0.5)


def captured(runtime: Runtime, since: datetime) -> list[ChangeView]:
    from dirguard.providers.base import store_source

    with runtime.sessions() as session:
        return find_changes(session, source=store_source("entra", TENANT), since=since)


def start_monitor(runtime: Runtime) -> tuple[threading.Event, threading.Thread]:
    """``dirguard monitor --tenant demo`` in a thread, one pass a second, until the event."""
    from dirguard.services.capture.use_cases import MonitorRequest, monitor

    stop = threading.Event()
    request = MonitorRequest(
        tenant=TENANT, stop=stop, source_interval=1.0, interval=1.0, notify=False, detect=False
    )
    thread = threading.Thread(
        target=monitor, args=(runtime, request), name="dirguard-monitor-entra", daemon=True
    )
    thread.start()
    return stop, thread


def summary(changes: list[ChangeView]) -> list[dict[str, Any]]:
    return [
        {
            "when": c.occurred_at or c.observed_at,
            "actor": c.actor,
            "from": c.actor_address,
            "op": c.op,
            "attribute": c.attribute,
            "object": c.object["name"] or c.object["dn"] or c.object["guid"],
        }
        for c in changes
    ]


def _same(then: dict[str, Any], now: dict[str, Any] | None, moved: dict[str, str]) -> bool:
    """Equal but for ids, times and references to re-created objects (``moved``)."""
    if now is None:
        return False
    text = _strip(then)
    for old, new in moved.items():
        text = _replace(text, old, new)
    return text == _strip(now)


def _strip(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in VOLATILE}


def _replace(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    return new if value == old else value


def verify(fresh: httpx.Client, targets: Targets, report: EntraIncidentReport) -> None:
    """Read the tenant afresh and compare it with the moment before the incident."""
    group, app = targets.group, targets.app
    location = _by_name(fresh, f"/{CA}/namedLocations", targets.location["displayName"])
    policy = _by_name(fresh, f"/{CA}/policies", targets.policy["displayName"])
    moved = {targets.location["id"]: location["id"]} if location else {}
    passwords = ok(fresh.get(f"/applications/{app['id']}"))["passwordCredentials"]
    users_back = all(
        fresh.get(f"/users/{u['id']}").status_code == 200
        and _user(fresh, u["id"]) == u
        and _ids(fresh, f"/users/{u['id']}/memberOf") == targets.groups_of[u["id"]]
        for u in targets.users
    )
    report.checks = {
        "privileged group members as before": _ids(fresh, f"/groups/{group['id']}/members")
        == targets.members,
        "named location back": _same(targets.location, location, {}),
        "conditional access policy back, pointing at the new location": _same(
            targets.policy, policy, moved
        ),
        "application secrets as before": sorted(str(p["keyId"]) for p in passwords)
        == targets.secrets,
        f"{len(targets.users)} deleted users back with the same ids and groups": users_back,
    }
    report.restored = all(report.checks.values())
    report.left = [
        {
            "object": targets.policy["displayName"],
            "why": "a deleted conditional access policy is created anew: it gets a new id"
            f" ({policy['id'] if policy else '?'}); its settings are the old ones",
        },
        {
            "object": targets.location["displayName"],
            "why": "a deleted named location is created anew with a new id"
            f" ({location['id'] if location else '?'}); the policy that used it now names"
            " the new one",
        },
        {
            "object": app["displayName"],
            "why": "the client secret the rogue added is removed; a secret's value is shown only"
            " when it is made, so one that was deleted could not be re-created, only replaced",
        },
    ]


def secrets_of(admin: httpx.Client, app: dict[str, Any]) -> list[str]:
    record = ok(admin.get(f"/applications/{app['id']}"))
    return sorted(str(p["keyId"]) for p in record["passwordCredentials"])


def report_capture(report: EntraIncidentReport, changes: list[ChangeView]) -> None:
    report.captured = summary(changes)
    report.captured_by_kind = dict(
        Counter(f"{c.op} {c.attribute or ''}".strip() for c in changes).most_common()
    )
    unknown = [c for c in changes if c.actor is None]
    if unknown:
        report.notes.append(
            f"{len(unknown)} changes no audit record names (the deleted users leaving their"
            " groups) are the deletions' consequences: the plan puts them back with the users"
            " (a user restored from deleted items brings its memberships back by itself, and"
            " those steps then find them there)"
        )
    if any(c.actor == report.rogue for c in changes):
        report.notes.append(
            f"the directory audit names {report.rogue} for every change the plan undoes"
        )


def plan_for(runtime: Runtime, rogue: str, since: datetime) -> StoredPlan:
    from dirguard.services.rollback.plan_cases import ByActor, PlanRequest, make_plan

    return make_plan(
        runtime, PlanRequest(selection=ByActor(actor=rogue, since=since), tenant=TENANT)
    )


def tenant_config_text(tenant: DemoTenant, secret_file: Path) -> str:
    client_id, _ = tenant.full_app
    return (
        "[[entra.tenants]]\n"
        f'name = "{TENANT}"\ntenant_id = "{tenant.tenant_id}"\nclient_id = "{client_id}"\n'
        f'client_secret = "file:{secret_file}"\nauthority = "{tenant.login_base}"\n'
        f'graph_url = "{tenant.login_base}"\nca_file = "{tenant.ca_file}"\nmode = "full"\n'
    )


def now() -> datetime:
    return datetime.now(UTC)
