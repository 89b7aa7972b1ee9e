"""The alerts pages and ``/api/v1/alerts`` on the real app over a real store: viewers read,
operators resolve and dismiss (with who and why kept), nobody else does. The alerts come from
Entra-shaped change events stored through the store API and matched by the real detection
(the real-DC path is tests/threats/test_ad_threats.py)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from dirguard.core.change_op import ChangeOp
from dirguard.services.runtime import Runtime
from dirguard.services.threats.definitions import rules_in_force
from dirguard.services.threats.detect import detect_source
from dirguard.store.events import NewChangeEvent, append_events
from dirguard.store.models import DirectoryObject
from tests.web.conftest import WebClientFactory

SOURCE = "entra:contoso"
MALLORY = "mallory@contoso.example"


def _raise_alerts(runtime: Runtime) -> list[int]:
    start = runtime.clock() - timedelta(seconds=1)
    seen = {"actor": MALLORY, "actor_source": "directoryAudits", "actor_address": "203.0.113.7"}
    with runtime.sessions.begin() as session:
        ids = []
        for name in ("Require MFA", "Block legacy"):
            obj = DirectoryObject(
                source=SOURCE,
                resource_type="entra.conditional_access_policy",
                external_id=str(uuid.uuid4()),
                natural_key=name,
                path=f"policies/{name}",
                first_seen=start,
                last_seen=start,
            )
            session.add(obj)
            session.flush()
            ids.append(obj.id)
        append_events(session, [
            NewChangeEvent(object_id=ids[0], op=ChangeOp.MODIFY, attribute="state",
                           old_value="enabled", new_value="disabled", observed_at=runtime.clock(),
                           **seen),
            NewChangeEvent(object_id=ids[1], op=ChangeOp.DELETE, old_value={"state": "enabled"},
                           observed_at=runtime.clock(), **seen),
        ])  # fmt: skip
    report = detect_source(runtime, SOURCE, rules_in_force(runtime.config.threats), start=start)
    assert len(report.new_alerts) == 2, report
    return report.new_alerts


def test_viewers_read_alerts_and_operators_resolve_or_dismiss_them(
    web_runtime: Runtime, web_client: WebClientFactory
) -> None:
    first, second = _raise_alerts(web_runtime)
    viewer, operator = web_client("viewer"), web_client("operator")

    listed = viewer.get("/api/v1/alerts")
    assert listed.status_code == 200, listed.text
    by_rule: dict[str, Any] = {a["rule"]: a for a in listed.json()["alerts"]}
    assert set(by_rule) == {"ENTRA-CA-DISABLED", "ENTRA-CA-DELETED"}
    assert by_rule["ENTRA-CA-DELETED"]["severity"] == "critical"
    assert by_rule["ENTRA-CA-DISABLED"]["actor_address"] == "203.0.113.7"
    one = viewer.get(f"/api/v1/alerts/{by_rule['ENTRA-CA-DISABLED']['id']}").json()
    assert [(c["attribute"], c["new_value"], c["actor"]) for c in one["changes"]] == [
        ("state", "disabled", MALLORY)
    ]
    assert (
        viewer.get("/api/v1/alerts", params={"severity": "critical"}).json()["alerts"][0]["rule"]
        == "ENTRA-CA-DELETED"
    )
    assert viewer.get("/api/v1/alerts", params={"status": "stuck"}).status_code >= 400

    page = viewer.get("/alerts")
    assert page.status_code == 200 and "Require MFA" in page.text and MALLORY in page.text
    detail = viewer.get(f"/alerts/{first}")
    assert detail.status_code == 200 and "What to do" in detail.text
    assert "Resolve</button>" not in detail.text  # a viewer is offered no form...
    refused = viewer.post(f"/api/v1/alerts/{first}/resolve", json={"reason": "fine"})
    assert refused.status_code == 403  # ...and the server refuses it anyway
    assert viewer.post(f"/alerts/{first}/dismiss", data={"reason": "x"}).status_code == 403
    assert web_client().get("/api/v1/alerts").status_code == 401

    done = operator.post(f"/api/v1/alerts/{first}/resolve", json={"reason": "policy re-enabled"})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["state_reason"]) == ("resolved", "policy re-enabled")
    assert done.json()["state_by"] != "dirguard"
    again = operator.post(f"/api/v1/alerts/{first}/dismiss", json={"reason": "twice"})
    assert again.status_code == 409

    assert "Dismiss</button>" in operator.get(f"/alerts/{second}").text
    form = operator.post(
        f"/alerts/{second}/dismiss", data={"reason": "test tenant"}, follow_redirects=False
    )
    assert form.status_code == 303
    shown = operator.get(f"/alerts/{second}").text
    assert "dismissed by" in shown and "test tenant" in shown
    states = {
        a["id"]: a["status"]
        for a in viewer.get("/api/v1/alerts", params={"status": "all"}).json()["alerts"]
    }
    assert states == {first: "resolved", second: "dismissed"}
    assert "No open alert." in viewer.get("/alerts").text
