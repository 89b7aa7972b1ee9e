"""Entra ID / Microsoft 365 web actions against the sandbox tenant over HTTPS, as the tenant's
Administrator application, under delegation: a help desk scoped to the "Europe" administrative
unit (and, in one test, to a virtual admin unit on department) creates a licensed cloud user
there, invites a guest, manages methods and MFA state — and is refused outside its scopes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dirguard.catalog.permission_model import Service
from dirguard.config.schema import (
    EntraSection,
)
from dirguard.core.delegation import ConsoleUser
from dirguard.services.admin.actions import (
    ActionRequest,
    list_objects,
    preview_action,
    run_action,
)
from dirguard.services.admin.delegation import assign, save_role, save_scope
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard.store.models import AuditRecord
from tests.admin.conftest import admin_runtime, admin_tenant
from tests.fixtures.graph_sandbox import RunningSandbox

HELPER = ConsoleUser(name="helpdesk@contoso.com")
ACTIONS = [
    "entra.user.create",
    "entra.user.invite",
    "entra.user.edit",
    "entra.user.list-methods",
    "entra.user.remove-method",
    "entra.user.issue-tap",
    "entra.user.set-mfa-state",
    "entra.group.add-member",
    "entra.user.revoke-sessions",
    "entra.user.suspend",
    "entra.user.unsuspend",
    "entra.managed-device.retire",
    "entra.managed-device.sync",
    "entra.device.disable",
    "entra.device.reveal-laps",
]


def _unit(sandbox: RunningSandbox, name: str) -> str:
    return next(
        u["id"] for u in sandbox.state.administrative_units.values() if u["displayName"] == name
    )


@pytest.fixture
def runtime(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    info = graph_sandbox.info
    monkeypatch.setenv("DG_SANDBOX_SECRET", info.full_client_secret)
    with admin_runtime(tmp_path, tenants=[admin_tenant(info, "DG_SANDBOX_SECRET")]) as runtime:
        save_role(runtime, {"name": "Cloud desk", "actions": ACTIONS, "write_fields": ["*"]})
        save_scope(
            runtime,
            {
                "name": "Europe",
                "kind": "entra-admin-unit",
                "source": "entra:sandbox",
                "base": _unit(graph_sandbox, "Europe"),
            },
        )
        assign(runtime, "Cloud desk", "Europe", "user", HELPER.name)
        yield runtime


def _request(target: str, action: str, **params: Any) -> ActionRequest:
    return ActionRequest(action=action, source="sandbox", target=target, params=params)


def _europe_user(sandbox: RunningSandbox, runtime: Runtime) -> dict[str, Any]:
    found, _ = list_objects(runtime, HELPER, "sandbox", "user", directory="entra")
    assert found, "the Europe unit holds users"
    return {"id": found[0].path, "all": {o.path for o in found}}


def test_list_filtering_shows_only_the_units_members(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    found, truncated = list_objects(runtime, HELPER, "sandbox", "user", directory="entra")
    europe = _unit(graph_sandbox, "Europe")
    with graph_sandbox.client() as graph:
        answer = graph.get(f"/directory/administrativeUnits/{europe}/members").json()
    members = {m["id"] for m in answer["value"]}
    assert {o.path for o in found} == members and not truncated
    assert len(members) < len(graph_sandbox.state.users)
    # A row offers what can be done to that user: no creating actions, no group or device ones.
    offered = set(found[0].actions)
    assert "entra.user.suspend" in offered and "entra.user.set-mfa-state" in offered
    assert not offered & {"entra.user.create", "entra.user.invite", "entra.group.add-member"}


def test_a_licensed_cloud_user_is_created_in_the_unit(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    europe = _unit(graph_sandbox, "Europe")
    request = _request(
        europe,
        "entra.user.create",
        mailNickname="new.starter",
        domain="sandbox7.example.com",
        displayName="New Starter",
        usageLocation="FR",
        licenses=["ENTERPRISEPACK"],
        password="Pa55-w0rd!x",
        department="Sales",
    )
    shown = preview_action(runtime, HELPER, request)
    assert shown.target == "new.starter@sandbox7.example.com"
    assert any("ENTERPRISEPACK: " in note and "free seat" in note for note in shown.notes)
    assert {"field": "passwordProfile", "before": None, "after": "(hidden)"} in shown.edits
    done = run_action(runtime, HELPER, request)
    with graph_sandbox.client() as graph:
        user = graph.get(f"/users/{done.object}?$select=userPrincipalName,assignedLicenses").json()
        units = graph.get(f"/users/{done.object}/memberOf").json()["value"]
    assert user["userPrincipalName"] == "new.starter@sandbox7.example.com"
    assert len(user["assignedLicenses"]) == 1
    assert europe in {u["id"] for u in units}


def test_an_unknown_upn_suffix_fails_with_microsofts_words(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    request = _request(
        _unit(graph_sandbox, "Europe"),
        "entra.user.create",
        mailNickname="x",
        domain="nowhere.example",
        password="Pa55-w0rd!x",
    )
    with pytest.raises(ServiceError, match=r"^The domain '@nowhere\.example' is not valid\.$"):
        preview_action(runtime, HELPER, request)


def test_outside_the_unit_is_refused_and_nothing_written(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    inside = _europe_user(graph_sandbox, runtime)["all"]
    outsider = next(u for u in graph_sandbox.state.users if u not in inside)
    before = dict(graph_sandbox.state.users[outsider])
    with pytest.raises(ServiceError, match="outside every scope") as caught:
        run_action(
            runtime, HELPER, _request(outsider, "entra.user.edit", fields={"jobTitle": "Pwned"})
        )
    assert caught.value.problem is Problem.PERMISSION
    assert graph_sandbox.state.users[outsider].get("jobTitle") == before.get("jobTitle")
    americas = _unit(graph_sandbox, "Americas")
    with pytest.raises(ServiceError, match="outside every scope"):
        preview_action(
            runtime,
            HELPER,
            _request(
                americas,
                "entra.user.create",
                mailNickname="y",
                domain="sandbox7.example.com",
                password="P4ss-w0rd!",
            ),
        )


def test_tap_is_shown_once_and_mfa_state_and_methods_change(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    user = _europe_user(graph_sandbox, runtime)["id"]
    tap = run_action(runtime, HELPER, _request(user, "entra.user.issue-tap", lifetime_minutes="60"))
    assert tap.revealed and len(tap.revealed) >= 8
    with runtime.sessions() as session:
        record = session.get(AuditRecord, tap.audit_id)
        assert record is not None and tap.revealed not in repr(record.details)
    listed = preview_action(runtime, HELPER, _request(user, "entra.user.list-methods"))
    tap_method = next(n for n in listed.notes if n.startswith("temporaryAccessPass "))
    method_id = tap_method.split()[1]
    run_action(runtime, HELPER, _request(user, "entra.user.remove-method", method=method_id))
    again = preview_action(runtime, HELPER, _request(user, "entra.user.list-methods"))
    assert not any(method_id in note for note in again.notes)

    set_on = run_action(
        runtime, HELPER, _request(user, "entra.user.set-mfa-state", state="enforced")
    )
    assert set_on.preview.edits[0]["after"] == ("enforced",)
    with graph_sandbox.client() as graph:
        answer = graph.get(
            f"{graph_sandbox.info.login_base}/beta/users/{user}/authentication/requirements"
        )
    state = answer.json()["perUserMfaState"]
    assert state == "enforced"
    with pytest.raises(ServiceError, match="state: one of disabled, enabled, enforced"):
        preview_action(runtime, HELPER, _request(user, "entra.user.set-mfa-state", state="on"))


def test_a_guest_is_invited(graph_sandbox: RunningSandbox, runtime: Runtime) -> None:
    save_scope(
        runtime,
        {
            "name": "Tenant guests",
            "kind": "virtual",
            "query": {"directories": ["entra"], "object_kinds": ["user"]},
        },
    )
    assign(runtime, "Cloud desk", "Tenant guests", "user", HELPER.name)
    done = run_action(
        runtime,
        HELPER,
        _request("-", "entra.user.invite", email="partner@fabrikam.example", message="Welcome"),
    )
    with graph_sandbox.client() as graph:
        guest = graph.get(f"/users/{done.object}?$select=userType,externalUserState").json()
    assert guest["userType"] == "Guest"
    assert guest["externalUserState"] == "PendingAcceptance"


def test_a_tenant_without_the_administrator_service_offers_no_actions(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    tenant = runtime.config.entra.tenants[0].model_copy(update={"services": [Service.GUARDIAN]})
    bare = Runtime(
        config=runtime.config.model_copy(update={"entra": EntraSection(tenants=[tenant])}),
        sessions=runtime.sessions,
        principal="x",
    )
    with pytest.raises(ServiceError, match="does not run the Administrator service") as caught:
        preview_action(bare, HELPER, _request("x", "entra.user.list-methods"))
    assert caught.value.problem is Problem.CONFIG


def _europe_device(sandbox: RunningSandbox, runtime: Runtime) -> tuple[str, str]:
    """A managed device whose primary user is in the Europe unit, and its Entra device."""
    inside = _europe_user(sandbox, runtime)["all"]
    managed = next(m for m in sandbox.state.managed_devices.values() if m["userId"] in inside)
    device = next(
        d for d in sandbox.state.devices.values() if d["deviceId"] == managed["azureADDeviceId"]
    )
    return managed["id"], device["id"]


def test_suspend_blocks_sign_in_removes_methods_groups_licenses_and_unsuspend_puts_back(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    state = graph_sandbox.state
    inside = _europe_user(graph_sandbox, runtime)["all"]
    leaver = next(
        u
        for u in inside
        if state.users[u].get("assignedLicenses")
        and any(u in members for members in state.members.values())
    )
    groups_before = {g for g, members in state.members.items() if leaver in members}
    licenses_before = [x["skuId"] for x in state.users[leaver]["assignedLicenses"]]
    run_action(runtime, HELPER, _request(leaver, "entra.user.issue-tap", lifetime_minutes="60"))
    shown = preview_action(runtime, HELPER, _request(leaver, "entra.user.suspend"))
    fields = {e["field"] for e in shown.edits}
    assert {"accountEnabled", "authenticationMethods", "memberOf", "assignedLicenses"} <= fields
    run_action(runtime, HELPER, _request(leaver, "entra.user.suspend"))
    user = state.users[leaver]
    assert user["accountEnabled"] is False
    assert user["signInSessionsValidFromDateTime"]
    assert not user.get("assignedLicenses")
    assert not any(leaver in members for members in state.members.values())
    with graph_sandbox.client() as graph:
        methods = graph.get(f"/users/{leaver}/authentication/methods").json()["value"]
    assert [m["@odata.type"] for m in methods] == ["#microsoft.graph.passwordAuthenticationMethod"]

    back = run_action(runtime, HELPER, _request(leaver, "entra.user.unsuspend"))
    assert state.users[leaver]["accountEnabled"] is True
    assert {g for g, members in state.members.items() if leaver in members} == groups_before
    assert sorted(x["skuId"] for x in state.users[leaver]["assignedLicenses"]) == sorted(
        licenses_before
    )
    assert any("not put back" in note for note in back.preview.notes)


def test_unsuspend_without_a_recorded_suspension_is_refused(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    user = sorted(_europe_user(graph_sandbox, runtime)["all"])[-1]
    with pytest.raises(ServiceError, match="no recorded suspension"):
        preview_action(runtime, HELPER, _request(user, "entra.user.unsuspend"))


def test_device_actions_and_laps_reveal_with_a_reason(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    managed, device = _europe_device(graph_sandbox, runtime)
    run_action(runtime, HELPER, _request(managed, "entra.managed-device.retire"))
    assert graph_sandbox.state.managed_devices[managed]["managementState"] == "retirePending"
    again = preview_action(runtime, HELPER, _request(managed, "entra.managed-device.retire"))
    assert again.notes == ("already retirePending",)
    run_action(runtime, HELPER, _request(device, "entra.device.disable"))
    assert graph_sandbox.state.devices[device]["accountEnabled"] is False

    with pytest.raises(ServiceError, match="reason: say why"):
        preview_action(runtime, HELPER, _request(device, "entra.device.reveal-laps", reason="x"))
    before = len(graph_sandbox.state.audits)
    shown = run_action(
        runtime,
        HELPER,
        _request(device, "entra.device.reveal-laps", reason="locked out of the laptop, ticket 123"),
    )
    assert shown.revealed is not None and shown.revealed.startswith("Administrator: ")
    password = shown.revealed.split(": ", 1)[1]
    assert len(password) == 20
    assert "Recover device local administrator password" in [
        a["activityDisplayName"] for a in graph_sandbox.state.audits[before:]
    ]
    with runtime.sessions() as session:
        record = session.get(AuditRecord, shown.audit_id)
        assert record is not None and password not in repr(record.details)
        assert "reason: locked out of the laptop, ticket 123" in record.details["notes"]

    outsider_device = next(
        d
        for d in graph_sandbox.state.managed_devices.values()
        if d["userId"] not in _europe_user(graph_sandbox, runtime)["all"]
    )
    with pytest.raises(ServiceError, match="outside every scope"):
        run_action(runtime, HELPER, _request(outsider_device["id"], "entra.managed-device.sync"))


def test_devices_are_listed_by_their_users_scope(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    inside = _europe_user(graph_sandbox, runtime)["all"]
    found, _ = list_objects(runtime, HELPER, "sandbox", "managed-device", directory="entra")
    expected = {
        m["id"] for m in graph_sandbox.state.managed_devices.values() if m["userId"] in inside
    }
    assert {o.path for o in found} == expected and expected
    assert all(o.name.startswith("LAPTOP-") for o in found)
    users, _ = list_objects(runtime, HELPER, "sandbox", "user", directory="entra")
    assert all(len(o.name) > 1 for o in users)  # a display name, not its first letter


def test_the_guardian_records_an_entra_web_action_as_dirguards_for_the_operator(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    """Graph's directoryAudits name only dirguard's Administrator app; the change history names
    the operator it acted for, and a change made by someone else on the same user stays theirs."""
    from dirguard.services.capture.use_cases import (
        CaptureRequest,
        SnapshotRequest,
        capture,
        snapshot,
    )
    from dirguard.services.history_use_cases import ChangesRequest, list_changes

    user = _europe_user(graph_sandbox, runtime)["id"]
    snapshot(runtime, SnapshotRequest(kind="entra", domain="sandbox"))
    run_action(runtime, HELPER, _request(user, "entra.user.edit", fields={"jobTitle": "Team lead"}))
    with graph_sandbox.client() as admin:  # someone else, outside dirguard, the same minute
        assert admin.patch(f"/users/{user}", json={"officeLocation": "Lyon 3"}).is_success
    capture(runtime, CaptureRequest(kind="entra", domain="sandbox"))
    found = list_changes(runtime, ChangesRequest(object_text=user)).changes
    by_field = {c.attribute: c for c in found}
    assert by_field["jobTitle"].new == "Team lead", [c.attribute for c in found]
    assert by_field["jobTitle"].actor == f"dirguard Administrator (for {HELPER.name})"
    assert "officeLocation" in by_field
    other = by_field["officeLocation"]  # the same app wrote it, but no web action asked for it
    assert (other.actor, other.actor_source) == (
        "dirguard sandbox full access",
        "entra-directory-audit",
    )


def test_a_hidden_membership_group_in_the_unit_is_managed_and_said_so(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    """The Administrator app holds Member.Read.Hidden (the seed's hidden-membership usage), so a
    help desk can manage a Microsoft 365 group that hides its members; the preview says so."""
    europe = _unit(graph_sandbox, "Europe")
    base = graph_sandbox.info.graph_base
    with graph_sandbox.client() as graph:
        group = graph.post(
            "/groups",
            json={
                "displayName": "Works council",
                "mailEnabled": True,
                "mailNickname": "workscouncil",
                "securityEnabled": False,
                "groupTypes": ["Unified"],
                "visibility": "HiddenMembership",
            },
        ).json()
        placed = graph.post(
            f"/directory/administrativeUnits/{europe}/members/$ref",
            json={"@odata.id": f"{base}/directoryObjects/{group['id']}"},
        )
        assert placed.is_success, placed.text
    listed, _ = list_objects(runtime, HELPER, "sandbox", "group", directory="entra")
    assert group["id"] in {o.path for o in listed}
    member = _europe_user(graph_sandbox, runtime)["id"]
    request = _request(group["id"], "entra.group.add-member", member=member)
    shown = preview_action(runtime, HELPER, request)
    assert any("hidden membership" in note for note in shown.notes), shown.notes
    run_action(runtime, HELPER, request)
    assert graph_sandbox.state.members[group["id"]] == [member]
    again = preview_action(runtime, HELPER, request)
    assert any("already a member" in note for note in again.notes)


def test_an_entra_property_the_role_does_not_grant_is_refused_and_not_written(
    graph_sandbox: RunningSandbox, runtime: Runtime
) -> None:
    user = _europe_user(graph_sandbox, runtime)["id"]
    save_role(
        runtime,
        {"name": "Cloud desk", "actions": ["entra.user.edit"], "write_fields": ["mobilePhone"]},
    )
    before = graph_sandbox.state.users[user].get("jobTitle")
    with pytest.raises(ServiceError, match="jobTitle") as refused:
        run_action(
            runtime,
            HELPER,
            _request(user, "entra.user.edit", fields={"jobTitle": "CEO", "mobilePhone": "+1 5"}),
        )
    assert refused.value.problem is Problem.PERMISSION
    assert graph_sandbox.state.users[user].get("jobTitle") == before
    assert graph_sandbox.state.users[user].get("mobilePhone") != "+1 5"
    run_action(runtime, HELPER, _request(user, "entra.user.edit", fields={"mobilePhone": "+1 5"}))
    assert graph_sandbox.state.users[user]["mobilePhone"] == "+1 5"
