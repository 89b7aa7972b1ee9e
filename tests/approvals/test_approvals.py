"""Approval workflows through the service against the sandbox tenant over HTTPS: suspending a
leaver (an Entra web action) needs 2 of {the team lead, the CISO, the leaver's manager}. It is
refused without approval, runs only once the second approval is in — as the requester, under
their delegation — and a request past its expiry never runs, whoever approves it. Escalation
adds the CIO and e-mails them; every step is in the audit log with requester and approver."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.config.approvals_schema import ApprovalPolicy, ApprovalsConfig
from dirguard.config.notifications_schema import NotificationsConfig
from dirguard.core.delegation import ConsoleUser
from dirguard.services.admin.actions import ActionRequest, run_action
from dirguard.services.admin.delegation import assign, save_role, save_scope
from dirguard.services.approvals.requests import decide, list_requests, submit, sweep
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard.store.models import AuditRecord
from tests.admin.conftest import admin_runtime, admin_tenant
from tests.fixtures.graph_sandbox import RunningSandbox

HELPER = ConsoleUser(name="helpdesk@contoso.com")
LEAD = ConsoleUser(name="lead@contoso.com")
CISO = ConsoleUser(name="ciso@contoso.com")
CIO = ConsoleUser(name="cio@contoso.com")
CONSOLE = "https://dirguard.contoso.example:8443"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _unit(sandbox: RunningSandbox, name: str) -> str:
    return next(
        u["id"] for u in sandbox.state.administrative_units.values() if u["displayName"] == name
    )


@pytest.fixture
def setup(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: Clock
) -> Iterator[tuple[Runtime, str, str]]:
    """The runtime, a leaver in the Europe unit (enabled) and their manager's UPN."""
    info = graph_sandbox.info
    state = graph_sandbox.state
    monkeypatch.setenv("DG_SANDBOX_SECRET", info.full_client_secret)
    europe = _unit(graph_sandbox, "Europe")
    members = state.unit_members[europe]
    leaver = next(u for u in members if state.users[u].get("accountEnabled"))
    manager = next(u for u in state.users.values() if u["id"] not in members and u.get("mail"))
    with graph_sandbox.client() as graph:
        state.users[leaver]["accountEnabled"] = True
        put = graph.put(
            f"/users/{leaver}/manager/$ref",
            json={"@odata.id": f"{info.graph_base}/directoryObjects/{manager['id']}"},
        )
        assert put.status_code == 204, put.text
    sender = next(u for u in state.users.values() if u.get("mail") and u["id"] != manager["id"])
    state.outbox.clear()
    policy = ApprovalPolicy(
        name="leavers",
        actions=["entra.user.suspend"],
        approvers=[LEAD.name, CISO.name],
        manager=True,
        required=2,
        expires_hours=48,
        escalate_after_hours=24,
        escalate_to=[CIO.name],
    )
    with admin_runtime(tmp_path, tenants=[admin_tenant(info, "DG_SANDBOX_SECRET")]) as base:
        runtime = replace(
            base,
            clock=clock,
            config=base.config.model_copy(
                update={
                    "approvals": ApprovalsConfig(console_url=CONSOLE, policies=[policy]),
                    "notifications": NotificationsConfig(sender=sender["userPrincipalName"]),
                }
            ),
        )
        save_role(
            runtime,
            {"name": "Leavers desk", "actions": ["entra.user.suspend"], "write_fields": ["*"]},
        )
        save_scope(
            runtime,
            {
                "name": "Europe",
                "kind": "entra-admin-unit",
                "source": "entra:sandbox",
                "base": europe,
            },
        )
        assign(runtime, "Leavers desk", "Europe", "user", HELPER.name)
        yield runtime, leaver, str(manager["userPrincipalName"])


def _suspend(leaver: str) -> ActionRequest:
    return ActionRequest(
        action="entra.user.suspend",
        source="sandbox",
        target=leaver,
        params={"remove_groups": False, "remove_licenses": False},
    )


def _audit(runtime: Runtime) -> list[tuple[str, str, str]]:
    with runtime.sessions() as session:
        return [
            (r.actor, r.action, r.outcome)
            for r in session.scalars(select(AuditRecord).order_by(AuditRecord.id))
            if r.action.startswith(("approval.", "admin."))
        ]


