"""Fixtures of the Administrator tests: a small organisation on the session's DC (two OUs with a
user each, a group) and the Administrator AD account, a member of Account Operators."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.catalog.permission_model import Service
from dirguard.config.schema import (
    AdDomainConfig,
    AdSection,
    Config,
    EntraSection,
    EntraTenantConfig,
    SecretsConfig,
    StoreConfig,
)
from dirguard.providers.ad.passwords import complex_password, unicode_pwd
from dirguard.services.runtime import Runtime
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.throwaway.samba_dc import SambaDC
from dirguard_sandbox.server import SandboxInfo


def _add_user(conn: Any, dn: str, name: str, **extra: bytes) -> None:
    attrs = [
        ("objectClass", [b"user"]),
        ("sAMAccountName", [name.encode()]),
        ("unicodePwd", [unicode_pwd(complex_password())]),
        ("userAccountControl", [b"512"]),
        *((k, [v]) for k, v in extra.items()),
    ]
    conn.add_s(dn, attrs)


@pytest.fixture
def org(ldap_admin: Any, samba_dc: SambaDC) -> Iterator[dict[str, str]]:
    """Two OUs with a user each, a group in the first, and the Administrator account."""
    token = uuid.uuid4().hex[:6]
    base = samba_dc.base_dn
    top = f"OU=Staff{token},{base}"
    names = {
        "top": top,
        "sales": f"OU=Sales,{top}",
        "finance": f"OU=Finance,{top}",
        "bob": f"CN=bob{token},OU=Sales,{top}",
        "fred": f"CN=fred{token},OU=Finance,{top}",
        "group": f"CN=sales{token},OU=Sales,{top}",
        "token": token,
    }
    for ou in (top, names["sales"], names["finance"]):
        ldap_admin.add_s(ou, [("objectClass", [b"organizationalUnit"])])
    _add_user(ldap_admin, names["bob"], f"bob{token}", department=b"Sales")
    _add_user(ldap_admin, names["fred"], f"fred{token}")
    ldap_admin.add_s(
        names["group"],
        [("objectClass", [b"group"]), ("sAMAccountName", [f"sales{token}".encode()])],
    )
    admin = f"svcadm{token}"
    names["admin_upn"] = f"{admin}@{samba_dc.realm.lower()}"
    names["admin_password"] = complex_password()
    admin_dn = f"CN={admin},CN=Users,{base}"
    ldap_admin.add_s(
        admin_dn,
        [
            ("objectClass", [b"user"]),
            ("sAMAccountName", [admin.encode()]),
            ("userPrincipalName", [names["admin_upn"].encode()]),
            ("unicodePwd", [unicode_pwd(names["admin_password"])]),
            ("userAccountControl", [b"66048"]),
        ],
    )
    ldap_admin.modify_s(
        f"CN=Account Operators,CN=Builtin,{base}", [(ldap.MOD_ADD, "member", [admin_dn.encode()])]
    )
    yield names


def admin_tenant(info: SandboxInfo, secret_env: str) -> EntraTenantConfig:
    """The sandbox tenant as a connection running the Administrator (its full app)."""
    return EntraTenantConfig(
        name="sandbox",
        tenant_id=info.tenant_id,
        client_id=info.full_client_id,
        client_secret=f"env:{secret_env}",
        authority=info.login_base,
        graph_url=info.login_base,
        ca_file=info.ca_file,
        services=[Service.GUARDIAN, Service.ADMINISTRATOR],
        mode="full",
    )


@contextmanager
def admin_runtime(
    directory: Path,
    *,
    domains: Sequence[AdDomainConfig] = (),
    tenants: Sequence[EntraTenantConfig] = (),
) -> Iterator[Runtime]:
    """A runtime over a fresh store in ``directory`` with these connections."""
    url = f"sqlite:///{directory / 'store.db'}"
    config = Config(
        store=StoreConfig(url=url, checkpoint_file=directory / "c.jsonl"),
        secrets=SecretsConfig(key_file=directory / "k", store_file=directory / "s.json"),
        ad=AdSection(domains=list(domains)),
        entra=EntraSection(tenants=list(tenants)),
    )
    engine = create_engine_for(url)
    upgrade(engine)
    try:
        yield Runtime(config=config, sessions=session_factory(engine), principal="root")
    finally:
        engine.dispose()
