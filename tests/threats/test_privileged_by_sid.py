"""Privileged groups are known by their security identifier, not their name, on the real DC:
Domain Admins renamed before dirguard ever saw it (so neither its name nor its first recorded
name says "Domain Admins") still raises AD-PRIV-GROUP-ADD through its RID 512, and its auto-undo
still puts the addition back; DnsAdmins, which has no fixed RID, renamed after the baseline is
still found under the name dirguard first recorded it with (the test DC has no DNS role, so the
test makes the DnsAdmins group as the DNS server's installation does). Both groups get their
names back."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.accounts import cli_runner, group_members
from tests.threats.ad_config import alerts_of, threats_config
from tests.threats.conftest import Admin

pytestmark = pytest.mark.samba


@contextlib.contextmanager
def _renamed(conn: Any, dn: str, new_name: str) -> Iterator[str]:
    """``dn`` renamed (CN and sAMAccountName) to ``new_name`` while in the block."""
    parent = dn.split(",", 1)[1]
    old_name = dn.split(",", 1)[0][3:]
    conn.rename_s(dn, f"CN={new_name}")
    renamed = f"CN={new_name},{parent}"
    conn.modify_s(renamed, [(ldap.MOD_REPLACE, "sAMAccountName", [new_name.encode()])])
    try:
        yield renamed
    finally:
        conn.modify_s(renamed, [(ldap.MOD_REPLACE, "sAMAccountName", [old_name.encode()])])
        conn.rename_s(renamed, f"CN={old_name}")


def test_renamed_domain_admins_and_dnsadmins_still_alert_and_undo(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
    make_admin: Callable[[str], Admin],
) -> None:
    rogue = make_admin("rogue")
    victims = [unique(f"v{i}") for i in range(2)]
    for name in victims:
        samba_tool("user", "create", name, f"Pa55word!{name}")
    victim_dns = [f"CN={n},CN=Users,{samba_dc.base_dn}" for n in victims]
    run = cli_runner(
        threats_config(tmp_path, samba_dc, "[threats.rules.AD-PRIV-GROUP-ADD]\nauto_undo = true\n"),
        {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password},
    )
    users = f"CN=Users,{samba_dc.base_dn}"
    tier0 = unique("Tier0 Ops")
    dns_ops = unique("Name Ops")
    made_dns_admins = not ldap_admin.search_s(
        users, ldap.SCOPE_ONELEVEL, "(sAMAccountName=DnsAdmins)", ["1.1"]
    )
    if made_dns_admins:  # a DC provisioned without DNS: made as the DNS installation does
        samba_tool("group", "add", "DnsAdmins", "--group-scope=Domain")
    conn = rogue.bind(samba_dc)
    try:
        with _renamed(ldap_admin, f"CN=Domain Admins,{users}", tier0) as da:
            run("snapshot", "ad")
            with _renamed(ldap_admin, f"CN=DnsAdmins,{users}", dns_ops) as dns:
                conn.modify_s(da, [(ldap.MOD_ADD, "member", [victim_dns[0].encode()])])
                conn.modify_s(dns, [(ldap.MOD_ADD, "member", [victim_dns[1].encode()])])
                run("monitor", "--once", "--no-notify", as_json=False)
                try:
                    [promoted] = alerts_of(run, "AD-PRIV-GROUP-ADD")
                    [operator] = alerts_of(run, "AD-OPERATOR-GROUP-ADD")
                    assert promoted["target"] == da and operator["target"] == dns
                    assert promoted["actor"] == operator["actor"] == rogue.actor
                    assert promoted["undo"]["status"] == "undone", promoted["undo"]
                    assert victim_dns[0].lower() not in group_members(ldap_admin, da)
                finally:
                    with contextlib.suppress(ldap.LDAPError):
                        ldap_admin.modify_s(
                            dns, [(ldap.MOD_DELETE, "member", [victim_dns[1].encode()])]
                        )
    finally:
        conn.unbind_s()
        if made_dns_admins:
            samba_tool("group", "delete", "DnsAdmins")
        for dn in victim_dns:
            with contextlib.suppress(ldap.LDAPError):
                ldap_admin.delete_s(dn)
