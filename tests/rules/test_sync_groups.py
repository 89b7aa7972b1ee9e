"""Issue 16 item 2: dynamic groups and managed units kept in sync by a rule's ``keep-members``
action, on the session's throwaway Samba DC and the sandbox tenant over HTTPS.

Each test checks what an administrator would: the dry run lists the members it would add and
remove with their counts and writes nothing; the run makes the group's members (read back from
the directory, not from dirguard) equal the scope; a user whose department changes leaves on the
next run and a new matching user joins; a second run changes nothing; a member that fails (a
protected account) stops nobody else; a scope that suddenly finds nothing is held until
``force``; a managed unit's stored members are what delegation decides on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.core.delegation import ConsoleUser
from dirguard.providers.ad.passwords import complex_password, unicode_pwd
from dirguard.services.admin.actions import ActionRequest, preview_action
from dirguard.services.admin.delegation import assign, save_role, save_scope
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rules.engine import run_rule
from dirguard.services.rules.rule_store import save_rule
from dirguard.services.rules.run_report import RunReport
from dirguard.services.runtime import Runtime
from dirguard.throwaway.samba_dc import SambaDC
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rules.sync_helpers import group_members, rules_runtime, security_group

pytestmark = pytest.mark.samba


@pytest.fixture
def runtime(
    samba_dc: SambaDC,
    org: dict[str, str],
    graph_sandbox: RunningSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runtime]:
    with rules_runtime(tmp_path, monkeypatch, samba_dc, org, graph_sandbox) as runtime:
        yield runtime


def _user(conn: Any, dn: str, **extra: str) -> None:
    name = dn.split(",")[0].partition("=")[2]
    conn.add_s(
        dn,
        [
            ("objectClass", [b"user"]),
            ("sAMAccountName", [name.encode()]),
            ("unicodePwd", [unicode_pwd(complex_password())]),
            ("userAccountControl", [b"512"]),
            *((k, [v.encode()]) for k, v in extra.items()),
        ],
    )


def _set(conn: Any, dn: str, attribute: str, value: str) -> None:
    conn.modify_s(dn, [(ldap.MOD_REPLACE, attribute, [value.encode()])])


def _members(conn: Any, group: str) -> set[str]:
    found = conn.search_s(group, ldap.SCOPE_BASE, "(objectClass=*)", ["member"])
    return {v.decode().casefold() for v in found[0][1].get("member", [])}


def _rule(org: dict[str, str], domain: str, department: str, **action: Any) -> dict[str, Any]:
    return {
        "name": "sales-group",
        "description": "The Sales group holds exactly the users whose department is Sales",
        "schedule": "*/15 * * * *",
        "scope": {"directory": "ad", "source": domain, "base": org["top"]},
        "conditions": [{"field": "department", "comparison": "equals", "value": department}],
        "actions": [{"do": "keep-members", **action}],
    }


def _changes(report: RunReport, status: str) -> dict[str, str]:
    """``{path: key}`` of the report's changes with ``status`` (folded paths)."""
    return {
        o.path.casefold(): c.key for o in report.objects for c in o.changes if c.status == status
    }


