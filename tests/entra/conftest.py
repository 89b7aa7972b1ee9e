"""An Entra tenant (the sandbox over HTTPS) configured as a dirguard source, and a runtime over
a fresh store; dirguard reads with the sandbox's read-only application, tests write with its
full one (another identity)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dirguard.config.schema import (
    Config,
    EntraSection,
    EntraTenantConfig,
    SecretsConfig,
    StoreConfig,
)
from dirguard.services.runtime import Runtime, open_runtime
from tests.fixtures.graph_sandbox import RunningSandbox

SECRET_ENV = "DG_ENTRA_CAPTURE_SECRET"
TENANT = "contoso"


def tenant_config(sandbox: RunningSandbox) -> EntraTenantConfig:
    info = sandbox.info
    return EntraTenantConfig(
        name=TENANT,
        tenant_id=info.tenant_id,
        client_id=info.read_only_client_id,
        client_secret=f"env:{SECRET_ENV}",
        authority=info.login_base,
        graph_url=info.login_base,
        ca_file=info.ca_file,
    )


def store_config(sandbox: RunningSandbox, directory: Path) -> Config:
    return Config(
        store=StoreConfig(url=f"sqlite:///{directory / 'store.db'}"),
        secrets=SecretsConfig(key_file=directory / "secret.key", store_file=directory / "s.json"),
        entra=EntraSection(tenants=[tenant_config(sandbox)]),
    )


@pytest.fixture
def entra_runtime(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    monkeypatch.setenv(SECRET_ENV, graph_sandbox.info.read_only_client_secret)
    with open_runtime(store_config(graph_sandbox, tmp_path), "tester") as runtime:
        yield runtime


@pytest.fixture
def admin(graph_sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    """The sandbox's full application: the identity whose writes dirguard must catch."""
    with graph_sandbox.client() as client:
        yield client


def expire_delta_tokens(sandbox: RunningSandbox) -> None:
    info = sandbox.info
    answer = httpx.post(
        f"{info.login_base}/_sandbox/faults/delta-token-expiry",
        headers={"x-sandbox-admin-key": info.admin_key},
        verify=sandbox.tls(),
    )
    answer.raise_for_status()


def storm(sandbox: RunningSandbox, **body: object) -> None:
    info = sandbox.info
    answer = httpx.post(
        f"{info.login_base}/_sandbox/faults",
        json=body,
        headers={"x-sandbox-admin-key": info.admin_key},
        verify=sandbox.tls(),
    )
    answer.raise_for_status()


def calm(sandbox: RunningSandbox) -> None:
    info = sandbox.info
    httpx.delete(
        f"{info.login_base}/_sandbox/faults",
        headers={"x-sandbox-admin-key": info.admin_key},
        verify=sandbox.tls(),
    ).raise_for_status()


def write_config(sandbox: RunningSandbox, directory: Path, *extra: str) -> Path:
    """A configuration file naming the sandbox tenant (read-only app) and a store."""
    info = sandbox.info
    path = directory / "dirguard.toml"
    path.write_text(
        "\n".join(
            [
                f'[store]\nurl = "sqlite:///{directory / "store.db"}"',
                f'[secrets]\nkey_file = "{directory / "secret.key"}"\n'
                f'store_file = "{directory / "secrets.json"}"',
                "[[entra.tenants]]",
                f'name = "{TENANT}"',
                f'tenant_id = "{info.tenant_id}"',
                f'client_id = "{info.read_only_client_id}"',
                f'client_secret = "env:{SECRET_ENV}"',
                f'authority = "{info.login_base}"',
                f'graph_url = "{info.login_base}"',
                f'ca_file = "{info.ca_file}"',
                *extra,
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    return path
