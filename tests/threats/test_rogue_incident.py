"""The Done-when of issue 17 on the session's real Samba AD DC: the demo's organisation
(:func:`dirguard.throwaway.samba_org.seed_organisation`) is snapshotted, a scripted benign day
of an ordinary administrator's work raises no alert, then the demo's scripted rogue-admin
incident (:func:`dirguard.throwaway.samba_incident.play_incident`, bound as the rogue over
LDAPS) raises exactly one alert per dangerous change, each with its severity and the rogue as
actor, and the Domain Admins addition is undone automatically (the DC shows it gone).

The benign day, done as the domain's administrator over LDAPS the way a help desk and an IT
team do it: password resets with "must change at next logon", three new hires made, enabled
and put into their department's group, a transfer (moved to another department's OU and group),
title and description edits, one leaver disabled — and no policy touched."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ldap
import pytest

from dirguard.providers.ad.passwords import unicode_pwd
from dirguard.throwaway.samba_dc import SambaDC, open_ldaps
from dirguard.throwaway.samba_incident import play_incident
from dirguard.throwaway.samba_org import NORMAL_ACCOUNT, Organisation, seed_organisation
from tests.rollback.accounts import cli_runner, domain_admins, group_members
from tests.threats.ad_config import alerts_of, threats_config

pytestmark = pytest.mark.samba

ACCOUNTDISABLE = 0x2
USERS_PER_DEPARTMENT = 6


def _benign_day(conn: Any, org: Organisation) -> list[str]:
    """Ordinary work over ``conn`` (the administrator's); the DNs of the new hires."""
    support = org.departments["Support"]
    engineering = org.departments["Engineering"]
    for user in support.users[:3]:  # help-desk password resets, changed at next logon
        conn.modify_s(
            user,
            [
                (ldap.MOD_REPLACE, "unicodePwd", [unicode_pwd("Reset!Monday-2026x")]),
                (ldap.MOD_REPLACE, "pwdLastSet", [b"0"]),
            ],
        )
    hires = []
    for n in range(3):
        sam = f"hire{n}-{org.rogue_sam[-6:]}"
        dn = f"CN=New Hire {n},{engineering.ou}"
        conn.add_s(
            dn,
            [
                ("objectClass", [b"top", b"person", b"organizationalPerson", b"user"]),
                ("sAMAccountName", [sam.encode()]),
                ("unicodePwd", [unicode_pwd("Welcome!Aboard-2026x")]),
                ("userAccountControl", [str(NORMAL_ACCOUNT).encode()]),
                ("title", [b"Engineer"]),
            ],
        )
        conn.modify_s(engineering.group, [(ldap.MOD_ADD, "member", [dn.encode()])])
        hires.append(dn)
    mover = support.users[-1]  # a transfer from Support to Engineering
    conn.modify_s(support.group, [(ldap.MOD_DELETE, "member", [mover.encode()])])
    rdn = mover.split(",", 1)[0]
    conn.rename_s(mover, rdn, engineering.ou)
    moved = f"{rdn},{engineering.ou}"
    conn.modify_s(engineering.group, [(ldap.MOD_ADD, "member", [moved.encode()])])
    conn.modify_s(
        moved,
        [
            (ldap.MOD_REPLACE, "department", [b"Engineering"]),
            (ldap.MOD_REPLACE, "title", [b"Engineer"]),
        ],
    )
    conn.modify_s(support.users[1], [(ldap.MOD_REPLACE, "description", [b"Team lead from Monday"])])
    leaver = engineering.users[-1]  # one leaver, as HR reported
    conn.modify_s(
        leaver,
        [(ldap.MOD_REPLACE, "userAccountControl", [str(NORMAL_ACCOUNT | ACCOUNTDISABLE).encode()])],
    )
    return hires


def _remove_org(conn: Any, dc: SambaDC, org: Organisation) -> None:
    """Leave the session's DC as it was (tree delete of the organisation's root OU)."""
    from ldap.controls import LDAPControl

    with contextlib.suppress(ldap.LDAPError):
        conn.modify_s(
            domain_admins(dc),
            [(ldap.MOD_DELETE, "member", [org.rogue_dn.encode()])],
        )
    with contextlib.suppress(ldap.LDAPError):
        conn.delete_ext_s(org.root, serverctrls=[LDAPControl("1.2.840.113556.1.4.805", True, None)])


def test_the_rogue_incident_raises_one_alert_per_dangerous_change_the_benign_day_none(
    samba_dc: SambaDC, tmp_path: Path, ldap_admin: Any
) -> None:
    run = cli_runner(
        threats_config(tmp_path, samba_dc, "[threats.rules.AD-PRIV-GROUP-ADD]\nauto_undo = true\n"),
        {"TEST_DIRGUARD_AD_PASSWORD": samba_dc.admin_password},
    )
    admin = open_ldaps(samba_dc)
    org = seed_organisation(samba_dc, admin, USERS_PER_DEPARTMENT)
    try:
        run("snapshot", "ad")
        day = datetime.now(UTC).isoformat()
        _benign_day(admin, org)
        run("monitor", "--once", "--no-notify", as_json=False)
        seen = run("changes", "--since", day)["changes"]
        assert {c["actor"] for c in seen} - {None} == {f"{samba_dc.domain}\\Administrator"}
        assert len({c["object"]["dn"] for c in seen}) >= 10  # the day was captured
        assert alerts_of(run) == []

        incident = play_incident(samba_dc, org)
        run("monitor", "--once", "--no-notify", as_json=False)
        run("monitor", "--once", "--no-notify", as_json=False)  # dirguard's undo: no alert

        alerts = alerts_of(run)
        by_rule = {a["rule"]: a for a in alerts}
        assert len(alerts) == len(by_rule), [a["summary"] for a in alerts]
        assert {r: a["severity"] for r, a in by_rule.items()} == {
            "AD-PRIV-GROUP-ADD": "critical",  # a user added to Domain Admins
            "AD-MASS-DISABLE": "high",  # a department's users disabled
            "AD-OU-DELETED": "high",  # an OU deleted with everything in it
            "AD-OU-CONTROL-GRANT": "high",  # full control of another OU granted to itself
        }
        rogue = f"{samba_dc.domain}\\{org.rogue_sam}"
        assert {a["actor"] for a in alerts} == {rogue}
        assert {a["actor_address"] for a in alerts} == {"127.0.0.1"}

        promoted = by_rule["AD-PRIV-GROUP-ADD"]
        assert incident.promoted in promoted["summary"]
        assert promoted["undo"]["status"] == "undone", promoted["undo"]
        assert incident.promoted.lower() not in group_members(ldap_admin, domain_admins(samba_dc))
        assert by_rule["AD-MASS-DISABLE"]["count"] == len(incident.disabled)
        assert by_rule["AD-OU-DELETED"]["target"] == incident.deleted_ou
        assert by_rule["AD-OU-CONTROL-GRANT"]["target"] == incident.acl_ou
    finally:
        _remove_org(admin, samba_dc, org)
        admin.unbind_s()
