"""What the keep-members tests share: a runtime over a fresh store with the session's DC (and the
sandbox tenant), and an Entra security group made and read over Graph as an administrator would."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from dirguard.config.schema import AdSection, Config, EntraSection, SecretsConfig, StoreConfig
from dirguard.services.runtime import Runtime
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.admin.conftest import admin_tenant
from tests.fixtures.graph_sandbox import RunningSandbox

SECRET = "DG_SYNC_SANDBOX_SECRET"


@contextmanager
def rules_runtime(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    samba_dc: SambaDC,
    org: dict[str, str],
    sandbox: RunningSandbox | None = None,
) -> Iterator[Runtime]:
    """The DC's domain with the org's Administrator account, and the sandbox tenant if given."""
    monkeypatch.setenv("TEST_DIRGUARD_AD_PASSWORD", samba_dc.admin_password)
    monkeypatch.setenv("TEST_DIRGUARD_ADMIN_PASSWORD", org["admin_password"])
    tenants = []
    if sandbox is not None:
        monkeypatch.setenv(SECRET, sandbox.info.full_client_secret)
        tenants = [admin_tenant(sandbox.info, SECRET)]
    url = f"sqlite:///{tmp_path / 'store.db'}"
    domain = domain_config(
        samba_dc, admin_bind_upn=org["admin_upn"], admin_password="env:TEST_DIRGUARD_ADMIN_PASSWORD"
    )
    config = Config(
        store=StoreConfig(url=url, checkpoint_file=tmp_path / "c.jsonl"),
        secrets=SecretsConfig(key_file=tmp_path / "k", store_file=tmp_path / "s.json"),
        ad=AdSection(domains=[domain]),
        entra=EntraSection(tenants=tenants),
    )
    engine = create_engine_for(url)
    upgrade(engine)
    try:
        yield Runtime(config=config, sessions=session_factory(engine), principal="admin")
    finally:
        engine.dispose()


def security_group(sandbox: RunningSandbox, name: str, members: Sequence[str] = ()) -> str:
    """A new security group holding ``members`` (user ids); its id."""
    with sandbox.client() as graph:
        made = graph.post(
            "/groups",
            json={
                "displayName": name,
                "mailEnabled": False,
                "mailNickname": name.replace(" ", "").lower(),
                "securityEnabled": True,
            },
        )
        assert made.status_code == 201, made.text
        group = str(made.json()["id"])
        for member in members:
            added = graph.post(
                f"/groups/{group}/members/$ref",
                json={"@odata.id": f"{sandbox.info.graph_base}/directoryObjects/{member}"},
            )
            assert added.status_code == 204, added.text
    return group


def group_members(graph: Any, group: str) -> set[str]:
    """The group's member ids as Graph lists them."""
    answer = graph.get(f"/groups/{group}/members", params={"$select": "id"})
    assert answer.status_code == 200, answer.text
    return {m["id"] for m in answer.json()["value"]}
