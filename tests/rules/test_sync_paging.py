"""A rule's AD scope is read with the simple paged results control: a scope larger than the page
size is found whole, each object once, on the session's throwaway Samba DC.

The page size is made 3 (AD's is 1,000: MaxPageSize) by wrapping the paged search the AD web
actions use, so that eight users span three pages; the wrapper counts the pages the DC sent.
The dry run's objects equal a hand-made LDAP query over the same OU.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.providers.ad import admin_actions
from dirguard.providers.ad.passwords import complex_password, unicode_pwd
from dirguard.services.rules.engine import run_rule
from dirguard.services.rules.rule_store import save_rule
from dirguard.services.runtime import Runtime
from dirguard.throwaway.samba_dc import SambaDC
from tests.rules.sync_helpers import rules_runtime

pytestmark = pytest.mark.samba


@pytest.fixture
def runtime(
    samba_dc: SambaDC, org: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    with rules_runtime(tmp_path, monkeypatch, samba_dc, org) as runtime:
        yield runtime


def test_a_scope_larger_than_a_page_is_read_whole(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    for number in range(6):
        ldap_admin.add_s(
            f"CN=temp{number}{org['token']},{org['sales']}",
            [
                ("objectClass", [b"user"]),
                ("sAMAccountName", [f"temp{number}{org['token']}".encode()]),
                ("unicodePwd", [unicode_pwd(complex_password())]),
                ("userAccountControl", [b"512"]),
            ],
        )
    pages: list[int] = []
    real = admin_actions.paged_search

    def three_a_page(conn: Any, base: str, **kwargs: Any) -> Iterator[list[Any]]:
        for page in real(conn, base, **{**kwargs, "page_size": 3}):
            pages.append(len(page))
            yield page

    monkeypatch.setattr(admin_actions, "paged_search", three_a_page)
    save_rule(
        runtime,
        {
            "name": "everyone",
            "scope": {"directory": "ad", "source": runtime.ad_domain().name, "base": org["top"]},
            "actions": [{"do": "set", "fields": {"company": "Contoso"}}],
        },
    )
    dry = run_rule(runtime, "everyone", dry_run=True)
    by_hand = ldap_admin.search_s(
        org["top"], ldap.SCOPE_SUBTREE, "(&(objectCategory=person)(objectClass=user))", ["cn"]
    )
    expected = sorted(dn.casefold() for dn, _ in by_hand if dn)
    assert len(expected) == 8  # bob, fred and six more: more than two pages of three
    assert sorted(o.path.casefold() for o in dry.objects) == expected
    assert len(pages) >= 3 and max(pages) <= 3 and sum(pages) >= 8
