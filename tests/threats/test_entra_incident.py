"""The Entra half of issue 17's Done-when, on the sandbox tenant through the real Entra capture:
an ordinary help-desk and IT day raises no alert, then the rogue administrator's bad day of
``tests/entra/rogue_day.py`` raises exactly one alert per dangerous change, each with its
severity and the rogue (and the rogue's address, from the directory audit) as actor. The day
includes deleting a PIM-eligible user, whose eligibility ends with it (an unattributed removal of
a privileged role): that is the deletion's alert, not one more.

The tenant is ``rogue_day.set_up``'s, with one addition made by its administrator before the
baseline: the "Payroll export" application writes employee records back, so it holds
Directory.ReadWrite.All (an application permission) — which makes the rogue's new owner and
new secret on it the high-privilege app takeover they are.

The benign day, by the tenant's administrator (its full application) the way a help desk and
an IT team work: three password resets with "change at next sign-in", two new hires created
with a licence and put into their team's group, a member moved between ordinary groups, a guest
invited (the tenant lets admins and Guest Inviters invite), an intranet app's redirect URI
changed, one leaver disabled with the licence taken back, and one stale account deleted — below
the bulk rules' thresholds. No policy, role or privileged group is touched."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dirguard.store.column_types import utcnow
from tests.entra import rogue_day
from tests.entra.helpers import SECRET_ENV, TENANT, rogue_user, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner
from tests.threats.ad_config import alerts_of

GRAPH_APP = "00000003-0000-0000-c000-000000000000"
DIRECTORY_READWRITE_ALL = "19dbc75e-c2e2-444c-a770-ec69d8559fc7"
ok = rogue_day.ok


def _user(admin: httpx.Client, domain: str, nickname: str, name: str) -> dict[str, Any]:
    made: dict[str, Any] = ok(
        admin.post(
            "/users",
            json={
                "accountEnabled": True,
                "displayName": name,
                "mailNickname": nickname,
                "userPrincipalName": f"{nickname}@{domain}",
                "department": "Engineering",
                "usageLocation": "US",
                "passwordProfile": {"password": f"Welcome-{nickname}-2026!"},
            },
        )
    ).json()
    return made


def _group(admin: httpx.Client, name: str, nickname: str) -> dict[str, Any]:
    made: dict[str, Any] = ok(
        admin.post(
            "/groups",
            json={
                "displayName": name,
                "mailEnabled": False,
                "mailNickname": nickname,
                "securityEnabled": True,
            },
        )
    ).json()
    return made


def _free_sku(admin: httpx.Client, wanted: int) -> str:
    for sku in rogue_day.get(admin, "/subscribedSkus")["value"]:
        if sku["prepaidUnits"]["enabled"] - sku["consumedUnits"] >= wanted:
            return str(sku["skuId"])
    raise AssertionError("the sandbox tenant has no licence with free seats for the new hires")


def _licence(admin: httpx.Client, user: str, add: str | None, remove: str | None) -> None:
    ok(
        admin.post(
            f"/users/{user}/assignLicense",
            json={
                "addLicenses": [{"skuId": add, "disabledPlans": []}] if add else [],
                "removeLicenses": [remove] if remove else [],
            },
        )
    )


class Office:
    """What the benign day works on, made before the baseline."""

    def __init__(self, admin: httpx.Client, domain: str, graph_base: str) -> None:
        self.graph_base = graph_base
        self.domain = domain
        self.staff = [_user(admin, domain, f"staff{n}", f"Staff member {n}") for n in range(4)]
        self.leaver, self.stale = self.staff[2], self.staff[3]
        self.sku = _free_sku(admin, 3)
        _licence(admin, self.leaver["id"], self.sku, None)
        self.engineering = _group(admin, "Engineering", "engineering")
        self.support = _group(admin, "Support", "support")
        for member in self.staff[:2]:
            ok(admin.post(f"/groups/{self.support['id']}/members/$ref", json=self._ref(member)))
        self.intranet = ok(
            admin.post(
                "/applications",
                json={
                    "displayName": "Intranet",
                    "web": {"redirectUris": ["https://intranet.example.com/signin"]},
                },
            )
        ).json()

    def _ref(self, user: dict[str, Any]) -> dict[str, str]:
        return rogue_day.ref(self.graph_base, user["id"])

    def benign_day(self, admin: httpx.Client, scene: rogue_day.Scene) -> None:
        for user in [*scene.disabled[:2], self.staff[0]]:  # help-desk resets
            ok(
                admin.patch(
                    f"/users/{user['id']}",
                    json={
                        "passwordProfile": {
                            "password": "Monday-Reset-2026!x",
                            "forceChangePasswordNextSignIn": True,
                        }
                    },
                )
            )
        for n in range(2):  # new hires, licensed, in their team's group
            hire = _user(admin, self.domain, f"hire{n}", f"New Hire {n}")
            _licence(admin, hire["id"], self.sku, None)
            ok(admin.post(f"/groups/{self.engineering['id']}/members/$ref", json=self._ref(hire)))
        mover = self.staff[1]  # a transfer from Support to Engineering
        ok(admin.delete(f"/groups/{self.support['id']}/members/{mover['id']}/$ref"))
        ok(admin.post(f"/groups/{self.engineering['id']}/members/$ref", json=self._ref(mover)))
        ok(admin.patch(f"/users/{mover['id']}", json={"department": "Engineering"}))
        ok(
            admin.post(
                "/invitations",
                json={
                    "invitedUserEmailAddress": "auditor@partner.example",
                    "invitedUserDisplayName": "External auditor",
                    "inviteRedirectUrl": "https://myapplications.microsoft.com",
                    "sendInvitationMessage": False,
                },
            )
        )
        ok(
            admin.patch(
                f"/applications/{self.intranet['id']}",
                json={"web": {"redirectUris": ["https://intranet.example.com/auth/callback"]}},
            )
        )
        ok(admin.patch(f"/users/{self.leaver['id']}", json={"accountEnabled": False}))
        _licence(admin, self.leaver["id"], None, self.sku)
        ok(admin.delete(f"/users/{self.stale['id']}"))


def test_the_benign_day_raises_nothing_the_rogues_day_one_alert_per_dangerous_change(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    monkeypatch.setenv(SECRET_ENV, info.full_client_secret)
    domain = info.admin_user_principal_name.split("@", 1)[1]
    with graph_sandbox.client() as admin:
        rogue = rogue_day.make_rogue(admin, domain)
        scene = rogue_day.set_up(admin, info.graph_base, domain)
        office = Office(admin, domain, info.graph_base)
        ok(
            admin.patch(
                f"/applications/{scene.app['id']}",
                json={
                    "requiredResourceAccess": [
                        {
                            "resourceAppId": GRAPH_APP,
                            "resourceAccess": [{"id": DIRECTORY_READWRITE_ALL, "type": "Role"}],
                        }
                    ]
                },
            )
        )
    rogue_client = rogue_user(graph_sandbox, rogue.upn, rogue.password, tool=rogue.tool)
    run = cli_runner(write_config(graph_sandbox, tmp_path), {SECRET_ENV: info.full_client_secret})
    run("snapshot", "entra", "--tenant", TENANT)

    day = (utcnow() - timedelta(seconds=1)).isoformat()
    with graph_sandbox.client() as admin:
        office.benign_day(admin, scene)
    run("capture", "entra", "--tenant", TENANT)
    seen = run("changes", "--tenant", TENANT, "--since", day)["changes"]
    kinds = {(c["op"], c["attribute"]) for c in seen}
    assert {("create", None), ("modify", "accountEnabled"), ("delete", "id")} <= kinds, kinds
    assert len({c["object"]["guid"] for c in seen}) >= 8, seen  # the day was captured
    assert rogue.upn not in {c["actor"] for c in seen}
    assert run("threats", "scan", "--since", day)["new_alerts"] == []
    assert alerts_of(run) == []

    evening = (utcnow() - timedelta(seconds=1)).isoformat()
    with rogue_client:
        rogue_day.play_day(rogue_client, scene)
    run("capture", "entra", "--tenant", TENANT)
    report = run("threats", "scan", "--since", day)  # the whole day, benign part included

    alerts = alerts_of(run)
    by_rule = {a["rule"]: a for a in alerts}
    assert len(alerts) == len(by_rule), [a["summary"] for a in alerts]
    assert {r: a["severity"] for r, a in by_rule.items()} == {
        "ENTRA-MASS-DISABLE": "high",  # 50 users disabled
        "ENTRA-ROLE-GROUP-MEMBER-REMOVED": "medium",  # the help-desk admins taken out
        "ENTRA-PRIV-APP-OWNER-ADDED": "high",  # an owner for the Directory.ReadWrite.All app
        "ENTRA-PRIV-APP-CREDENTIAL": "critical",  # ... and a secret on it
        "ENTRA-CA-DELETED": "critical",
        "ENTRA-NAMED-LOCATION-DELETED": "high",  # the location the policy blocked
        "ENTRA-PRIV-ROLE-REMOVED": "medium",  # a User Administrator, a Security Admin (PIM)
        "ENTRA-GUEST-INVITES-OPENED": "medium",  # allowInvitesFrom = everyone
        "ENTRA-MASS-DELETE": "high",  # 12 users (one PIM-eligible, one purged), an M365 group
    }
    assert sorted(report["new_alerts"]) == sorted(a["id"] for a in alerts)
    assert {a["actor"] for a in alerts} == {rogue.upn}
    assert {a["actor_address"] for a in alerts} == {"127.0.0.1"}
    counts: Callable[[str], int] = lambda rule: int(by_rule[rule]["count"])  # noqa: E731
    assert counts("ENTRA-MASS-DISABLE") == len(scene.disabled)
    assert counts("ENTRA-ROLE-GROUP-MEMBER-REMOVED") == len(scene.members)
    assert counts("ENTRA-PRIV-ROLE-REMOVED") == 2
    # the users (the PIM-eligible one and the purged one too) and the M365 group; the
    # eligibility that ends with its deleted holder is part of that deletion, not an alert
    assert counts("ENTRA-MASS-DELETE") == len(scene.deleted_users) + 3
    for single in ("ENTRA-PRIV-APP-OWNER-ADDED", "ENTRA-PRIV-APP-CREDENTIAL", "ENTRA-CA-DELETED"):
        assert counts(single) == 1, by_rule[single]
    assert "Payroll export" in by_rule["ENTRA-PRIV-APP-CREDENTIAL"]["summary"]
    assert rogue_day.POLICY_NAME in by_rule["ENTRA-CA-DELETED"]["summary"]
    assert run("threats", "scan", "--since", evening)["new_alerts"] == []  # each counted once
