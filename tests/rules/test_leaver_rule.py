"""Issue 16's leaver rule, end to end on a throwaway Samba DC and the sandbox tenant over HTTPS:
"disabled 30 days ago in AD → suspend in Entra, remove licenses, hand over meetings, notify the
manager", run by the scheduler with an injected clock.

The clock is moved, not the directory: the accounts are disabled now (``whenChanged`` is now)
and the scheduler's clock is 31 days ahead, so "disabled 30 days ago" holds for them and for no
enabled account. The dry run's objects equal a hand-made LDAP query (disabled bit set,
``whenChanged`` at least 30 days before the clock, under the scope's OU); the scheduled run
suspends the Entra counterpart, removes its license, forwards its future meetings to the
manager and mails the manager; a later scheduled run changes nothing and sends nothing. An
account with no Entra counterpart fails on its own and stops nobody else.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import ldap
import pytest
from sqlalchemy import select

from dirguard.config.notifications_schema import NotificationsConfig
from dirguard.config.schema import AdSection, Config, EntraSection, SecretsConfig, StoreConfig
from dirguard.providers.ad.passwords import complex_password, unicode_pwd
from dirguard.services.rules.engine import run_rule
from dirguard.services.rules.rule_store import save_rule
from dirguard.services.rules.run_report import run_details, run_history
from dirguard.services.runtime import Runtime
from dirguard.services.scheduler.jobs import run_due
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.models import AuditRecord
from dirguard.store.models_rules import JobRun
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.admin.conftest import admin_tenant
from tests.fixtures.graph_sandbox import RunningSandbox

pytestmark = pytest.mark.samba

SECRET = "DG_RULES_SANDBOX_SECRET"
DAY = timedelta(days=1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now


def _user(conn: Any, dn: str, name: str, uac: int, **extra: str) -> None:
    conn.add_s(
        dn,
        [
            ("objectClass", [b"user"]),
            ("sAMAccountName", [name.encode()]),
            ("unicodePwd", [unicode_pwd(complex_password())]),
            ("userAccountControl", [str(uac).encode()]),
            *((k, [v.encode()]) for k, v in extra.items()),
        ],
    )


@pytest.fixture
def leavers(org: dict[str, str], ldap_admin: Any, graph_sandbox: RunningSandbox) -> dict[str, Any]:
    """In AD, under the org's top OU: a manager (enabled, with a mailbox address), a leaver
    (disabled, managed by her, with an Entra counterpart holding a license and three meetings),
    a second disabled account with no counterpart. In the sandbox: the counterpart."""
    token = org["token"]
    domain = next(iter(graph_sandbox.state.domains))
    manager_mail = f"mia{token}@{domain}"
    names = {
        "mia": f"CN=mia{token},{org['sales']}",
        "leo": f"CN=leo{token},{org['sales']}",
        "lena": f"CN=lena{token},{org['finance']}",
        "upn": f"leo{token}@{domain}",
        "manager_mail": manager_mail,
    }
    _user(ldap_admin, names["mia"], f"mia{token}", 512, mail=manager_mail, displayName="Mia")
    _user(
        ldap_admin,
        names["leo"],
        f"leo{token}",
        514,
        userPrincipalName=names["upn"],
        manager=names["mia"],
        displayName=f"Leo {token}",
    )
    _user(ldap_admin, names["lena"], f"lena{token}", 514, userPrincipalName=f"lena{token}@x.test")
    sku = next(iter(graph_sandbox.state.subscribed_skus.values()))
    now = datetime.now(UTC)
    with graph_sandbox.client() as graph:
        created = graph.post(
            "/users",
            json={
                "accountEnabled": True,
                "displayName": f"Leo {token}",
                "mailNickname": f"leo{token}",
                "userPrincipalName": names["upn"],
                "usageLocation": "FR",
                "passwordProfile": {"password": complex_password()},
            },
        )
        assert created.status_code == 201, created.text
        leo = created.json()["id"]
        licensed = graph.post(
            f"/users/{leo}/assignLicense",
            json={"addLicenses": [{"skuId": sku["skuId"]}], "removeLicenses": []},
        )
        assert licensed.status_code == 200, licensed.text
        meetings = {}
        # In 40 and 45 days: in the future of the scheduler's clock (31 days ahead). In 5 days:
        # already past by then, left alone.
        for subject, days in (("Quarterly review", 40), ("Customer call", 45), ("Standup", 5)):
            start = (now + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S")
            end = (now + timedelta(days=days, hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
            made = graph.post(
                f"/users/{leo}/events",
                json={
                    "subject": subject,
                    "start": {"dateTime": start, "timeZone": "UTC"},
                    "end": {"dateTime": end, "timeZone": "UTC"},
                    "attendees": [{"emailAddress": {"address": "client@fabrikam.example"}}],
                },
            )
            assert made.status_code == 201, made.text
            meetings[subject] = made.json()["id"]
    names["leo_id"] = leo
    names["meetings"] = meetings
    names["sku"] = sku["skuId"]
    return names


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runtime(
    samba_dc: SambaDC,
    org: dict[str, str],
    graph_sandbox: RunningSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clock: Clock,
) -> Iterator[Runtime]:
    monkeypatch.setenv("TEST_DIRGUARD_AD_PASSWORD", samba_dc.admin_password)
    monkeypatch.setenv("TEST_DIRGUARD_ADMIN_PASSWORD", org["admin_password"])
    monkeypatch.setenv(SECRET, graph_sandbox.info.full_client_secret)
    sender = next(u for u in graph_sandbox.state.users.values() if u.get("mail"))
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = Config(
        store=StoreConfig(url=url, checkpoint_file=tmp_path / "c.jsonl"),
        secrets=SecretsConfig(key_file=tmp_path / "k", store_file=tmp_path / "s.json"),
        ad=AdSection(
            domains=[
                domain_config(
                    samba_dc,
                    admin_bind_upn=org["admin_upn"],
                    admin_password="env:TEST_DIRGUARD_ADMIN_PASSWORD",
                )
            ]
        ),
        entra=EntraSection(tenants=[admin_tenant(graph_sandbox.info, SECRET)]),
        notifications=NotificationsConfig(sender=sender["userPrincipalName"]),
    )
    engine = create_engine_for(url)
    upgrade(engine)
    try:
        yield Runtime(
            config=config, sessions=session_factory(engine), principal="admin", clock=clock
        )
    finally:
        engine.dispose()


def _rule(org: dict[str, str], domain: str) -> dict[str, Any]:
    return {
        "name": "leavers",
        "description": "Disabled in AD for 30 days: suspend in Entra, hand over, tell the manager",
        "schedule": "0 2 * * *",
        "scope": {"directory": "ad", "source": domain, "base": org["top"]},
        "conditions": [{"disabled_for_days": 30}],
        "actions": [
            {"do": "suspend", "in": "entra:sandbox", "remove_licenses": True},
            {"do": "meetings", "in": "entra:sandbox", "mode": "forward", "to": "manager"},
            {
                "do": "notify",
                "to": "manager",
                "subject": "$displayName has left: their meetings are yours",
                "body": "Rule $rule did: $changes",
            },
        ],
    }


def _hand_query(ldap_admin: Any, base: str, moment: datetime) -> set[str]:
    """Disabled user accounts under ``base`` whose whenChanged is 30 days or more before
    ``moment`` — written out by hand, as an administrator would with ldapsearch."""
    cutoff = (moment - 30 * DAY).strftime("%Y%m%d%H%M%S.0Z")
    found = ldap_admin.search_s(
        base,
        ldap.SCOPE_SUBTREE,
        "(&(objectCategory=person)(objectClass=user)"
        f"(userAccountControl:1.2.840.113556.1.4.803:=2)(whenChanged<={cutoff}))",
        ["distinguishedName"],
    )
    return {dn.casefold() for dn, _ in found if dn}


def _mail_to(sandbox: RunningSandbox, address: str) -> list[str]:
    return [
        m["message"]["subject"]
        for m in sandbox.state.outbox
        if address in {r["emailAddress"]["address"] for r in m["message"]["toRecipients"]}
    ]


def test_the_leaver_rule_on_a_schedule(
    runtime: Runtime,
    clock: Clock,
    org: dict[str, str],
    leavers: dict[str, Any],
    ldap_admin: Any,
    graph_sandbox: RunningSandbox,
) -> None:
    domain = runtime.ad_domain().name
    save_rule(runtime, _rule(org, domain))
    graph_sandbox.state.outbox.clear()

    # Ten days on: nobody has been disabled for 30 days yet, by hand or by the rule.
    clock.now += 10 * DAY
    early = run_rule(runtime, "leavers", dry_run=True)
    assert early.objects == [] and _hand_query(ldap_admin, org["top"], clock.now) == set()

    # 31 days on: the dry run lists exactly what the hand-made query finds, and each change.
    clock.now += 21 * DAY
    dry = run_rule(runtime, "leavers", dry_run=True)
    expected = _hand_query(ldap_admin, org["top"], clock.now)
    assert expected == {leavers["leo"].casefold(), leavers["lena"].casefold()}
    assert {o.path.casefold() for o in dry.objects} == expected
    leo = next(o for o in dry.objects if o.path.casefold() == leavers["leo"].casefold())
    suspend, meetings, notify = leo.changes
    assert suspend.status == "would-change" and suspend.key == "entra.user.suspend"
    fields = {e["field"]: e for e in suspend.edits}
    assert fields["accountEnabled"]["after"] == ("false",)
    assert fields["assignedLicenses"]["before"] == (leavers["sku"],)
    assert meetings.status == "would-change"
    assert meetings.edits[0]["before"] == ["Quarterly review", "Customer call"]
    assert notify.status == "would-change" and notify.target == leavers["manager_mail"]
    lena = next(o for o in dry.objects if o.path.casefold() == leavers["lena"].casefold())
    assert lena.status == "failed" and "lena" in str(lena.changes[0].error)
    assert dry.counts == {"objects": 2, "changed": 1, "unchanged": 0, "failed": 1, "changes": 3}
    # A dry run writes nothing.
    assert graph_sandbox.state.users[leavers["leo_id"]]["accountEnabled"] is True
    assert graph_sandbox.state.outbox == []

    # The scheduler's pass at that moment: the rule's 02:00 firing has passed, so it runs.
    ran = run_due(runtime, worker="serve")
    assert len(ran) == 1
    with runtime.sessions() as session:
        job = session.get(JobRun, ran[0])
        assert job is not None and job.kind == "rule" and job.key == "leavers"
        assert job.status == "succeeded", job.error
        run_id = job.summary["run_id"]
    report = run_details(runtime, run_id)
    assert report.started_by == "schedule" and report.status == "partial"
    assert {o.path.casefold(): o.status for o in report.objects} == {
        leavers["leo"].casefold(): "changed",
        leavers["lena"].casefold(): "failed",
    }
    user = graph_sandbox.state.users[leavers["leo_id"]]
    assert user["accountEnabled"] is False and user["assignedLicenses"] == []
    events = graph_sandbox.state.events[leavers["leo_id"]]
    for subject, event_id in leavers["meetings"].items():
        attendees = {a["emailAddress"]["address"] for a in events[event_id]["attendees"]}
        assert (leavers["manager_mail"] in attendees) is (subject != "Standup")
    to_manager = _mail_to(graph_sandbox, leavers["manager_mail"])
    assert sorted(to_manager) == sorted(
        [
            "FW: Quarterly review",
            "FW: Customer call",
            f"Leo {org['token']} has left: their meetings are yours",
        ]
    )
    with runtime.sessions() as session:
        audited = session.scalars(
            select(AuditRecord).where(AuditRecord.actor == "rule leavers")
        ).all()
    assert {a.action for a in audited} == {
        "admin.entra.user.suspend",
        "rules.meetings.forward",
        "rules.notify",
    }

    # The same pass again finds nothing due; the next night's run changes nothing.
    assert run_due(runtime, worker="serve") == []
    sent = len(graph_sandbox.state.outbox)
    clock.now += DAY
    (second_job,) = run_due(runtime, worker="serve")
    with runtime.sessions() as session:
        job = session.get(JobRun, second_job)
        assert job is not None
        second = run_details(runtime, job.summary["run_id"])
    statuses = {o.path.casefold(): o.status for o in second.objects}
    assert statuses[leavers["leo"].casefold()] == "unchanged"
    assert second.counts["changes"] == 0
    assert len(graph_sandbox.state.outbox) == sent
    assert [h["run_id"] for h in run_history(runtime, "leavers")][:2] == [
        second.run_id,
        report.run_id,
    ]
