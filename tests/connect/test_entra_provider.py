"""The Entra provider: its rows are the registry's Entra rows, and a configured tenant (the
sandbox, with its own authority, Graph URL and CA) opens through the runtime as an
authenticated Graph client."""

from __future__ import annotations

from pathlib import Path

import pytest

from dirguard.config.schema import (
    Config,
    EntraSection,
    EntraTenantConfig,
    SecretsConfig,
    StoreConfig,
)
from dirguard.providers.base import Provider
from dirguard.providers.entra.graph_client import GraphAuthError, graph_resource
from dirguard.providers.entra.provider import EntraProvider, open_graph
from dirguard.providers.registry import RESOURCE_TYPES
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import open_runtime
from tests.fixtures.graph_sandbox import RunningSandbox


def test_rows_are_the_registrys_entra_rows() -> None:
    provider: Provider = EntraProvider()
    assert provider.kind == "entra"
    rows = provider.resource_types()
    assert rows == RESOURCE_TYPES.of_provider("entra")
    assert rows and all(row.provider == provider.kind for row in rows)
    assert {row.key for row in rows} >= {"entra.user", "entra.group", "entra.application"}


@pytest.mark.parametrize(
    ("graph_url", "resource"),
    [
        ("https://graph.microsoft.com", "https://graph.microsoft.com"),
        ("https://graph.microsoft.us", "https://graph.microsoft.us"),
        ("https://dod-graph.microsoft.us", "https://dod-graph.microsoft.us"),
        ("https://microsoftgraph.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
        ("https://127.0.0.1:8443", "https://graph.microsoft.com"),
    ],
)
def test_tokens_are_asked_for_on_the_clouds_own_graph(graph_url: str, resource: str) -> None:
    """Microsoft: a national cloud's scopes name its own Graph root; the sandbox on loopback
    takes the global one."""
    assert graph_resource(graph_url) == resource


def _tenant(sandbox: RunningSandbox, *, read_only: bool = False) -> EntraTenantConfig:
    info = sandbox.info
    return EntraTenantConfig(
        name="sandbox",
        tenant_id=info.tenant_id,
        client_id=info.read_only_client_id if read_only else info.full_client_id,
        client_secret="env:DG_SANDBOX_SECRET",
        authority=info.login_base,
        graph_url=info.login_base,
        ca_file=info.ca_file,
    )


def _config(sandbox: RunningSandbox, tmp_path: Path) -> Config:
    return Config(
        store=StoreConfig(url=f"sqlite:///{tmp_path / 'store.db'}"),
        secrets=SecretsConfig(key_file=tmp_path / "secret.key", store_file=tmp_path / "s.json"),
        entra=EntraSection(tenants=[_tenant(sandbox, read_only=True)]),
    )


def test_a_configured_tenant_opens_through_the_runtime(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    monkeypatch.setenv("DG_SANDBOX_SECRET", info.read_only_client_secret)
    with (
        open_runtime(_config(graph_sandbox, tmp_path), "tester") as runtime,
        EntraProvider().open(runtime, "sandbox") as graph,
    ):
        organization = graph.get("/organization")["value"][0]
        names = {u["userPrincipalName"] for u in graph.pages("/users")}
    assert organization["id"] == info.tenant_id
    assert names == {u["userPrincipalName"] for u in graph_sandbox.state.users.values()}


def test_the_runtime_names_a_tenant_it_cannot_open(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DG_SANDBOX_SECRET", raising=False)
    with open_runtime(_config(graph_sandbox, tmp_path), "tester") as runtime:
        with pytest.raises(ServiceError) as unknown:
            EntraProvider().open(runtime, "fabrikam")
        with pytest.raises(ServiceError) as unresolved:
            EntraProvider().open(runtime, "sandbox")
    assert unknown.value.problem is Problem.NOT_FOUND
    assert "configured: sandbox" in unknown.value.message
    assert unresolved.value.problem is Problem.CONFIG
    assert unresolved.value.message.startswith("sandbox: client_secret: ")
    assert "DG_SANDBOX_SECRET" in unresolved.value.message


def test_a_wrong_secret_names_the_tenant_and_not_the_secret(
    graph_sandbox: RunningSandbox,
) -> None:
    wrong = "not-the-secret-but-long-enough-1234"
    with open_graph(_tenant(graph_sandbox), wrong) as graph, pytest.raises(GraphAuthError) as error:
        graph.get("/organization")
    assert f"sandbox ({graph_sandbox.info.tenant_id})" in str(error.value)
    assert error.value.code is not None and error.value.code.startswith("AADSTS")
    assert wrong not in str(error.value)