def _mails(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    return [m["message"] for m in sandbox.state.outbox]


def _to(message: dict[str, Any]) -> set[str]:
    return {r["emailAddress"]["address"] for r in message["toRecipients"]}


def test_the_action_runs_only_after_the_second_approval(
    graph_sandbox: RunningSandbox, setup: tuple[Runtime, str, str]
) -> None:
    runtime, leaver, manager = setup
    user = graph_sandbox.state.users[leaver]

    with pytest.raises(ServiceError, match="needs approval") as direct:
        run_action(runtime, HELPER, _suspend(leaver))
    assert direct.value.problem is Problem.CONFLICT and user["accountEnabled"] is True

    filed = submit(runtime, HELPER, _suspend(leaver), reason="left on Friday")
    assert filed.result is None and filed.request is not None
    request = filed.request
    assert request["status"] == "pending" and request["requester"] == HELPER.name
    assert request["approvers"] == [LEAD.name, CISO.name, manager]
    assert user["accountEnabled"] is True
    (ask,) = _mails(graph_sandbox)
    assert _to(ask) == {LEAD.name, CISO.name, manager}
    assert f"{CONSOLE}/approvals/{request['id']}?decision=approve" in ask["body"]["content"]
    assert "left on Friday" in ask["body"]["content"]
    assert [r["id"] for r in list_requests(runtime, LEAD, administrator=False)] == [request["id"]]
    assert list_requests(runtime, CIO, administrator=False) == []

    for stranger in (HELPER, CIO):  # the requester, and someone not (yet) an approver
        with pytest.raises(ServiceError) as refused:
            decide(runtime, stranger, request["id"], approve=True)
        assert refused.value.problem is Problem.PERMISSION
    after_one = decide(runtime, LEAD, request["id"], approve=True)
    assert after_one["status"] == "pending" and user["accountEnabled"] is True
    with pytest.raises(ServiceError, match="already decided"):
        decide(runtime, LEAD, request["id"], approve=True)

    done = decide(runtime, ConsoleUser(name=manager), request["id"], approve=True)
    assert done["status"] == "executed", done["result"]
    assert user["accountEnabled"] is False
    assert [d["by"] for d in done["decisions"]] == [LEAD.name, manager]

    assert _audit(runtime) == [
        (HELPER.name, "admin.entra.user.suspend", "denied"),
        (HELPER.name, "approval.request", "succeeded"),
        (HELPER.name, "approval.approve", "denied"),
        (CIO.name, "approval.approve", "denied"),
        (LEAD.name, "approval.approve", "succeeded"),
        (manager, "approval.approve", "succeeded"),
        (HELPER.name, "admin.entra.user.suspend", "succeeded"),
        (HELPER.name, "approval.execute", "succeeded"),
    ]
    with runtime.sessions() as session:
        ran = session.scalars(
            select(AuditRecord).where(
                AuditRecord.action == "admin.entra.user.suspend",
                AuditRecord.outcome == "succeeded",
            )
        ).one()
    assert ran.details["approval"] == {
        "request": request["id"],
        "approved_by": [LEAD.name, manager],
        "requester": HELPER.name,
    }
    told = _mails(graph_sandbox)[-1]
    assert _to(told) == {HELPER.name} and "executed" in told["subject"]


def test_an_expired_request_never_runs(
    graph_sandbox: RunningSandbox, setup: tuple[Runtime, str, str], clock: Clock, tmp_path: Path
) -> None:
    runtime, leaver, manager = setup
    user = graph_sandbox.state.users[leaver]
    filed = submit(runtime, HELPER, _suspend(leaver))
    assert filed.request is not None
    request_id = filed.request["id"]
    decide(runtime, LEAD, request_id, approve=True)

    clock.now += timedelta(hours=25)
    swept = sweep(runtime)
    assert (swept.expired, swept.escalated) == ([], [request_id])
    escalation = _mails(graph_sandbox)[-1]
    assert _to(escalation) == {CIO.name} and "Approval needed" in escalation["subject"]

    clock.now += timedelta(hours=24)  # 49 h: past the 48 h expiry, not yet swept
    with pytest.raises(ServiceError, match="is expired") as late:
        decide(runtime, CIO, request_id, approve=True)
    assert late.value.problem is Problem.CONFLICT
    with pytest.raises(ServiceError, match="is expired"):
        decide(runtime, ConsoleUser(name=manager), request_id, approve=True)
    assert user["accountEnabled"] is True
    assert sweep(runtime).expired == []  # already expired, once
    actions = [a for _, a, _ in _audit(runtime)]
    assert actions == [
        "approval.request",
        "approval.approve",
        "approval.escalated",
        "approval.expired",
    ]
    assert "admin.entra.user.suspend" not in actions
    told = _mails(graph_sandbox)[-1]
    assert _to(told) == {HELPER.name} and "expired" in told["subject"]

    # `dirguard approvals list` reads the same store.
    config = tmp_path / "dirguard.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        f'[secrets]\nkey_file = "{tmp_path / "k"}"\nstore_file = "{tmp_path / "s.json"}"\n'
    )
    listed = CliRunner().invoke(
        app, ["--config", str(config), "approvals", "list", "--status", "expired", "--json"]
    )
    assert listed.exit_code == 0, listed.output
    (shown,) = json.loads(listed.stdout)["requests"]
    assert (shown["id"], shown["requester"]) == (request_id, HELPER.name)


