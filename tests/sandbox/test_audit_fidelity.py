"""Audit fidelity: when directoryAudits appear and what Privileged Identity Management logs.

- Latency: "Microsoft Entra reporting latencies"
  (https://learn.microsoft.com/azure/active-directory/reports-monitoring/reference-reports-latencies):
  audit logs 2 min at the 95th percentile, 5 min at the 99th.
- PIM: "Microsoft Entra audit log activity reference"
  (https://learn.microsoft.com/entra/identity/monitoring-health/reference-audit-activities) and
  "View audit log report for Microsoft Entra roles in PIM"
  (https://learn.microsoft.com/entra/id-governance/privileged-identity-management/pim-how-to-use-audit-log).
"""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dirguard_sandbox.__main__ import _parser
from dirguard_sandbox.audit_latency import P95_SECONDS, P99_SECONDS, realistic_delay
from dirguard_sandbox.role_catalog import BUILT_IN_ROLES
from dirguard_sandbox.seed_data import SeedOptions, generate_tenant
from dirguard_sandbox.server import BackgroundSandbox
from dirguard_sandbox.throttling import ManualClock
from tests.fixtures.graph_sandbox import RunningSandbox

pytest.importorskip("msgraph", reason="msgraph-sdk is a test dependency ([test] extra)")

from tests.sandbox.sdk_client import Sdk, sdk

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from msgraph.generated.models.expiration_pattern import ExpirationPattern
    from msgraph.generated.models.expiration_pattern_type import ExpirationPatternType
    from msgraph.generated.models.request_schedule import RequestSchedule
    from msgraph.generated.models.unified_role_assignment_schedule_request import (
        UnifiedRoleAssignmentScheduleRequest,
    )
    from msgraph.generated.models.unified_role_eligibility_schedule_request import (
        UnifiedRoleEligibilityScheduleRequest,
    )
    from msgraph.generated.models.unified_role_schedule_request_actions import (
        UnifiedRoleScheduleRequestActions,
    )

# The SDK's generated builders use its own deprecated classes on every call.
__all__ = ["sdk"]  # the module's SDK client fixture

pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]
HELPDESK = next(r for r in BUILT_IN_ROLES if r.display_name == "Helpdesk Administrator")