def test_an_ad_dynamic_group_follows_the_department(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any
) -> None:
    token, top = org["token"], org["top"]
    bob, fred, group = org["bob"].casefold(), org["fred"].casefold(), org["group"]
    ann = f"CN=ann{token},{org['sales']}"
    pat = f"CN=pat{token},{org['sales']}"
    _user(ldap_admin, ann, department="Sales")
    _user(ldap_admin, f"CN=carl{token},{org['finance']}", department="Finance")
    # A protected account (adminCount, as AdminSDHolder marks them): web actions refuse it.
    _user(ldap_admin, pat, department="Sales", adminCount="1")
    ldap_admin.modify_s(group, [(ldap.MOD_ADD, "member", [org["fred"].encode()])])
    domain = runtime.ad_domain().name
    save_rule(runtime, _rule(org, domain, "Sales", group=group))

    dry = run_rule(runtime, "sales-group", dry_run=True)
    (entry,) = dry.memberships
    assert entry["status"] == "would-change" and entry["group"] == group
    assert entry["counts"] == {"members": 1, "desired": 3, "add": 3, "remove": 1}
    assert _changes(dry, "would-change") == {
        bob: "ad.group.add-member",
        ann.casefold(): "ad.group.add-member",
        pat.casefold(): "ad.group.add-member",
        fred: "ad.group.remove-member",
    }
    assert _members(ldap_admin, group) == {fred}  # a dry run writes nothing

    done = run_rule(runtime, "sales-group", dry_run=False)
    assert _members(ldap_admin, group) == {bob, ann.casefold()}
    assert set(_changes(done, "changed")) == {bob, ann.casefold(), fred}
    (failed,) = [o for o in done.objects if o.status == "failed"]
    assert failed.path.casefold() == pat.casefold() and "protected" in str(failed.changes[0].error)
    assert done.status == "partial"  # the protected member failed; the others were done

    again = run_rule(runtime, "sales-group", dry_run=False)
    assert again.counts["changed"] == 0 and again.counts["failed"] == 1
    assert _members(ldap_admin, group) == {bob, ann.casefold()}

    # Ann moves to Finance; Dana joins Sales: the next run follows both.
    _set(ldap_admin, ann, "department", "Finance")
    dana = f"CN=dana{token},{top}"
    _user(ldap_admin, dana, department="Sales")
    moved = run_rule(runtime, "sales-group", dry_run=False)
    assert moved.memberships[0]["counts"] == {"members": 2, "desired": 3, "add": 2, "remove": 1}
    assert _changes(moved, "changed") == {
        ann.casefold(): "ad.group.remove-member",
        dana.casefold(): "ad.group.add-member",
    }
    assert _members(ldap_admin, group) == {bob, dana.casefold()}
    assert run_rule(runtime, "sales-group", dry_run=False).counts["changed"] == 0

    # A broken query (a typo in the department) would empty the group: held, said in the dry run.
    save_rule(runtime, _rule(org, domain, "Salez", group=group))
    held = run_rule(runtime, "sales-group", dry_run=True)
    assert held.memberships[0]["status"] == "held"
    assert "empty the group" in held.memberships[0]["reason"]
    assert held.memberships[0]["counts"]["remove"] == 2
    not_done = run_rule(runtime, "sales-group", dry_run=False)
    assert not_done.status == "partial" and not_done.memberships[0]["status"] == "held"
    assert _members(ldap_admin, group) == {bob, dana.casefold()}
    forced = run_rule(runtime, "sales-group", dry_run=False, force=True)
    assert forced.memberships[0]["status"] == "changed"
    assert _members(ldap_admin, group) == set()


