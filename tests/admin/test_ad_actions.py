"""AD web actions on the real DC, as the Administrator AD account (a member of Account
Operators), under delegation: a help desk scoped to one OU does its work there and nowhere else,
the preview says what will change, and each commit is audited with the operator named."""

from __future__ import annotations

from typing import Any

import ldap
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.config.schema import AdSection, Config
from dirguard.core.delegation import ConsoleUser
from dirguard.providers.ad.passwords import complex_password
from dirguard.services.admin.actions import ActionRequest, preview_action, run_action
from dirguard.services.admin.delegation import assign, save_role, save_scope
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime
from dirguard.store.models import AuditRecord
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config

pytestmark = pytest.mark.samba

HELPER = ConsoleUser(name="helpdesk@contoso.com")
ACTIONS = [
    "ad.user.create",
    "ad.user.edit",
    "ad.user.reset-password",
    "ad.user.enable",
    "ad.user.disable",
    "ad.user.unlock",
    "ad.user.move",
    "ad.user.delete",
    "ad.group.add-member",
    "ad.group.remove-member",
]


@pytest.fixture
def runtime(
    store_sessions: sessionmaker[Session],
    samba_dc: SambaDC,
    org: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> Runtime:
    monkeypatch.setenv("TEST_DIRGUARD_AD_PASSWORD", samba_dc.admin_password)
    monkeypatch.setenv("TEST_DIRGUARD_ADMIN_PASSWORD", org["admin_password"])
    domain = domain_config(
        samba_dc, admin_bind_upn=org["admin_upn"], admin_password="env:TEST_DIRGUARD_ADMIN_PASSWORD"
    )
    runtime = Runtime(
        config=Config(ad=AdSection(domains=[domain])),
        sessions=store_sessions,
        principal="root@contoso.com",
    )
    save_role(runtime, {"name": "Help desk", "actions": ACTIONS, "write_fields": ["*"]})
    save_scope(
        runtime,
        {
            "name": "Sales",
            "kind": "ad-subtree",
            "source": f"ad:{domain.name}",
            "base": org["sales"],
        },
    )
    assign(runtime, "Help desk", "Sales", "user", HELPER.name)
    return runtime


def _read(conn: Any, dn: str, *attrs: str) -> dict[str, list[bytes]]:
    return conn.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", list(attrs))[0][1]


def _request(runtime: Runtime, action: str, target: str, **params: object) -> ActionRequest:
    return ActionRequest(
        action=action, source=runtime.ad_domain().name, target=target, params=params
    )


def test_a_help_desk_creates_a_user_in_its_ou_with_groups_and_it_is_audited(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any
) -> None:
    name = f"new{org['token']}"
    request = _request(
        runtime,
        "ad.user.create",
        org["sales"],
        sAMAccountName=name,
        displayName=f"New {org['token']}",
        upn_suffix=runtime.ad_domain().name,
        department="Sales",
        password=complex_password(),
        groups=[org["group"]],
    )
    preview = preview_action(runtime, HELPER, request)
    assert preview.target == f"CN=New {org['token']},{org['sales']}"
    shown = {e["field"]: e["after"] for e in preview.edits}
    assert shown["unicodePwd"] == "(hidden)"
    assert shown["memberOf"] == (org["group"],)
    with pytest.raises(ldap.NO_SUCH_OBJECT):
        _read(ldap_admin, preview.target, "cn")  # a preview writes nothing

    result = run_action(runtime, HELPER, request)
    entry = _read(
        ldap_admin,
        result.object,
        "sAMAccountName",
        "memberOf",
        "userAccountControl",
        "pwdLastSet",
        "department",
    )
    assert entry["sAMAccountName"] == [name.encode()]
    assert [m.decode().lower() for m in entry["memberOf"]] == [org["group"].lower()]
    assert int(entry["userAccountControl"][0]) & 0x2 == 0  # enabled
    assert entry["pwdLastSet"] == [b"0"]  # must change at first sign-in
    with runtime.sessions() as session:
        record = session.get(AuditRecord, result.audit_id)
        assert record is not None
        assert (record.actor, record.action, record.outcome) == (
            HELPER.name,
            "admin.ad.user.create",
            "succeeded",
        )
        assert record.details["request_id"] == request.request_id
        assert "Help desk over Sales" in record.details["allowed_by"]
        assert request.params["password"] not in repr(record.details)


def test_reset_disable_edit_and_membership_inside_the_scope(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any
) -> None:
    bob = org["bob"]
    run_action(
        runtime,
        HELPER,
        _request(
            runtime, "ad.user.reset-password", bob, password=complex_password(), must_change=True
        ),
    )
    assert _read(ldap_admin, bob, "pwdLastSet")["pwdLastSet"] == [b"0"]
    run_action(runtime, HELPER, _request(runtime, "ad.user.disable", bob))
    assert int(_read(ldap_admin, bob, "userAccountControl")["userAccountControl"][0]) & 0x2
    again = preview_action(runtime, HELPER, _request(runtime, "ad.user.disable", bob))
    assert again.edits == () and again.notes == ("already disabled: nothing to do",)
    edited = run_action(
        runtime,
        HELPER,
        _request(runtime, "ad.user.edit", bob, fields={"title": "Rep", "department": ""}),
    )
    assert {e["field"]: (e["before"], e["after"]) for e in edited.preview.edits} == {
        "title": (None, ("Rep",)),
        "department": (("Sales",), None),
    }
    now = _read(ldap_admin, bob, "title", "department")
    assert now == {"title": [b"Rep"]}
    run_action(runtime, HELPER, _request(runtime, "ad.group.add-member", org["group"], member=bob))
    members = _read(ldap_admin, org["group"], "member")["member"]
    assert [m.decode().lower() for m in members] == [bob.lower()]


def test_outside_the_scope_nothing_is_done_and_the_refusal_is_audited(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any
) -> None:
    fred = org["fred"]
    with pytest.raises(ServiceError, match="outside every scope") as caught:
        run_action(runtime, HELPER, _request(runtime, "ad.user.disable", fred))
    assert caught.value.problem is Problem.PERMISSION
    assert int(_read(ldap_admin, fred, "userAccountControl")["userAccountControl"][0]) & 0x2 == 0
    with pytest.raises(ServiceError, match="outside every scope"):  # moving it out is refused
        run_action(
            runtime, HELPER, _request(runtime, "ad.user.move", org["bob"], to=org["finance"])
        )
    stranger = ConsoleUser(name="eve@contoso.com")
    with pytest.raises(ServiceError, match="holds no delegated role"):
        preview_action(runtime, stranger, _request(runtime, "ad.user.unlock", org["bob"]))
    with runtime.sessions() as session:
        denied = session.scalars(select(AuditRecord).where(AuditRecord.outcome == "denied")).all()
    assert [(r.actor, r.action) for r in denied] == [
        (HELPER.name, "admin.ad.user.disable"),
        (HELPER.name, "admin.ad.user.move"),
    ]


def test_an_object_moved_out_of_the_ou_is_refused_from_then_on(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any
) -> None:
    bob = org["bob"]
    preview_action(runtime, HELPER, _request(runtime, "ad.user.disable", bob))
    ldap_admin.rename_s(bob, bob.split(",")[0], org["finance"])  # someone else moves it
    moved = f"{bob.split(',')[0]},{org['finance']}"
    with pytest.raises(ServiceError, match="outside every scope"):
        run_action(runtime, HELPER, _request(runtime, "ad.user.disable", moved))
    with pytest.raises(ServiceError, match="no object"):
        run_action(runtime, HELPER, _request(runtime, "ad.user.disable", bob))


def test_a_domain_without_an_administrator_account_offers_no_actions(
    runtime: Runtime, samba_dc: SambaDC, org: dict[str, str]
) -> None:
    bare = Runtime(
        config=Config(ad=AdSection(domains=[domain_config(samba_dc)])),
        sessions=runtime.sessions,
        principal="x",
    )
    with pytest.raises(ServiceError, match="no Administrator AD account") as caught:
        preview_action(bare, HELPER, _request(bare, "ad.user.unlock", org["bob"]))
    assert caught.value.problem is Problem.CONFIG


def test_protected_groups_and_accounts_are_refused_whatever_the_delegation(
    runtime: Runtime, org: dict[str, str], samba_dc: SambaDC, ldap_admin: Any
) -> None:
    """Even a delegation that is too wide cannot make a Domain Admin. On this Samba DC the
    Account Operator could (no SDProp, tried: the add went through before the check existed),
    so dirguard itself refuses privileged groups, accounts and adminCount objects."""
    save_scope(
        runtime,
        {
            "name": "Everything",
            "kind": "ad-subtree",
            "source": f"ad:{runtime.ad_domain().name}",
            "base": samba_dc.base_dn,
        },
    )
    assign(runtime, "Help desk", "Everything", "user", HELPER.name)
    admins = f"CN=Domain Admins,CN=Users,{samba_dc.base_dn}"
    with pytest.raises(ServiceError, match="protected") as caught:
        run_action(
            runtime, HELPER, _request(runtime, "ad.group.add-member", admins, member=org["bob"])
        )
    assert caught.value.problem is Problem.PERMISSION
    members = _read(ldap_admin, admins, "member").get("member", [])
    assert org["bob"].lower().encode() not in [m.lower() for m in members]
    with pytest.raises(ServiceError, match="protected"):  # nor can its members be reset
        run_action(
            runtime,
            HELPER,
            _request(
                runtime, "ad.user.reset-password", samba_dc.admin_dn, password=complex_password()
            ),
        )


def test_the_guardian_records_a_web_action_as_dirguards_for_the_operator(
    runtime: Runtime, org: dict[str, str]
) -> None:
    from dirguard.services.capture.use_cases import (
        CaptureRequest,
        SnapshotRequest,
        capture,
        snapshot,
    )
    from dirguard.services.history_use_cases import ChangesRequest, list_changes

    snapshot(runtime, SnapshotRequest())
    run_action(runtime, HELPER, _request(runtime, "ad.user.disable", org["bob"]))
    capture(runtime, CaptureRequest())
    found = list_changes(runtime, ChangesRequest(object_text=f"bob{org['token']}")).changes
    disabled = [c for c in found if c.attribute == "userAccountControl"]
    assert disabled, [c.attribute for c in found]
    assert {c.actor for c in disabled} == {f"dirguard Administrator (for {HELPER.name})"}


def test_an_ad_group_assignment_follows_nested_membership_live(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any, samba_dc: SambaDC
) -> None:
    token = org["token"]
    base = samba_dc.base_dn
    outer, inner = f"CN=desk{token},CN=Users,{base}", f"CN=deskin{token},CN=Users,{base}"
    upn = f"carla{token}@{samba_dc.realm.lower()}"
    carla = f"CN=carla{token},CN=Users,{base}"
    ldap_admin.add_s(
        carla,
        [
            ("objectClass", [b"user"]),
            ("sAMAccountName", [f"carla{token}".encode()]),
            ("userPrincipalName", [upn.encode()]),
        ],
    )
    ldap_admin.add_s(inner, [("objectClass", [b"group"]), ("member", [carla.encode()])])
    ldap_admin.add_s(outer, [("objectClass", [b"group"]), ("member", [inner.encode()])])
    assign(runtime, "Help desk", "Sales", "ad-group", outer)
    signed_in = ConsoleUser(name=upn)
    done = run_action(runtime, signed_in, _request(runtime, "ad.user.disable", org["bob"]))
    assert done.preview.allowed_by == ("Help desk over Sales",)
    ldap_admin.modify_s(inner, [(ldap.MOD_DELETE, "member", [carla.encode()])])
    with pytest.raises(ServiceError, match="holds no delegated role"):
        preview_action(runtime, signed_in, _request(runtime, "ad.user.enable", org["bob"]))


def test_listing_pages_through_the_domain(
    runtime: Runtime, ldap_admin: Any, samba_dc: SambaDC
) -> None:
    """Subtree searches are paged: with pages of two entries every user still comes back once
    (AD answers at most MaxPageSize, 1,000, entries to an unpaged search)."""
    from dirguard.providers.ad.admin_actions import AdActions

    domain = runtime.ad_domain()
    opener = runtime.openers(domain).administrator
    assert opener is not None
    expected = {
        dn.lower()
        for dn, _ in ldap_admin.search_s(
            samba_dc.base_dn,
            ldap.SCOPE_SUBTREE,
            "(&(objectCategory=person)(objectClass=user))",
            ["cn"],
        )
        if dn
    }
    assert len(expected) > 4
    with opener() as conn:
        found = AdActions(conn, source="ad:test", page_size=2).search("user")
    paths = [t.path.lower() for t in found]
    assert len(paths) == len(set(paths))
    assert set(paths) == expected