@pytest.fixture(scope="module")
def late_tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A served tenant whose audit entries appear 90 s late, on a clock moved by hand."""
    state = generate_tenant(SeedOptions(users=8, seed=31))
    state.clock = ManualClock(datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC))
    state.audit_latency = 90.0
    server = BackgroundSandbox(state, Path(tmp_path_factory.mktemp("late")), throttling=False)
    server.start()
    try:
        yield RunningSandbox(info=server.info, state=server.state)
    finally:
        server.stop()


def _audits(client: httpx.Client) -> list[dict[str, Any]]:
    answer = client.get("/auditLogs/directoryAudits")
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["value"]
    return entries


def test_an_audit_entry_appears_only_once_its_latency_has_passed(
    late_tenant: RunningSandbox,
) -> None:
    clock = late_tenant.state.clock
    assert isinstance(clock, ManualClock)
    user_id = next(iter(late_tenant.state.users))
    with late_tenant.client() as client:
        before = {entry["id"] for entry in _audits(client)}
        written_at = clock()
        assert client.patch(f"/users/{user_id}", json={"jobTitle": "Late"}).status_code == 204
        (new,) = [e for e in late_tenant.state.audits if e["id"] not in before]
        assert {entry["id"] for entry in _audits(client)} == before
        assert client.get(f"/auditLogs/directoryAudits/{new['id']}").status_code == 404
        clock.advance(89)
        assert new["id"] not in {entry["id"] for entry in _audits(client)}
        clock.advance(2)
        shown = {entry["id"]: entry for entry in _audits(client)}
        assert set(shown) == before | {new["id"]}
        single = client.get(f"/auditLogs/directoryAudits/{new['id']}")
        assert single.status_code == 200
    # A late entry keeps the time of the change, not the time it became visible.
    assert shown[new["id"]]["activityDateTime"] == written_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_realistic_latency_has_microsofts_95th_and_99th_percentiles() -> None:
    delays = sorted(realistic_delay(f"entry-{n}") for n in range(20000))
    p95, p99 = delays[int(0.95 * len(delays))], delays[int(0.99 * len(delays))]
    assert abs(p95 - P95_SECONDS) / P95_SECONDS < 0.1
    assert abs(p99 - P99_SECONDS) / P99_SECONDS < 0.12
    assert realistic_delay("same") == realistic_delay("same")
    assert delays[0] > 0


def test_the_serve_line_says_how_late_audits_appear(late_tenant: RunningSandbox) -> None:
    assert late_tenant.info.as_json()["audit_latency"] == 90.0


def test_serve_is_realistic_unless_told_and_refuses_a_bad_latency(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _parser().parse_args(["serve"]).audit_latency == "realistic"
    assert _parser().parse_args(["serve", "--audit-latency", "0"]).audit_latency == 0.0
    assert _parser().parse_args(["serve", "--audit-latency", "45.5"]).audit_latency == 45.5
    for bad in ("soon", "-3"):
        with pytest.raises(SystemExit):
            _parser().parse_args(["serve", "--audit-latency", bad])
        assert "audit latency must be" in capsys.readouterr().err


def _pim_entries(sdk: Sdk, request_id: str) -> list[Any]:
    audits = sdk.run(sdk.client.audit_logs.directory_audits.get())
    assert audits is not None and audits.value is not None
    return [
        entry
        for entry in audits.value
        if any(t.id == request_id for t in entry.target_resources or [])
    ]


def test_pim_eligibility_activation_and_removal_are_logged_by_pim(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    state = graph_sandbox.state
    user_id = next(
        u
        for u in state.users
        if u not in {a["principalId"] for a in state.role_assignments.values()}
    )
    user = state.users[user_id]
    rm = sdk.client.role_management.directory
    start = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)
    end = start + datetime.timedelta(hours=8)
    eligible = sdk.run(
        rm.role_eligibility_schedule_requests.post(
            UnifiedRoleEligibilityScheduleRequest(
                action=UnifiedRoleScheduleRequestActions.AdminAssign,
                principal_id=user_id,
                role_definition_id=HELPDESK.template_id,
                directory_scope_id="/",
                justification="On call this week",
                schedule_info=RequestSchedule(
                    start_date_time=start,
                    expiration=ExpirationPattern(type=ExpirationPatternType.NoExpiration),
                ),
            )
        )
    )
    activated = sdk.run(
        rm.role_assignment_schedule_requests.post(
            UnifiedRoleAssignmentScheduleRequest(
                action=UnifiedRoleScheduleRequestActions.SelfActivate,
                principal_id=user_id,
                role_definition_id=HELPDESK.template_id,
                directory_scope_id="/",
                justification="Ticket 4711",
                schedule_info=RequestSchedule(
                    start_date_time=start,
                    expiration=ExpirationPattern(
                        type=ExpirationPatternType.AfterDateTime, end_date_time=end
                    ),
                ),
            )
        )
    )
    removed = sdk.run(
        rm.role_eligibility_schedule_requests.post(
            UnifiedRoleEligibilityScheduleRequest(
                action=UnifiedRoleScheduleRequestActions.AdminRemove,
                principal_id=user_id,
                role_definition_id=HELPDESK.template_id,
                directory_scope_id="/",
            )
        )
    )
    expected = [
        (eligible, "Add eligible member to role in PIM completed (permanent)"),
        (activated, "Add member to role completed (PIM activation)"),
        (removed, "Remove eligible member from role in PIM completed"),
    ]
    for request, activity in expected:
        assert request is not None and request.id
        (entry,) = _pim_entries(sdk, request.id)
        assert entry.activity_display_name == activity
        assert (entry.logged_by_service, entry.category) == ("PIM", "RoleManagement")
        role, logged_request, principal = entry.target_resources
        assert (role.id, role.display_name, role.type) == (
            HELPDESK.template_id,
            HELPDESK.display_name,
            "Role",
        )
        assert (logged_request.id, logged_request.type) == (request.id, "Request")
        assert (principal.id, principal.user_principal_name) == (
            user_id,
            user["userPrincipalName"],
        )
        details = {d.key: d.value for d in entry.additional_details or []}
        assert details["RoleAssignmentRequestId"] == request.id
        assert details["Justification"] == (request.justification or "")
        assert entry.initiated_by.app.app_id == graph_sandbox.info.full_client_id
    (activation,) = _pim_entries(sdk, activated.id)  # type: ignore[union-attr]
    details = {d.key: d.value for d in activation.additional_details or []}
    assert details["ExpirationTime"].startswith("2026-03-02T17:00:00")


@pytest.fixture(scope="module")
def realistic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    state = generate_tenant(SeedOptions(users=40, seed=5, realistic=True))
    server = BackgroundSandbox(state, Path(tmp_path_factory.mktemp("lived-in")), throttling=False)
    server.start()
    try:
        yield RunningSandbox(info=server.info, state=server.state)
    finally:
        server.stop()


def test_a_realistic_tenant_starts_with_a_week_of_audit_history(realistic: RunningSandbox) -> None:
    state = realistic.state
    admin_upn = realistic.info.admin_user_principal_name
    made = Sdk(realistic)
    try:
        page = made.run(made.client.audit_logs.directory_audits.get())
    finally:
        made.close()
    assert page is not None and page.value is not None
    entries = page.value
    assert len(entries) >= 20
    times = [entry.activity_date_time for entry in entries]
    assert times == sorted(times, reverse=True), "newest first, as Graph lists them"
    now = datetime.datetime.now(datetime.UTC)
    assert all(now - datetime.timedelta(days=7, minutes=5) <= t <= now for t in times if t)
    by_activity: dict[str, list[Any]] = {}
    for entry in entries:
        by_activity.setdefault(entry.activity_display_name or "", []).append(entry)
    assert {
        "Add conditional access policy",
        "Add member to role",
        "Add eligible member to role in PIM completed (timebound)",
        "Update user",
        "Add member to group",
        "Delete user",
    } <= set(by_activity)
    policies = by_activity["Add conditional access policy"]
    assert len(policies) == len(state.policies["conditionalAccessPolicies"])
    assert {p.logged_by_service for p in policies} == {"Conditional Access"}
    assert len(by_activity["Add eligible member to role in PIM completed (timebound)"]) == len(
        [r for r in state.role_schedules.values() if r["kind"] == "eligibilityRequest"]
    )
    admins = [e for e in entries if e.initiated_by.user is not None]
    assert admins and {e.initiated_by.user.user_principal_name for e in admins} == {admin_upn}
    assert {e.initiated_by.user.ip_address for e in admins} == {"203.0.113.10"}
    by_app = [e for e in by_activity["Update user"] if e.initiated_by.app is not None]
    assert by_app, "some user updates were made by a line-of-business app"
    removed = {e.target_resources[0].id for e in by_activity["Delete user"]}
    assert removed == {r["record"]["id"] for r in state.deleted.values() if r["kind"] == "users"}


def test_a_served_tenants_audit_latency_can_be_changed_on_the_admin_path(
    graph_sandbox: RunningSandbox,
) -> None:
    info = graph_sandbox.info
    url = f"{info.login_base}/_sandbox/faults/audit-latency"
    admin = {"x-sandbox-admin-key": info.admin_key}
    tls = graph_sandbox.tls()
    assert httpx.get(url, verify=tls).status_code == 403
    bad = httpx.put(url, json={"audit_latency": "later"}, headers=admin, verify=tls)
    assert bad.status_code == 400 and "audit latency must be" in bad.json()["error"]
    user_id = list(graph_sandbox.state.users)[21]
    try:
        held = httpx.put(url, json={"audit_latency": 3600}, headers=admin, verify=tls)
        assert held.json() == {"audit_latency": 3600.0}
        with graph_sandbox.client() as client:
            client.patch(f"/users/{user_id}", json={"jobTitle": "Held back"})
            late_id = graph_sandbox.state.audits[-1]["id"]
            assert late_id not in {e["id"] for e in _audits(client)}
            httpx.put(url, json={"audit_latency": "0"}, headers=admin, verify=tls)
            client.patch(f"/users/{user_id}", json={"jobTitle": "At once"})
            prompt_id = graph_sandbox.state.audits[-1]["id"]
            shown = {e["id"] for e in _audits(client)}
        assert prompt_id in shown and late_id not in shown
    finally:
        httpx.put(url, json={"audit_latency": 0}, headers=admin, verify=tls)
    assert httpx.get(url, headers=admin, verify=tls).json() == {"audit_latency": 0.0}
