"""The threat tests use the AD tests' fixtures (domain configuration, connection, names), and
make Domain Admin accounts of their own (the rogue, a break-glass account, a pipeline)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import ldap
import pytest

from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import ad_conn, ad_domain, samba_tool, unique
from tests.who.helpers import bind_as

__all__ = ["Admin", "ad_conn", "ad_domain", "make_admin", "samba_tool", "unique"]


@dataclass(frozen=True, kw_only=True)
class Admin:
    name: str
    password: str
    dn: str
    actor: str

    def bind(self, dc: SambaDC) -> Any:
        return bind_as(dc, f"{self.name}@{dc.realm}", self.password)


@pytest.fixture
def make_admin(
    samba_dc: SambaDC, samba_tool: Callable[..., str], unique: Callable[[str], str], ldap_admin: Any
) -> Iterator[Callable[[str], Admin]]:
    """A new Domain Admin account (its own name and password), deleted after the test."""
    made: list[str] = []

    def make(prefix: str) -> Admin:
        name = unique(prefix)
        password = f"Pa55word!{name}"
        samba_tool("user", "create", name, password)
        samba_tool("group", "addmembers", "Domain Admins", name)
        dn = f"CN={name},CN=Users,{samba_dc.base_dn}"
        made.append(dn)
        return Admin(name=name, password=password, dn=dn, actor=f"{samba_dc.domain}\\{name}")

    yield make
    for dn in made:
        with contextlib.suppress(ldap.LDAPError):
            ldap_admin.delete_s(dn)
