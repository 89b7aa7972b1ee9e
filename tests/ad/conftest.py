"""Helpers for the AD tests: a domain configuration for the session's throwaway DC, a connection
through dirguard's own connector, samba-tool and unique names (the DC is shared by the session)."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator

import pytest

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
