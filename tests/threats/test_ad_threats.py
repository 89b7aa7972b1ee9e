"""Threat detection on the session's real Samba AD DC: a separate "rogue" account (a Domain
Admin whose credentials an attacker holds) makes the changes over LDAP, ``dirguard monitor
--once`` captures them and raises the alerts within the same pass, with the rogue's name and
address from Samba's JSON audit files. A break-glass account's change raises none, a threshold
rule fires at N and not at N-1, repeats are grouped into one alert, a scripted benign day
raises nothing, and auto-undo puts a Domain Admins addition back (the DC shows it gone) while
leaving an allowed account's."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.providers.ad.directory import read_dacl, write_dacl
from dirguard.providers.ad.sd.dacl_edit import (
    access_allowed_ace,
    control_access_ace,
    with_aces_added,
)
from dirguard.providers.ad.sd.security_descriptor import sid_from_bytes
from dirguard.throwaway.samba_dc import SambaDC
from tests.rollback.accounts import cli_runner, domain_admins, group_members
from tests.threats.ad_config import alerts_of, threats_config
from tests.threats.conftest import Admin
from tests.who.helpers import read_attribute

pytestmark = pytest.mark.samba

REPLICATE_CHANGES_ALL = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2"
TRUSTED_FOR_DELEGATION = 0x80000
DONT_REQ_PREAUTH = 0x400000
TRUSTED_TO_AUTH_FOR_DELEGATION = 0x1000000
WRITE_PROPERTY = 0x20


def _user(samba_tool: Callable[..., str], dc: SambaDC, name: str) -> str:
    samba_tool("user", "create", name, f"Pa55word!{name}")
    return f"CN={name},CN=Users,{dc.base_dn}"


def _add_member(conn: Any, group_dn: str, member_dn: str) -> None:
    conn.modify_s(group_dn, [(ldap.MOD_ADD, "member", [member_dn.encode()])])


def test_rogue_changes_raise_alerts_in_the_same_pass_break_glass_none_threshold_and_dedup(
    samba_dc: SambaDC,
    tmp_path: Path,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
    make_admin: Callable[[str], Admin],
) -> None:
    rogue, breakglass = make_admin("rogue"), make_admin("brkglass")
    threats = f'[threats.rules.AD-PRIV-GROUP-ADD]\nexclude_actors = ["*\\\\{breakglass.name}"]\n'
    run = cli_runner(
        threats_config(tmp_path, samba_dc, threats),
        {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password},
    )
    victims = [_user(samba_tool, samba_dc, unique(f"vic{i}")) for i in range(4)]
    run("snapshot", "ad")
    conn, glass = rogue.bind(samba_dc), breakglass.bind(samba_dc)
    da = domain_admins(samba_dc)
    try:
        _add_member(conn, da, victims[0])
        _add_member(glass, da, victims[1])
        run("monitor", "--once", "--no-notify", as_json=False)

        [alert] = alerts_of(run, "AD-PRIV-GROUP-ADD")  # the break-glass addition raised none
        assert alert["severity"] == "critical" and alert["status"] == "open"
        assert (alert["actor"], alert["actor_address"]) == (rogue.actor, "127.0.0.1")
        assert victims[0] in alert["summary"] and "T1098" in alert["mitre"]
        shown = run("alerts", "show", str(alert["id"]))
        assert [(c["op"], c["new_value"], c["actor"]) for c in shown["changes"]] == [
            ("add-value", victims[0], rogue.actor)
        ]

        # Dedup: the rogue's next additions join the open alert instead of making new ones.
        _add_member(conn, da, victims[2])
        run("monitor", "--once", "--no-notify", as_json=False)
        _add_member(conn, da, victims[3])
        run("monitor", "--once", "--no-notify", as_json=False)
        [same] = alerts_of(run, "AD-PRIV-GROUP-ADD")
        assert (same["id"], same["count"]) == (alert["id"], 3)

        # Threshold (site rule, 3 edits within 10 minutes): nothing at 2, one alert at 3.
        for victim in victims[:2]:
            conn.modify_s(victim, [(ldap.MOD_REPLACE, "description", [b"edited"])])
        run("monitor", "--once", "--no-notify", as_json=False)
        assert alerts_of(run, "SITE-DESCRIPTION-BURST") == []
        conn.modify_s(victims[2], [(ldap.MOD_REPLACE, "description", [b"edited"])])
        run("monitor", "--once", "--no-notify", as_json=False)
        [burst] = alerts_of(run, "SITE-DESCRIPTION-BURST")
        assert (burst["count"], burst["actor"]) == (3, rogue.actor)

        resolved = run("alerts", "resolve", str(alert["id"]), "--reason", "removed, rogue disabled")
        assert (
            resolved["status"] == "resolved"
            and resolved["state_reason"] == "removed, rogue disabled"
        )
        run("alerts", "dismiss", str(alert["id"]), "--reason", "again", code=1, as_json=False)
    finally:
        for c in (conn, glass):
            c.unbind_s()


def test_built_in_rules_fire_on_the_real_changes_and_not_on_a_benign_day(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
    make_admin: Callable[[str], Admin],
) -> None:
    rogue = make_admin("rogue")
    run = cli_runner(
        threats_config(tmp_path, samba_dc, ""),
        {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password},
    )
    victim = _user(samba_tool, samba_dc, unique("vic"))
    staff = _user(samba_tool, samba_dc, unique("staff"))
    team = unique("team")
    samba_tool("group", "add", team)
    computer = unique("pc")
    samba_tool("computer", "create", computer)
    computer_dn = f"CN={computer},CN=Computers,{samba_dc.base_dn}"
    ou_dn = f"OU={unique('ou')},{samba_dc.base_dn}"
    ldap_admin.add_s(ou_dn, [("objectClass", [b"organizationalUnit"])])
    run("snapshot", "ad")

    # A benign day: new users, password resets, group changes outside privileged groups.
    newcomer = unique("new")
    samba_tool("user", "create", newcomer, f"Pa55word!{newcomer}")
    samba_tool("user", "setpassword", staff.split(",")[0][3:], f"--newpassword=N3w!{newcomer}")
    samba_tool("group", "addmembers", team, newcomer)
    samba_tool("group", "removemembers", team, newcomer)
    ldap_admin.modify_s(staff, [(ldap.MOD_REPLACE, "description", [b"moved to finance"])])
    samba_tool("user", "disable", newcomer)
    run("monitor", "--once", "--no-notify", as_json=False)
    assert alerts_of(run) == []

    # The rogue's bad half hour, over LDAP.
    conn = rogue.bind(samba_dc)
    base = samba_dc.base_dn
    victim_sid = sid_from_bytes(read_attribute(ldap_admin, victim, "objectSid"))[0]
    try:
        _add_member(conn, f"CN=Backup Operators,CN=Builtin,{base}", victim)
        _add_member(conn, domain_admins(samba_dc), victim)
        holder = f"CN=AdminSDHolder,CN=System,{base}"
        write_dacl(
            conn,
            holder,
            with_aces_added(
                read_dacl(conn, holder), [access_allowed_ace(victim_sid, WRITE_PROPERTY)]
            ),
        )
        write_dacl(
            conn,
            base,
            with_aces_added(
                read_dacl(conn, base), [control_access_ace(victim_sid, REPLICATE_CHANGES_ALL)]
            ),
        )
        write_dacl(
            conn,
            ou_dn,
            with_aces_added(
                read_dacl(conn, ou_dn), [access_allowed_ace("S-1-5-11", WRITE_PROPERTY)]
            ),
        )
        conn.modify_s(victim, [(ldap.MOD_ADD, "servicePrincipalName", [b"http/evil.example"])])
        conn.modify_s(victim, [(ldap.MOD_REPLACE, "adminCount", [b"1"])])
        conn.modify_s(
            staff,
            [(ldap.MOD_REPLACE, "userAccountControl", [str(512 | DONT_REQ_PREAUTH).encode()])],
        )
        conn.modify_s(
            computer_dn,
            [
                (
                    ldap.MOD_REPLACE,
                    "userAccountControl",
                    [str(4096 | TRUSTED_FOR_DELEGATION).encode()],
                )
            ],
        )
        conn.modify_s(
            computer_dn,
            [(ldap.MOD_REPLACE, "msDS-AllowedToDelegateTo", [f"cifs/{samba_dc.host}".encode()])],
        )
        links = read_attribute(ldap_admin, base, "gPLink").decode()
        extra = (
            f"[LDAP://CN={{6AC1786C-016F-11D2-945F-00C04fB984F9}},CN=Policies,CN=System,{base};0]"
        )
        conn.modify_s(base, [(ldap.MOD_REPLACE, "gPLink", [(links + extra).encode()])])
        conn.modify_s(base, [(ldap.MOD_REPLACE, "ms-DS-MachineAccountQuota", [b"50"])])
    finally:
        conn.unbind_s()
    samba_tool("user", "setpassword", "krbtgt", "--newpassword=Krb!tgt-Rotated-9x")
    run("monitor", "--once", "--no-notify", as_json=False)

    alerts = alerts_of(run)
    by_rule = {a["rule"]: a for a in alerts}
    expected = {
        "AD-OPERATOR-GROUP-ADD": "high",
        "AD-PRIV-GROUP-ADD": "critical",
        "AD-ADMINSDHOLDER-ACL": "critical",
        "AD-DCSYNC-GRANT": "critical",
        "AD-BROAD-PRINCIPAL-GRANT": "high",
        "AD-SPN-PRIVILEGED": "high",
        "AD-ADMINCOUNT-SET": "medium",
        "AD-ASREP-ROASTABLE": "high",
        "AD-UNCONSTRAINED-DELEGATION": "high",
        "AD-CONSTRAINED-DELEGATION": "medium",
        "AD-GPO-LINK-SENSITIVE": "high",
        "AD-MACHINE-QUOTA-RAISED": "medium",
        "AD-KRBTGT-RESET": "medium",
    }
    assert {r: by_rule[r]["severity"] for r in expected if r in by_rule} == expected, sorted(
        by_rule
    )
    assert len(alerts) == len(by_rule)  # one alert per dangerous change
    # Who: the rogue, from Samba's audit files. A descriptor write on the domain head is at
    # times left unattributed by the capture when earlier tests of the session wrote the same
    # descriptor (the audit correlation's matter, not the rules'): then the actor is unknown,
    # never someone else. samba-tool reset krbtgt as the admin.
    for rule, alert in by_rule.items():
        if rule == "AD-KRBTGT-RESET":
            continue
        allowed = {rogue.actor, None} if rule == "AD-DCSYNC-GRANT" else {rogue.actor}
        assert alert["actor"] in allowed, (rule, alert["actor"])
    assert set(by_rule) - set(expected) <= {"AD-DOMAIN-HEAD-DELEGATION"}, sorted(by_rule)


def test_auto_undo_puts_a_domain_admins_addition_back_but_not_an_allowed_one(
    samba_dc: SambaDC,
    tmp_path: Path,
    ldap_admin: Any,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
    make_admin: Callable[[str], Admin],
) -> None:
    rogue, allowed = make_admin("rogue"), make_admin("iampipe")
    threats = (
        "[threats.rules.AD-PRIV-GROUP-ADD]\nauto_undo = true\n"
        f'allow_actors = ["*\\\\{allowed.name}"]\n'
    )
    run = cli_runner(
        threats_config(tmp_path, samba_dc, threats),
        {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password},
    )
    victim, hire = (_user(samba_tool, samba_dc, unique(p)) for p in ("vic", "hire"))
    run("snapshot", "ad")
    da = domain_admins(samba_dc)
    conn, pipe = rogue.bind(samba_dc), allowed.bind(samba_dc)
    try:
        _add_member(conn, da, victim)
        assert victim.lower() in group_members(ldap_admin, da)
        run("monitor", "--once", "--no-notify", as_json=False)
        [alert] = alerts_of(run, "AD-PRIV-GROUP-ADD")
        assert alert["undo"]["status"] == "undone", alert["undo"]
        assert alert["summary"].endswith("undone by dirguard")
        assert victim.lower() not in group_members(ldap_admin, da)  # the DC shows it gone
        plan = run("rollback", "show", str(alert["undo"]["plan_id"]))
        assert plan["status"] == "applied" and plan["selection"]["auto_undo"] == "AD-PRIV-GROUP-ADD"

        _add_member(pipe, da, hire)
        run("monitor", "--once", "--no-notify", as_json=False)
        undone = {a["actor"]: a for a in alerts_of(run, "AD-PRIV-GROUP-ADD")}

        assert undone[allowed.actor]["undo"]["status"] == "not undone"
        assert "allow-list" in undone[allowed.actor]["undo"]["reason"]
        assert hire.lower() in group_members(ldap_admin, da)
        # dirguard's own removal raised nothing (no short-lived membership alert either).
        assert {a["rule"] for a in alerts_of(run)} == {"AD-PRIV-GROUP-ADD"}
        assert len(alerts_of(run)) == 2

        # The rogue adding the member again is its change, not dirguard's: alerted and undone
        # again, until dirguard has put it back loop_limit (3) times within 10 minutes; then it
        # stops (another writer insists) and says so instead of looping.
        statuses = []
        for _ in range(3):
            _add_member(conn, da, victim)
            run("monitor", "--once", "--no-notify", as_json=False)
            [again] = [a for a in alerts_of(run, "AD-PRIV-GROUP-ADD") if a["actor"] == rogue.actor]
            statuses.append(again["undo"]["status"])
        assert statuses == ["undone", "undone", "loop stopped"], statuses
        assert "stopped undoing" in again["undo"]["reason"] and again["count"] == 4
        assert victim.lower() in group_members(ldap_admin, da)
    finally:
        for c in (conn, pipe):
            c.unbind_s()
        with contextlib.suppress(ldap.LDAPError):
            ldap_admin.modify_s(da, [(ldap.MOD_DELETE, "member", [hire.encode()])])
        with contextlib.suppress(ldap.LDAPError):
            ldap_admin.modify_s(da, [(ldap.MOD_DELETE, "member", [victim.encode()])])
