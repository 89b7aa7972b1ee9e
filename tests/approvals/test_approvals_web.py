"""Approval workflows through the console's REST API and pages, on the real DC: a help desk's
disable of a Sales user is filed for approval (202, nothing written), listed for the approver
and not for others, and runs when the approver approves — from the API, or from the page the
e-mail links to (sign-in first, then a click). A request approved after its expiry never runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.config.approvals_schema import ApprovalPolicy, ApprovalsConfig
from dirguard.config.schema import AdSection, Config, SecretsConfig, StoreConfig, WebConfig
from dirguard.services.admin.delegation import assign, save_role, save_scope
from dirguard.services.runtime import Runtime
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.admin.conftest import org
from tests.web.conftest import (
    ManualClock,
    WebClientFactory,
    web_app,
    web_client,
    web_clock,
    web_settings,
)

__all__ = ["org", "web_app", "web_client", "web_clock", "web_settings"]

pytestmark = pytest.mark.samba

HELPDESK, LEAD = "helpdesk", "lead"


@pytest.fixture
def web_runtime(
    tmp_path: Path,
    web_clock: ManualClock,
    web_settings: WebConfig,
    samba_dc: SambaDC,
    org: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runtime]:
    """A domain with an Administrator account; the help desk may disable and enable users in
    the Sales OU, and both need the team lead's approval within 24 hours."""
    monkeypatch.setenv("TEST_DIRGUARD_AD_PASSWORD", samba_dc.admin_password)
    monkeypatch.setenv("TEST_DIRGUARD_ADMIN_PASSWORD", org["admin_password"])
    domain = domain_config(
        samba_dc,
        admin_bind_upn=org["admin_upn"],
        admin_password="env:TEST_DIRGUARD_ADMIN_PASSWORD",
    )
    url = f"sqlite:///{tmp_path / 'store.db'}"
    policy = ApprovalPolicy(
        name="disables",
        actions=["ad.user.disable", "ad.user.enable"],
        approvers=[LEAD],
        expires_hours=24,
    )
    config = Config(
        store=StoreConfig(url=url, checkpoint_file=tmp_path / "checkpoints.jsonl"),
        secrets=SecretsConfig(key_file=tmp_path / "k", store_file=tmp_path / "s.json"),
        web=web_settings,
        ad=AdSection(domains=[domain]),
        approvals=ApprovalsConfig(console_url="https://console.example", policies=[policy]),
    )
    engine = create_engine_for(url)
    upgrade(engine)
    runtime = Runtime(
        config=config, sessions=session_factory(engine), principal="root", clock=web_clock
    )
    save_role(
        runtime,
        {
            "name": "Help desk",
            "actions": ["ad.user.disable", "ad.user.enable"],
            "write_fields": ["userAccountControl"],
        },
    )
    save_scope(
        runtime,
        {
            "name": "Sales",
            "kind": "ad-subtree",
            "source": f"ad:{domain.name}",
            "base": org["sales"],
        },
    )
    assign(runtime, "Help desk", "Sales", "user", HELPDESK)
    try:
        yield runtime
    finally:
        engine.dispose()


def _disabled(conn: Any, dn: str) -> bool:
    found = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["userAccountControl"])
    return bool(int(found[0][1]["userAccountControl"][0]) & 2)


def test_the_api_files_the_action_and_runs_it_on_approval(
    web_client: WebClientFactory, web_runtime: Runtime, org: dict[str, str], ldap_admin: Any
) -> None:
    desk = web_client("viewer", token=True, name=HELPDESK)
    lead = web_client("viewer", token=True, name=LEAD)
    other = web_client("operator", token=True, name="someone-else")
    body = {"source": web_runtime.ad_domain().name, "target": org["bob"], "reason": "on leave"}
    filed = desk.post("/api/v1/admin/actions/ad.user.disable", json=body)
    assert filed.status_code == 202, filed.text
    request = filed.json()["approval"]
    assert (request["status"], request["requester"], request["approvers"]) == (
        "pending",
        HELPDESK,
        [LEAD],
    )
    assert not _disabled(ldap_admin, org["bob"])

    listed = lead.get("/api/v1/approvals").json()["requests"]
    assert [r["id"] for r in listed] == [request["id"]]
    assert other.get("/api/v1/approvals").json()["requests"] == []
    assert other.get(f"/api/v1/approvals/{request['id']}").status_code == 404
    refused = desk.post(f"/api/v1/approvals/{request['id']}/approve", json={})
    assert refused.status_code == 403, refused.text
    assert "own request" in refused.json()["detail"]
    assert not _disabled(ldap_admin, org["bob"])

    done = lead.post(f"/api/v1/approvals/{request['id']}/approve", json={"note": "ok"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "executed"
    assert _disabled(ldap_admin, org["bob"])
    again = lead.post(f"/api/v1/approvals/{request['id']}/approve", json={})
    assert again.status_code == 409


def test_the_emailed_link_needs_a_sign_in_and_a_click(
    web_client: WebClientFactory, web_runtime: Runtime, org: dict[str, str], ldap_admin: Any
) -> None:
    desk = web_client("viewer", token=True, name=HELPDESK)
    body = {"source": web_runtime.ad_domain().name, "target": org["bob"]}
    request = desk.post("/api/v1/admin/actions/ad.user.disable", json=body).json()["approval"]
    link = f"/approvals/{request['id']}?decision=approve"

    anonymous = web_client()
    page = anonymous.get(link, follow_redirects=False)
    assert page.status_code in (302, 303, 401), page.status_code
    assert not _disabled(ldap_admin, org["bob"])

    lead = web_client("viewer", name=LEAD)  # signed in, with the session's CSRF token
    page = lead.get(link)
    assert page.status_code == 200 and 'id="approve"' in page.text, page.text
    assert org["bob"] in page.text and "userAccountControl" in page.text
    assert not _disabled(ldap_admin, org["bob"])  # opening the link changes nothing
    clicked = lead.post(f"/approvals/{request['id']}", data={"decision": "approve"})
    assert clicked.status_code == 200, clicked.text
    assert "executed" in clicked.text
    assert _disabled(ldap_admin, org["bob"])


def test_an_expired_request_is_never_run(
    web_client: WebClientFactory,
    web_runtime: Runtime,
    web_clock: ManualClock,
    org: dict[str, str],
    ldap_admin: Any,
) -> None:
    desk = web_client("viewer", token=True, name=HELPDESK)
    body = {"source": web_runtime.ad_domain().name, "target": org["bob"]}
    request = desk.post("/api/v1/admin/actions/ad.user.disable", json=body).json()["approval"]
    web_clock.advance(hours=25)
    lead = web_client("viewer", token=True, name=LEAD)  # a token of today
    late = lead.post(f"/api/v1/approvals/{request['id']}/approve", json={})
    assert late.status_code == 409, late.text
    assert "expired" in late.json()["detail"]
    assert not _disabled(ldap_admin, org["bob"])
    shown = lead.get(f"/api/v1/approvals/{request['id']}").json()
    assert shown["status"] == "expired" and shown["decisions"] == []
