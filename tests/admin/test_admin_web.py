"""The Administrator in the console and the REST API, on the real DC: a help desk signed in to
the console sees only the objects its delegation holds, previews and runs actions on them, and
is refused (403, nothing written) outside them; only console administrators manage delegation."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.config.schema import AdSection, Config, SecretsConfig, StoreConfig, WebConfig
from dirguard.providers.ad.passwords import complex_password
from dirguard.services.admin.delegation import assign, save_role, save_scope
from dirguard.services.runtime import Runtime
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.web.conftest import (  # the console's fixtures, with this module's web_runtime
    ManualClock,
    WebClientFactory,
    web_app,
    web_client,
    web_clock,
    web_settings,
)

__all__ = ["web_app", "web_client", "web_clock", "web_settings"]

pytestmark = pytest.mark.samba

HELPDESK = "helpdesk"


@pytest.fixture
def web_runtime(
    tmp_path: Path,
    web_clock: ManualClock,
    web_settings: WebConfig,
    samba_dc: SambaDC,
    org: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runtime]:
    """The console's runtime over a domain with an Administrator account, and a delegation:
    the help desk may reset passwords, disable and edit users in the Sales OU."""
    monkeypatch.setenv("TEST_DIRGUARD_AD_PASSWORD", samba_dc.admin_password)
    monkeypatch.setenv("TEST_DIRGUARD_ADMIN_PASSWORD", org["admin_password"])
    domain = domain_config(
        samba_dc,
        admin_bind_upn=org["admin_upn"],
        admin_password="env:TEST_DIRGUARD_ADMIN_PASSWORD",
    )
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = Config(
        store=StoreConfig(url=url, checkpoint_file=tmp_path / "checkpoints.jsonl"),
        secrets=SecretsConfig(key_file=tmp_path / "k", store_file=tmp_path / "s.json"),
        web=web_settings,
        ad=AdSection(domains=[domain]),
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
            "actions": ["ad.user.reset-password", "ad.user.disable", "ad.user.delete"],
            "write_fields": ["unicodePwd", "pwdLastSet", "userAccountControl"],
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


def _uac(conn: Any, dn: str) -> int:
    found = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["userAccountControl"])
    return int(found[0][1]["userAccountControl"][0])


def test_the_api_lists_only_objects_in_scope_and_refuses_the_rest(
    web_client: WebClientFactory, web_runtime: Runtime, org: dict[str, str], ldap_admin: Any
) -> None:
    api = web_client("viewer", token=True, name=HELPDESK)
    source = web_runtime.ad_domain().name
    listed = api.get("/api/v1/admin/objects", params={"source": source, "kind": "user"})
    assert listed.status_code == 200, listed.text
    paths = {o["path"].lower() for o in listed.json()["objects"]}
    assert paths == {org["bob"].lower()}
    (bob,) = listed.json()["objects"]
    assert bob["actions"] == ["ad.user.delete", "ad.user.disable", "ad.user.reset-password"]

    body = {"source": source, "target": org["bob"]}
    shown = api.post("/api/v1/admin/actions/ad.user.disable/preview", json=body)
    assert shown.status_code == 200, shown.text
    assert shown.json()["edits"][0]["field"] == "userAccountControl"
    assert _uac(ldap_admin, org["bob"]) & 2 == 0  # a preview writes nothing
    done = api.post(
        "/api/v1/admin/actions/ad.user.disable", json=body, headers={"X-Request-Id": "req-42"}
    )
    assert done.status_code == 200, done.text
    assert done.json()["request_id"] == "req-42"
    assert _uac(ldap_admin, org["bob"]) & 2

    outside = api.post(
        "/api/v1/admin/actions/ad.user.disable", json={"source": source, "target": org["fred"]}
    )
    assert outside.status_code == 403
    assert outside.headers["content-type"].startswith("application/problem+json")
    assert "outside every scope" in outside.json()["detail"]
    assert _uac(ldap_admin, org["fred"]) & 2 == 0

    bad = api.post(
        "/api/v1/admin/actions/ad.user.reset-password/preview",
        json={**body, "params": {"pasword": "x"}},
    )
    assert bad.status_code == 409
    assert "unknown input(s) pasword" in bad.json()["detail"]


def test_only_administrators_manage_delegation(
    web_client: WebClientFactory, web_runtime: Runtime
) -> None:
    viewer = web_client("approver", token=True, name="someone")
    assert viewer.get("/api/v1/admin/delegation").status_code == 403
    admin = web_client("administrator", token=True)
    current = admin.get("/api/v1/admin/delegation").json()
    assert current["assignments"] == [
        {"role": "Help desk", "scope": "Sales", "trustee": {"kind": "user", "id": HELPDESK}}
    ]
    wrong = admin.put("/api/v1/admin/delegation/roles/Nope", json={"actions": ["ad.user.fly"]})
    assert wrong.status_code == 409
    assert "unknown action(s) ad.user.fly" in wrong.json()["detail"]
    saved = admin.put(
        "/api/v1/admin/delegation/roles/Unlockers", json={"actions": ["ad.user.unlock"]}
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["name"] == "Unlockers"


def test_the_console_flow_preview_then_confirm_with_the_name_typed_for_a_delete(
    web_client: WebClientFactory, web_runtime: Runtime, org: dict[str, str], ldap_admin: Any
) -> None:
    browser = web_client("viewer", name=HELPDESK)
    source = web_runtime.ad_domain().name
    page = browser.get("/admin", params={"source": source})
    assert page.status_code == 200
    assert org["bob"] in page.text and org["fred"] not in page.text

    form = browser.get(
        "/admin/act",
        params={"action": "ad.user.reset-password", "source": source, "target": org["bob"]},
    )
    assert 'type="password"' in form.text
    password = complex_password()
    preview = browser.post(
        "/admin/act",
        data={
            "action": "ad.user.reset-password",
            "source": source,
            "target": org["bob"],
            "password": password,
            "must_change": "1",
        },
    )
    assert preview.status_code == 200, preview.text
    assert "(hidden)" in preview.text and password not in preview.text
    pending = re.search(r'name="pending" value="([^"]+)"', preview.text)
    assert pending is not None
    done = browser.post("/admin/act/confirm", data={"pending": pending.group(1)})
    assert done.status_code == 200 and 'id="action-result"' in done.text
    found = ldap_admin.search_s(org["bob"], ldap.SCOPE_BASE, "(objectClass=*)", ["pwdLastSet"])
    assert found[0][1]["pwdLastSet"] == [b"0"]
    again = browser.post("/admin/act/confirm", data={"pending": pending.group(1)})
    assert again.status_code == 409  # a preview is confirmed once

    delete = browser.post(
        "/admin/act", data={"action": "ad.user.delete", "source": source, "target": org["bob"]}
    )
    key = re.search(r'name="pending" value="([^"]+)"', delete.text)
    assert key is not None and 'name="typed_name"' in delete.text
    refused = browser.post("/admin/act/confirm", data={"pending": key.group(1), "typed_name": "x"})
    assert refused.status_code == 409
    assert ldap_admin.search_s(org["bob"], ldap.SCOPE_BASE, "(objectClass=*)", ["cn"])

    other = browser.post(
        "/admin/act", data={"action": "ad.user.disable", "source": source, "target": org["fred"]}
    )
    assert other.status_code == 403 and "outside every scope" in other.text


def test_an_attribute_the_role_does_not_grant_is_refused_and_not_written(
    web_client: WebClientFactory, web_runtime: Runtime, org: dict[str, str], ldap_admin: Any
) -> None:
    save_role(
        web_runtime,
        {
            "name": "Help desk",
            "actions": ["ad.user.edit"],
            "write_fields": ["telephoneNumber"],
        },
    )
    api = web_client("viewer", token=True, name=HELPDESK)
    body = {"source": web_runtime.ad_domain().name, "target": org["bob"]}
    refused = api.post(
        "/api/v1/admin/actions/ad.user.edit",
        json={**body, "params": {"fields": {"telephoneNumber": "+33 1 23", "department": "IT"}}},
    )
    assert refused.status_code == 403, refused.text
    assert "department" in refused.json()["detail"]
    found = ldap_admin.search_s(
        org["bob"], ldap.SCOPE_BASE, "(objectClass=*)", ["department", "telephoneNumber"]
    )[0][1]
    assert found.get("department") == [b"Sales"] and "telephoneNumber" not in found
    allowed = api.post(
        "/api/v1/admin/actions/ad.user.edit",
        json={**body, "params": {"fields": {"telephoneNumber": "+33 1 23"}}},
    )
    assert allowed.status_code == 200, allowed.text
    found = ldap_admin.search_s(org["bob"], ldap.SCOPE_BASE, "(objectClass=*)", ["telephoneNumber"])
    assert found[0][1]["telephoneNumber"] == [b"+33 1 23"]
