"""The Overview's red banner and the Rollback pages' role rules, over the app's real store (no
directory: the consent states and the plan are stored as a check and the planner store them).

The banner shows on every page while the newest consent check of a configured connection found
something missing, naming it and the fix, and goes when a later check finds everything held. A
viewer sees a plan without its Approve and Apply controls and the API refuses both (403); with
four-eyes the planner may not approve their own plan, another approver may, and only then is
Apply offered."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dirguard.config.schema import AdDomainConfig, AdSection, RollbackConfig
from dirguard.core.plan import PlanDraft, Step, Target
from dirguard.services.consent_state import ConsentState, MissingItem, record_states
from dirguard.services.rollback.plan_store import save_plan
from dirguard.services.runtime import Runtime
from dirguard.store.column_types import utcnow
from tests.web.conftest import WebClientFactory

DOMAIN = "corp.example.com"


@pytest.fixture
def web_runtime(web_runtime: Runtime) -> Runtime:
    """The shared app runtime with one AD domain (not reachable: nothing here binds) and
    four-eyes on."""
    domain = AdDomainConfig(
        name=DOMAIN,
        servers=["127.0.0.1"],
        port=1,
        bind_upn="ro@corp.example.com",
        password="env:UNSET_TEST_PASSWORD",
    )
    config = web_runtime.config.model_copy(
        update={"ad": AdSection(domains=[domain]), "rollback": RollbackConfig(four_eyes=True)}
    )
    return replace(web_runtime, config=config)


def _state(complete: bool) -> ConsentState:
    missing = (
        ()
        if complete
        else (
            MissingItem(
                name="Event Log Readers",
                kind="ad-group",
                features=("ad.actors",),
                fix="add dirguard-ro to the group 'Event Log Readers' (as a domain admin)",
            ),
        )
    )
    return ConsentState(
        source=f"ad:{DOMAIN}",
        kind="ad",
        name=DOMAIN,
        mode="read-only",
        checked_at=utcnow(),
        checked_by="dirguard",
        complete=complete,
        missing=missing,
    )


def test_banner_appears_on_every_page_while_a_group_is_missing(
    web_runtime: Runtime, web_client: WebClientFactory
) -> None:
    viewer = web_client(role="viewer")
    assert "banner-critical" not in viewer.get("/overview").text
    record_states(web_runtime.sessions, [_state(complete=False)])
    for path in ("/", "/overview", "/rollback", "/deleted", "/audit", "/permissions"):
        page = viewer.get(path)
        assert page.status_code == 200, (path, page.text)
        assert "banner-critical" in page.text, path
        assert "Event Log Readers" in page.text and "as a domain admin" in page.text
    permissions = viewer.get("/permissions").text
    assert "perm-missing" in permissions
    api = viewer.get("/api/v1/consent").json()
    assert [(s["source"], s["partial"]) for s in api] == [(f"ad:{DOMAIN}", True)]
    record_states(web_runtime.sessions, [_state(complete=True)])
    assert "banner-critical" not in viewer.get("/overview").text
    [health] = viewer.get("/api/v1/connections").json()
    assert health["consent"]["complete"] is True and health["monitor"] == "never"


def _plan(runtime: Runtime, by: str) -> int:
    step = Step(
        op="set",
        target=Target(
            provider="ad", external_id="0f0f0f0f-0000-0000-0000-000000000001", label="CN=x"
        ),
        description="set description back to 'before'",
        attribute="description",
        payload={"values": ["before"]},
    )
    with runtime.sessions.begin() as session:
        return save_plan(
            session,
            source=f"ad:{DOMAIN}",
            requested_by=by,
            selection={"event": 1},
            force=False,
            draft=PlanDraft(steps=(step,)),
        ).id


def test_viewer_cannot_apply_and_four_eyes_wants_another_approver(
    web_runtime: Runtime, web_client: WebClientFactory
) -> None:
    plan = _plan(web_runtime, by="approver-user")
    viewer = web_client(role="viewer")
    page = viewer.get(f"/rollback/{plan}").text
    assert "set description back" in page
    assert 'id="apply"' not in page and 'id="approve"' not in page
    assert viewer.post(f"/api/v1/plans/{plan}/apply").status_code == 403
    assert viewer.post(f"/api/v1/plans/{plan}/approve", json={}).status_code == 403
    assert viewer.get(f"/rollback/{plan}/apply").status_code == 403
    assert 'id="new-plan"' not in viewer.get("/rollback").text

    planner = web_client(role="approver")
    own = planner.get(f"/rollback/{plan}").text
    assert 'id="approve"' not in own and 'id="apply"' not in own
    refused = planner.post(f"/api/v1/plans/{plan}/apply")
    assert refused.status_code == 403 and "four-eyes" in refused.text
    assert planner.post(f"/api/v1/plans/{plan}/approve", json={}).status_code == 403

    other = web_client(role="approver", name="second-approver")
    assert 'id="approve"' in other.get(f"/rollback/{plan}").text
    approved = other.post(f"/api/v1/plans/{plan}/approve", json={"note": "ok"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["approvals"][0]["approved_by"] == "second-approver"
    assert 'id="apply"' in planner.get(f"/rollback/{plan}").text
    audit = viewer.get("/api/v1/audit", params={"action": "rollback."}).json()
    assert {(e["actor"], e["action"], e["outcome"]) for e in audit} >= {
        ("approver-user", "rollback.refused", "denied"),
        ("second-approver", "rollback.approve", "succeeded"),
    }


def test_a_bad_selection_is_named(web_client: WebClientFactory) -> None:
    operator = web_client(role="operator")
    answer = operator.post("/api/v1/plans", json={"kind": "event", "event": "twelve"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "event" and "twelve" in answer.json()["detail"]
    missing = operator.post("/api/v1/plans", json={"kind": "actor", "actor": "CORP\\x"})
    assert missing.status_code == 422 and missing.json()["field"] == "since"
    page = operator.post("/rollback/new", data={"kind": "sideways"})
    assert page.status_code == 400 and "give one of event, object, actor, subtree" in page.text
    assert operator.get("/rollback/new").status_code == 200
    assert web_client(role="viewer").get("/rollback/new").status_code == 403