def test_one_rejection_ends_the_request(
    graph_sandbox: RunningSandbox, setup: tuple[Runtime, str, str]
) -> None:
    runtime, leaver, _ = setup
    filed = submit(runtime, HELPER, _suspend(leaver))
    assert filed.request is not None
    rejected = decide(runtime, CISO, filed.request["id"], approve=False, note="not a leaver")
    assert rejected["status"] == "rejected"
    with pytest.raises(ServiceError, match="is rejected"):
        decide(runtime, LEAD, filed.request["id"], approve=True)
    assert graph_sandbox.state.users[leaver]["accountEnabled"] is True


def test_policies_are_checked_when_the_configuration_loads() -> None:
    with pytest.raises(ValueError, match="takes a password"):
        ApprovalPolicy(name="p", actions=["ad.user.reset-password"], approvers=["a@b"])
    with pytest.raises(ValueError, match=r"no web action 'ad\.user\.explode'"):
        ApprovalPolicy(name="p", actions=["ad.user.explode"], approvers=["a@b"])
    with pytest.raises(ValueError, match="required = 3 but only 2"):
        ApprovalPolicy(
            name="p", actions=["entra.user.suspend"], approvers=["a@b", "c@d"], required=3
        )
    with pytest.raises(ValueError, match="name approvers, groups or manager"):
        ApprovalPolicy(name="p", actions=["entra.user.suspend"])


def test_people_the_requester_works_with_are_suggested_first(
    graph_sandbox: RunningSandbox, setup: tuple[Runtime, str, str]
) -> None:
    """Without a delegated sign-in token (a requester on the CLI, a local account), the eligible
    approvers are ranked by the organisation chart, read as the application: the manager first.
    (Graph's users/{id}/people would need People.Read.All, which the seed does not grant; the
    sandbox answers it as Graph does, and /me/people needs a signed-in user.)"""
    runtime, leaver, _ = setup
    state = graph_sandbox.state
    requester, boss_id = [u for u in state.users if u != leaver and u not in state.managers][:2]
    boss = state.users[boss_id]
    with graph_sandbox.client() as graph:
        put = graph.put(
            f"/users/{requester}/manager/$ref",
            json={"@odata.id": f"{graph_sandbox.info.graph_base}/directoryObjects/{boss_id}"},
        )
        assert put.status_code == 204, put.text
    with graph_sandbox.client() as graph:
        people = graph.get(f"/users/{requester}/people", params={"$top": "3"}).json()["value"]
        assert people[0]["userPrincipalName"] == boss["userPrincipalName"]
        assert people[0]["personType"] == {"class": "Person", "subclass": "OrganizationUser"}
        assert len(people) <= 3
        assert graph.get("/me/people").status_code == 403  # an application is nobody's "me"
    upn = state.users[requester]["userPrincipalName"]
    assign(runtime, "Leavers desk", "Europe", "user", upn)
    policy = runtime.config.approvals.policies[0].model_copy(
        update={"approvers": [CISO.name, boss["userPrincipalName"]], "manager": False}
    )
    runtime = replace(
        runtime,
        config=runtime.config.model_copy(
            update={"approvals": ApprovalsConfig(console_url=CONSOLE, policies=[policy])}
        ),
    )
    filed = submit(runtime, ConsoleUser(name=upn), _suspend(leaver))
    assert filed.request is not None
    assert filed.request["preview"]["suggested_approvers"] == [boss["userPrincipalName"]]
    assert filed.request["preview"]["suggested_from"] == "organisation"


