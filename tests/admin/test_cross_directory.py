"""Web actions that read the other directory first, on the session's Samba DC and the sandbox
tenant: a remote mailbox needs the user's UPN suffix to be a verified domain of the tenant (else
Exchange's own words), and a cloud user's profile is synced from its AD account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.core.delegation import ConsoleUser
from dirguard.services.admin.actions import ActionRequest, preview_action, run_action
from dirguard.services.admin.delegation import assign, save_role, save_scope
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.admin.conftest import admin_runtime, admin_tenant
from tests.fixtures.graph_sandbox import RunningSandbox

pytestmark = pytest.mark.samba

HELPER = ConsoleUser(name="helpdesk@contoso.com")
VERIFIED = "sandbox7.example.com"


@pytest.fixture
def runtime(
    graph_sandbox: RunningSandbox,
    samba_dc: SambaDC,
    org: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runtime]:
    info = graph_sandbox.info
    for key, value in (
        ("DG_SECRET", info.full_client_secret),
        ("DG_AD", samba_dc.admin_password),
        ("DG_ADM", org["admin_password"]),
    ):
        monkeypatch.setenv(key, value)
    domain = domain_config(
        samba_dc, password="env:DG_AD", admin_bind_upn=org["admin_upn"], admin_password="env:DG_ADM"
    )
    tenant = admin_tenant(info, "DG_SECRET")
    with admin_runtime(tmp_path, domains=[domain], tenants=[tenant]) as runtime:
        save_role(
            runtime,
            {
                "name": "Desk",
                "write_fields": ["*"],
                "actions": ["ad.user.enable-remote-mailbox", "entra.user.sync-profile"],
            },
        )
        save_scope(
            runtime,
            {
                "name": "Sales",
                "kind": "ad-subtree",
                "source": f"ad:{domain.name}",
                "base": org["sales"],
            },
        )
        save_scope(
            runtime,
            {
                "name": "Cloud",
                "kind": "virtual",
                "query": {"directories": ["entra"], "object_kinds": ["user"]},
            },
        )
        for scope in ("Sales", "Cloud"):
            assign(runtime, "Desk", scope, "user", HELPER.name)
        yield runtime


def _set_upn(ldap_admin: Any, dn: str, upn: str) -> None:
    ldap_admin.modify_s(dn, [(ldap.MOD_REPLACE, "userPrincipalName", [upn.encode()])])


def test_a_remote_mailbox_on_an_unverified_suffix_fails_in_exchanges_words(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any, samba_dc: SambaDC
) -> None:
    suffix = samba_dc.realm.lower()
    _set_upn(ldap_admin, org["bob"], f"bob{org['token']}@{suffix}")
    request = ActionRequest(
        action="ad.user.enable-remote-mailbox", source=suffix, target=org["bob"]
    )
    with pytest.raises(ServiceError) as caught:
        preview_action(runtime, HELPER, request)
    assert caught.value.message == f"The domain '@{suffix}' is not valid."
    assert caught.value.problem is Problem.CONFLICT


def test_a_verified_suffix_then_needs_the_exchange_schema(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any, samba_dc: SambaDC
) -> None:
    """Samba's schema has no Exchange attributes: the action says so instead of half-writing."""
    _set_upn(ldap_admin, org["bob"], f"bob{org['token']}@{VERIFIED}")
    request = ActionRequest(
        action="ad.user.enable-remote-mailbox", source=samba_dc.realm.lower(), target=org["bob"]
    )
    with pytest.raises(ServiceError, match=r"schema has no Exchange attributes .*targetAddress"):
        run_action(runtime, HELPER, request)
    proxies = ldap_admin.search_s(
        org["bob"], ldap.SCOPE_BASE, "(objectClass=*)", ["proxyAddresses"]
    )[0][1]
    assert "proxyAddresses" not in proxies  # nothing half-written


def test_a_cloud_users_profile_is_synced_from_its_ad_account(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any, graph_sandbox: RunningSandbox
) -> None:
    upn = f"bob{org['token']}@{VERIFIED}"
    _set_upn(ldap_admin, org["bob"], upn)
    ldap_admin.modify_s(
        org["bob"],
        [
            (ldap.MOD_REPLACE, "title", [b"Account Manager"]),
            (ldap.MOD_REPLACE, "telephoneNumber", [b"+33 1 23"]),
        ],
    )
    with graph_sandbox.client() as graph:
        made = graph.post(
            "/users",
            json={
                "accountEnabled": True,
                "displayName": "Bob",
                "mailNickname": f"bob{org['token']}",
                "userPrincipalName": upn,
                "passwordProfile": {
                    "password": "Pa55-w0rd!x",
                    "forceChangePasswordNextSignIn": True,
                },
            },
        )
        assert made.status_code == 201, made.text
        cloud = made.json()["id"]
    request = ActionRequest(action="entra.user.sync-profile", source="sandbox", target=cloud)
    shown = preview_action(runtime, HELPER, request)
    changed = {e["field"]: e["after"] for e in shown.edits}
    assert changed["jobTitle"] == ("Account Manager",)
    assert changed["department"] == ("Sales",)
    assert changed["businessPhones"] == ("+33 1 23",)
    run_action(runtime, HELPER, request)
    user = graph_sandbox.state.users[cloud]
    assert (user["jobTitle"], user["department"], user["businessPhones"]) == (
        "Account Manager",
        "Sales",
        ["+33 1 23"],
    )
    again = preview_action(runtime, HELPER, request)
    assert again.edits == () and "already the same" in again.notes
