"""The demo's Entra incident (``dirguard demo``'s Entra half, :mod:`dirguard.services.demo_entra`,
on its own throwaway ``dirguard sandbox serve`` tenant over HTTPS) as the threat rules see it:
the rogue Global Administrator adds a member to the role-assignable Helpdesk Administrators
group, deletes a conditional access policy and then its named location, adds a client secret
to the "Payroll export" application and deletes three users. The demo's own monitor captures
it (with the actors from the directory audit); ``threats scan`` over the demo's store (the
built-in rules, no site settings) raises exactly one alert per dangerous change, each with its
severity and the rogue as actor."""

from __future__ import annotations

from pathlib import Path

from dirguard.services.demo_entra_half import EntraHalf
from dirguard.services.demo_tenant import throwaway_tenant
from dirguard.services.threats.alert_cases import AlertQuery, list_alerts
from dirguard.services.threats.definitions import rules_in_force
from dirguard.services.threats.scan import ScanRequest, scan
from dirguard.store import database


def test_the_demos_entra_incident_raises_one_alert_per_dangerous_change(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = database.create_engine_for(url)
    database.upgrade(engine)
    with throwaway_tenant(60) as tenant:
        half = EntraHalf(
            tenant=tenant,
            store_url=url,
            sessions=database.session_factory(engine),
            actor="tester",
            progress=lambda _line: None,
            users=60,
        )
        half.play()
        runtime, targets, rogue = half.runtime, half._targets, half.report.rogue
        assert targets is not None
        rules = rules_in_force(runtime.config.threats)
        report = scan(runtime, rules, ScanRequest(since=half._since))
    alerts = list_alerts(runtime, AlertQuery(status=None))
    by_rule = {a["rule"]: a for a in alerts}
    assert len(alerts) == len(by_rule), [a["summary"] for a in alerts]
    assert {r: a["severity"] for r, a in by_rule.items()} == {
        "ENTRA-ROLE-GROUP-MEMBER-ADDED": "high",  # Helpdesk Administrators holds a role
        "ENTRA-CA-DELETED": "critical",
        "ENTRA-NAMED-LOCATION-DELETED": "high",
        "ENTRA-FIRST-APP-CREDENTIAL": "medium",  # the app had no secret before
        "ENTRA-MASS-DELETE": "high",  # three users within minutes
    }
    assert sorted(report.new_alerts) == sorted(a["id"] for a in alerts)
    assert {a["actor"] for a in alerts} == {rogue}
    assert {a["actor_address"] for a in alerts} == {"127.0.0.1"}
    assert by_rule["ENTRA-MASS-DELETE"]["count"] == len(targets.users)
    added = by_rule["ENTRA-ROLE-GROUP-MEMBER-ADDED"]
    assert added["target"] == targets.group["displayName"]
    assert targets.newcomer["id"] in added["summary"]
    assert by_rule["ENTRA-CA-DELETED"]["target"] == targets.policy["displayName"]
    assert by_rule["ENTRA-NAMED-LOCATION-DELETED"]["target"] == targets.location["displayName"]
    assert by_rule["ENTRA-FIRST-APP-CREDENTIAL"]["target"] == targets.app["displayName"]
