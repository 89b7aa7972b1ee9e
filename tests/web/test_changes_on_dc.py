"""The console on the session's real Samba AD DC: a change a delegated account makes over plain
LDAP is captured (DirSync + Samba's JSON audit) and then shows up in the changes API, in the
live stream and on the Changes and Object pages with the account that made it and its address;
comparing the moment before with the moment after names exactly that attribute."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.config.schema import AdSection, Config, SecretsConfig, StoreConfig, WebConfig
from dirguard.services.capture.use_cases import (
    CaptureRequest,
    SnapshotRequest,
    capture,
    snapshot,
)
from dirguard.services.runtime import Runtime
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.web.conftest import WebClientFactory
from tests.web.test_changes_console import _events
from tests.who.helpers import DELEGATE_PASSWORD, bind_as, samba_tool

pytestmark = pytest.mark.samba


@pytest.fixture
def web_settings() -> WebConfig:
    return WebConfig(tls=False)


@pytest.fixture
def web_runtime(
    tmp_path: Path, samba_dc: SambaDC, web_settings: WebConfig, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    """The console's runtime over a fresh store guarding the DC, actors from its audit files,
    on the real clock (the audit records carry real times)."""
    monkeypatch.setenv("TEST_DIRGUARD_AD_PASSWORD", samba_dc.admin_password)
    logs = samba_dc.audit_logs
    domain = domain_config(
        samba_dc,
        samba_audit_files=[logs.directory_changes, logs.group_changes, logs.password_changes],
    )
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = Config(
        store=StoreConfig(url=url, checkpoint_file=tmp_path / "checkpoints.jsonl"),
        secrets=SecretsConfig(
            key_file=tmp_path / "secret.key", store_file=tmp_path / "secrets.json"
        ),
        web=web_settings,
        ad=AdSection(domains=[domain]),
    )
    engine = create_engine_for(url)
    upgrade(engine)
    try:
        yield Runtime(config=config, sessions=session_factory(engine), principal="dirguard")
    finally:
        engine.dispose()


@pytest.fixture
def unique() -> Callable[[str], str]:
    token = uuid.uuid4().hex[:6]
    return lambda prefix: f"{prefix[:12]}{token}"


def test_a_change_over_ldap_appears_with_its_actor(
    samba_dc: SambaDC,
    web_runtime: Runtime,
    web_client: WebClientFactory,
    ldap_admin: Any,
    unique: Callable[[str], str],
) -> None:
    delegate, target = unique("wdeleg"), unique("wtarget")
    samba_tool(samba_dc, "user", "create", delegate, DELEGATE_PASSWORD)
    samba_tool(samba_dc, "user", "create", target, "Pa55word!" + target)
    target_dn = f"CN={target},CN=Users,{samba_dc.base_dn}"
    delegate_sid = _sid(ldap_admin, f"CN={delegate},CN=Users,{samba_dc.base_dn}")
    samba_tool(
        samba_dc, "dsacl", "set", f"--objectdn={target_dn}", f"--sddl=(A;;RPWP;;;{delegate_sid})"
    )
    snapshot(web_runtime, SnapshotRequest())
    api = web_client("viewer", token=True)
    before = web_runtime.clock()
    newest = api.get("/api/v1/changes", params={"limit": 1}).json()["changes"]
    after_id = newest[0]["id"] if newest else 0

    conn = bind_as(samba_dc, f"{delegate}@{samba_dc.realm}", DELEGATE_PASSWORD)
    try:
        conn.modify_s(target_dn, [(ldap.MOD_REPLACE, "description", [b"changed by a delegate"])])
    finally:
        conn.unbind_s()
    capture(web_runtime, CaptureRequest())

    actor = f"{samba_dc.domain}\\{delegate}"
    found = api.get(
        "/api/v1/changes", params={"object": target_dn, "attribute": "description"}
    ).json()
    (change,) = found["changes"]
    assert change["new"] == ["changed by a delegate"]
    assert change["actor"].lower() == actor.lower() and change["actor_address"] == "127.0.0.1"
    by_actor = api.get("/api/v1/changes", params={"actor": delegate}).json()["changes"]
    assert [c["id"] for c in by_actor] == [change["id"]]

    stream = api.get("/api/v1/changes/stream", params={"after": after_id, "hold": 0})
    streamed = [json.loads(e["data"]) for e in _events(stream.text)]
    assert change["id"] in [c["id"] for c in streamed]

    browser = web_client("viewer")
    page = browser.get("/changes", params={"actor": delegate})
    assert page.status_code == 200 and "changed by a delegate" in page.text
    assert delegate in page.text and "127.0.0.1" in page.text
    shown = browser.get(f"/objects/{change['object_id']}")
    assert "changed by a delegate" in shown.text and target in shown.text

    compared = api.get(
        "/api/v1/compare",
        params={"from": before.isoformat(), "to": web_runtime.clock().isoformat()},
    ).json()
    (difference,) = [d for d in compared["differences"] if d["name"] == target]
    assert [f["field"] for f in difference["fields"]] == ["description"]
    against_live = api.get(
        "/api/v1/compare",
        params={"from": before.isoformat(), "live": "true", "object": target_dn},
    ).json()
    (live,) = against_live["differences"]
    assert [(f["field"], f["after"]) for f in live["fields"]] == [
        ("description", ["changed by a delegate"])
    ]
    page = browser.get(
        "/compare", params={"from": before.isoformat(), "live": "true", "under": target_dn}
    )
    assert page.status_code == 200 and "changed by a delegate" in page.text


def _sid(conn: Any, dn: str) -> str:
    from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes

    [(_, attrs)] = conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["objectSid"])
    return sid_from_bytes(attrs["objectSid"][0])[0]