def _cloud_user(graph: Any, upn: str, department: str) -> str:
    made = graph.post(
        "/users",
        json={
            "accountEnabled": True,
            "displayName": upn.partition("@")[0],
            "mailNickname": upn.partition("@")[0],
            "userPrincipalName": upn,
            "department": department,
            "passwordProfile": {"password": complex_password()},
        },
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_an_entra_dynamic_group_and_ad_counterparts(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any, graph_sandbox: RunningSandbox
) -> None:
    token = org["token"]
    domain = next(iter(graph_sandbox.state.domains))
    ops = f"Ops{token}"
    with graph_sandbox.client() as graph:
        ids = {n: _cloud_user(graph, f"{n}{token}@{domain}", ops) for n in ("una", "vic")}
        ids["wes"] = _cloud_user(graph, f"wes{token}@{domain}", "Legal")
    group = security_group(graph_sandbox, f"Ops {token}", [ids["wes"]])
    rule = {
        "name": "ops-group",
        "scope": {"directory": "entra", "source": "sandbox"},
        "conditions": [{"field": "department", "comparison": "equals", "value": ops}],
        "actions": [{"do": "keep-members", "group": group, "max_remove_percent": 100}],
    }
    save_rule(runtime, rule)

    dry = run_rule(runtime, "ops-group", dry_run=True)
    assert dry.memberships[0]["counts"] == {"members": 1, "desired": 2, "add": 2, "remove": 1}
    with graph_sandbox.client() as graph:
        assert group_members(graph, group) == {ids["wes"]}
        run_rule(runtime, "ops-group", dry_run=False)
        assert group_members(graph, group) == {ids["una"], ids["vic"]}
        assert run_rule(runtime, "ops-group", dry_run=False).counts["changed"] == 0

        # Una leaves Ops, Xia arrives.
        patched = graph.patch(f"/users/{ids['una']}", json={"department": "Legal"})
        assert patched.status_code == 204, patched.text
        ids["xia"] = _cloud_user(graph, f"xia{token}@{domain}", ops)
        moved = run_rule(runtime, "ops-group", dry_run=False)
        assert _changes(moved, "changed") == {
            ids["una"]: "entra.group.remove-member",
            ids["xia"]: "entra.group.add-member",
        }
        assert group_members(graph, group) == {ids["vic"], ids["xia"]}
        assert run_rule(runtime, "ops-group", dry_run=False).counts["changed"] == 0

    # Across directories: AD users of the department in an Entra group, by their counterparts.
    # Vic and Xia have AD accounts with the same userPrincipalName; Bob has none (no UPN).
    for name in ("vic", "xia"):
        _user(
            ldap_admin,
            f"CN={name}{token},{org['sales']}",
            department="Sales",
            userPrincipalName=f"{name}{token}@{domain}",
        )
    save_rule(
        runtime,
        {
            "name": "sales-cloud",
            "scope": {"directory": "ad", "source": runtime.ad_domain().name, "base": org["top"]},
            "conditions": [{"field": "department", "comparison": "equals", "value": "Sales"}],
            "actions": [{"do": "keep-members", "in": "entra:sandbox", "group": group}],
        },
    )
    across = run_rule(runtime, "sales-cloud", dry_run=False)
    assert across.memberships[0]["counts"] == {"members": 2, "desired": 2, "add": 0, "remove": 0}
    (no_upn,) = [o for o in across.objects if o.status == "failed"]
    assert no_upn.path.casefold() == org["bob"].casefold()
    assert "userPrincipalName" in str(no_upn.changes[0].error)
    with graph_sandbox.client() as graph:
        assert group_members(graph, group) == {ids["vic"], ids["xia"]}


HELPER = ConsoleUser(name="desk@contoso.com")


def _edit(runtime: Runtime, dn: str) -> ActionRequest:
    return ActionRequest(
        action="ad.user.edit",
        source=runtime.ad_domain().name,
        target=dn,
        params={"fields": {"title": "Account manager"}},
    )


def _may_edit(runtime: Runtime, dn: str) -> bool:
    try:
        preview_action(runtime, HELPER, _edit(runtime, dn))
    except ServiceError as error:
        assert error.problem is Problem.PERMISSION, error.message
        return False
    return True


def test_a_managed_unit_holds_what_the_rule_found_and_delegation_reads_it(
    runtime: Runtime, org: dict[str, str], ldap_admin: Any
) -> None:
    unit = f"Sales people {org['token']}"
    save_scope(runtime, {"name": unit, "kind": "managed"})
    save_role(runtime, {"name": "Editor", "actions": ["ad.user.edit"], "write_fields": ["title"]})
    assign(runtime, "Editor", unit, "user", HELPER.name)
    domain = runtime.ad_domain().name
    rule = _rule(org, domain, "Sales", unit=unit)
    rule["name"] = "sales-unit"
    save_rule(runtime, rule)
    bob, fred = org["bob"], org["fred"]
    assert not _may_edit(runtime, bob)  # empty until the rule runs

    dry = run_rule(runtime, "sales-unit", dry_run=True)
    assert dry.memberships[0]["counts"] == {"members": 0, "desired": 1, "add": 1, "remove": 0}
    assert not _may_edit(runtime, bob)
    run_rule(runtime, "sales-unit", dry_run=False)
    assert _may_edit(runtime, bob) and not _may_edit(runtime, fred)
    assert run_rule(runtime, "sales-unit", dry_run=False).counts["changed"] == 0

    # Bob moves to Finance: the unit keeps him until the rule runs again, then he is out.
    _set(ldap_admin, bob, "department", "Finance")
    _set(ldap_admin, fred, "department", "Sales")
    assert _may_edit(runtime, bob)
    moved = run_rule(runtime, "sales-unit", dry_run=False)
    assert _changes(moved, "changed") == {
        bob.casefold(): "delegation.unit.remove-member",
        fred.casefold(): "delegation.unit.add-member",
    }
    assert not _may_edit(runtime, bob) and _may_edit(runtime, fred)
    assert run_rule(runtime, "sales-unit", dry_run=False).counts["changed"] == 0
