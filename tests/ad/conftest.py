"""Helpers for the AD tests: a domain configuration for the session's throwaway DC, a connection
through dirguard's own connector, samba-tool and unique names (the DC is shared by the session)."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad.connection import AdConnection, connect
from dirguard.throwaway.samba_dc import SambaDC


def domain_config(dc: SambaDC, **overrides: object) -> AdDomainConfig:
    values: dict[str, object] = {
        "name": dc.realm.lower(),
        "servers": [dc.host],
        "transport": "ldaps",
        "ca_file": dc.ca_cert_path,
        "bind_upn": dc.admin_upn,
        "password": "env:TEST_DIRGUARD_AD_PASSWORD",
    }
    values.update(overrides)
    return AdDomainConfig.model_validate(values)


@pytest.fixture
def ad_domain(samba_dc: SambaDC) -> AdDomainConfig:
    return domain_config(samba_dc)


@pytest.fixture
def ad_conn(samba_dc: SambaDC, ad_domain: AdDomainConfig) -> Iterator[AdConnection]:
    with connect(ad_domain, samba_dc.admin_password) as conn:
        yield conn


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Names unique to this test (at most 20 characters, as sAMAccountName allows)."""
    token = uuid.uuid4().hex[:6]
    return lambda prefix: f"{prefix[:12]}{token}"


@pytest.fixture
def samba_tool(samba_dc: SambaDC) -> Callable[..., str]:
    """Run ``samba-tool ARGS`` against the DC over LDAP as the admin; fail on a non-zero exit."""

    def run(*args: str) -> str:
        result = subprocess.run(
            [
                "samba-tool",
                *args,
                "-H",
                samba_dc.ldap_uri,
                "-s",
                str(samba_dc.smb_conf),
                "-U",
                samba_dc.admin_user,
                "--password",
                samba_dc.admin_password,
            ],
            env={**os.environ, **samba_dc.client_env()},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"samba-tool {' '.join(args)} failed: {result.stderr[-800:]}")
        return result.stdout

    return run


Run = Callable[..., dict[str, Any]]


@pytest.fixture
def dirguard(samba_dc: SambaDC, tmp_path: Path) -> Run:
    """``dirguard ARGS --json`` on a configuration naming the DC and a fresh SQLite store."""
    config = tmp_path / "dirguard.toml"
    config.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        "[[ad.domains]]\n"
        f'name = "{samba_dc.realm.lower()}"\nservers = ["{samba_dc.host}"]\n'
        f'ca_file = "{samba_dc.ca_cert_path}"\nbind_upn = "{samba_dc.admin_upn}"\n'
        'password = "env:TEST_DIRGUARD_AD_PASSWORD"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    env = {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password}

    def run(*args: str) -> dict[str, Any]:
        result = runner.invoke(app, ["--config", str(config), *args, "--json"], env=env)
        assert result.exit_code == 0, result.output
        parsed: dict[str, Any] = json.loads(result.stdout)
        return parsed

    return run