def test_a_requester_signed_in_with_people_read_gets_their_own_relevant_people(
    graph_sandbox: RunningSandbox, setup: tuple[Runtime, str, str]
) -> None:
    """With ``[web.oidc] people_read`` the console's Entra sign-in asks for the delegated
    People.Read (the seed's grant) and keeps the access token in memory; an approval request
    the person then files is ranked by GET /me/people — their own relevant people, which here
    include a colleague of the same department whom the organisation chart would not name."""
    from dirguard.config.schema import WebOidcConfig
    from dirguard.services.console.delegated_tokens import DELEGATED_TOKENS
    from dirguard.services.console.entra_sign_in import EntraSignIn
    from tests.sandbox.identity_helpers import graph_sp_id
    from tests.web.entra_tenant import add_user, register_console_app, sign_in_at_entra

    runtime, leaver, _ = setup
    state = graph_sandbox.state
    callback = "http://testserver/signin/entra/callback"
    app = register_console_app(graph_sandbox, [callback])
    requester_id, upn = add_user(graph_sandbox, app, "rhea")
    colleague = next(u for u in state.users.values() if u.get("department") and u["id"] != leaver)
    with graph_sandbox.client() as graph:
        # The administrator consents to People.Read for the console app, besides User.Read.
        grants = graph.get(
            f"/servicePrincipals/{app.service_principal_id}/oauth2PermissionGrants"
        ).json()["value"]
        (grant,) = [g for g in grants if g["resourceId"] == graph_sp_id(graph)]
        consent = graph.patch(
            f"/oauth2PermissionGrants/{grant['id']}", json={"scope": "User.Read People.Read"}
        )
        assert consent.status_code == 204, consent.text
        moved = graph.patch(f"/users/{requester_id}", json={"department": colleague["department"]})
        assert moved.status_code == 204, moved.text
    sign_in = EntraSignIn(
        config=WebOidcConfig(
            tenant_id=graph_sandbox.info.tenant_id,
            client_id=app.client_id,
            authority=graph_sandbox.info.login_base,
            ca_file=graph_sandbox.info.ca_file,
            default_role="operator",
            people_read=True,
        ),
        client_secret=app.client_secret,
        sessions=runtime.sessions,
        clock=runtime.clock,
    )
    url, flow = sign_in.begin(callback)
    assert "People.Read" in url
    back = parse_qs(urlparse(sign_in_at_entra(graph_sandbox, url, upn)).query)
    try:
        sign_in.complete(flow, code=back["code"][0], state=back["state"][0], address="127.0.0.1")
        held = DELEGATED_TOKENS.get(upn, runtime.clock())
        assert held is not None and held.token not in repr(held)
        assign(runtime, "Leavers desk", "Europe", "user", upn)
        policy = runtime.config.approvals.policies[0].model_copy(
            update={"approvers": [CISO.name, colleague["userPrincipalName"]], "manager": False}
        )
        runtime = replace(
            runtime,
            config=runtime.config.model_copy(
                update={"approvals": ApprovalsConfig(console_url=CONSOLE, policies=[policy])}
            ),
        )
        filed = submit(runtime, ConsoleUser(name=upn), _suspend(leaver))
        assert filed.request is not None
        assert filed.request["preview"]["suggested_approvers"] == [colleague["userPrincipalName"]]
        assert filed.request["preview"]["suggested_from"] == "people"
        with runtime.sessions() as session:  # the token is in no row of the store
            stored = [r.details for r in session.scalars(select(AuditRecord))]
        assert held.token not in json.dumps(stored, default=str)
    finally:
        DELEGATED_TOKENS.forget(upn)
    # Signed out of memory (a restart, an expiry): the organisation chart again, which does not
    # name a mere colleague.
    again = submit(runtime, ConsoleUser(name=upn), _suspend(leaver))
    assert again.request is not None
    assert again.request["preview"]["suggested_approvers"] == []
    assert again.request["preview"]["suggested_from"] is None
