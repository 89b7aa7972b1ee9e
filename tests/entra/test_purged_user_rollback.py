"""Undoing the deletion of a user that was then purged from deleted items, through the CLI.

The user held a licence (one service plan disabled), a team membership and a PIM eligibility
that started in the past and ends on a set date. Deleted, then purged ("Hard delete user"), it
can no longer be restored ("Restore deleted item",
https://learn.microsoft.com/graph/api/directory-deleteditems-restore: 404 once purged), so one
``rollback plan --event`` for the deletion:

- says in its warnings that the user is purged (created anew, new id, new random password) and
  that its licence cannot be re-assigned: the subscription has no free seat by then (``List
  subscribedSkus``: ``prepaidUnits.enabled`` equal to ``consumedUnits``);
- brings with the deletion what the directory undid itself, which no audit record attributes:
  the team membership and the eligibility PIM ended with the user;

and applying it creates the user anew, puts the new id in the team and in a new eligibility
keeping the recorded start and end, and fails the licence step alone with Graph's words.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.entra import rogue_day
from tests.entra.helpers import SECRET_ENV, TENANT, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner


def _moment(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_purged_user_comes_back_new_with_its_team_and_eligibility_and_a_named_seat_failure(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    monkeypatch.setenv(SECRET_ENV, info.full_client_secret)
    domain = info.admin_user_principal_name.split("@", 1)[1]
    run = cli_runner(write_config(graph_sandbox, tmp_path), {SECRET_ENV: info.full_client_secret})
    with graph_sandbox.client() as admin:
        [user] = rogue_day._day_users(admin, domain, 1)
        team = rogue_day.ok(
            admin.post(
                "/groups",
                json={
                    "displayName": "Night shift",
                    "mailEnabled": False,
                    "mailNickname": "night-shift",
                    "securityEnabled": True,
                },
            )
        ).json()
        rogue_day.ok(
            admin.post(
                f"/groups/{team['id']}/members/$ref",
                json=rogue_day.ref(info.graph_base, user["id"]),
            )
        )
        sku = rogue_day._free_sku(admin, 1)
        assert sku is not None
        plan_off = str(sku["servicePlans"][0]["servicePlanId"])
        rogue_day._license(admin, user, str(sku["skuId"]), [plan_off])
        then = {
            "startDateTime": _moment(-3),
            "expiration": {"type": "afterDateTime", "endDateTime": _moment(90)},
        }
        eligibility = rogue_day._eligibility(
            admin, user["id"], rogue_day.SECURITY_ADMINISTRATOR, then
        )
    run("snapshot", "entra", "--tenant", TENANT)
    with graph_sandbox.client() as admin:
        rogue_day.ok(admin.delete(f"/users/{user['id']}"))
        rogue_day.ok(admin.delete(f"/directory/deletedItems/{user['id']}"))
    run("capture", "entra", "--tenant", TENANT)
    # the subscription is down to the seats in use: the purged user's seat is gone
    subscribed = next(
        s for s in graph_sandbox.state.subscribed_skus.values() if s["skuId"] == sku["skuId"]
    )
    with graph_sandbox.client() as admin:
        used = rogue_day.get(admin, f"/subscribedSkus/{subscribed['id']}")["consumedUnits"]
    subscribed["prepaidUnits"]["enabled"] = used

    changes = run("changes", "--tenant", TENANT)["changes"]
    [deletion] = [c for c in changes if c["op"] == "delete" and c["object"]["type"] == "entra.user"]
    plan = run("rollback", "plan", "--tenant", TENANT, "--event", str(deletion["sequence"]))
    warnings = " ".join(plan["selection"]["warnings"])
    assert "no longer in deleted items (purged)" in warnings, warnings
    assert f"licence {sku['skuPartNumber']}" in warnings and "0 free seat(s)" in warnings, warnings
    assert plan["selection"]["deletion_consequences"] == 2, warnings  # the team, the eligibility
    kinds = sorted(s["kind"] for s in plan["steps"])
    assert kinds == ["add-link", "create", "restore", "write-apart"], kinds

    applied = run("rollback", "apply", str(plan["id"]), code=1)
    outcome: dict[str, Any] = {s["kind"]: s for s in applied["steps"]}
    assert applied["status"] == "partial", applied
    assert outcome["restore"]["status"] == "succeeded"
    assert "no longer in deleted items" in outcome["restore"]["outcome"]
    assert "new random password" in outcome["restore"]["outcome"]
    assert outcome["write-apart"]["status"] == "failed"
    assert "does not have any available licenses" in outcome["write-apart"]["outcome"]
    assert outcome["add-link"]["status"] == outcome["create"]["status"] == "succeeded"

    with graph_sandbox.client() as fresh:
        upn = user["userPrincipalName"]
        [again] = rogue_day.get(fresh, f"/users?$filter=userPrincipalName eq '{upn}'")["value"]
        assert again["id"] != user["id"]
        assert again["id"] in rogue_day.ids(fresh, f"/groups/{team['id']}/members")
        held = rogue_day.get(fresh, f"/users/{again['id']}?$select=assignedLicenses")
        assert held["assignedLicenses"] == []
        [schedule] = [
            s
            for s in rogue_day.get(fresh, f"/{rogue_day.ROLES}/roleEligibilitySchedules")["value"]
            if s["principalId"] == again["id"]
        ]
        assert schedule["id"] != eligibility["id"]
        assert schedule["roleDefinitionId"] == rogue_day.SECURITY_ADMINISTRATOR
        assert schedule["scheduleInfo"]["startDateTime"] == then["startDateTime"]
        assert schedule["scheduleInfo"]["expiration"] == eligibility["scheduleInfo"]["expiration"]

    # A seat is freed and the same deletion planned again: the user the first plan made is
    # used (not created a second time), and only the licence is left to do.
    subscribed["prepaidUnits"]["enabled"] = used + 1
    replan = run("rollback", "plan", "--tenant", TENANT, "--event", str(deletion["sequence"]))
    rewarnings = " ".join(replan["selection"]["warnings"])
    assert f"made by an earlier plan as {again['id']}" in rewarnings, rewarnings
    assert "restore" not in [s["kind"] for s in replan["steps"]], replan["steps"]
    reapplied = run("rollback", "apply", str(replan["id"]))
    assert reapplied["status"] == "applied", reapplied
    with graph_sandbox.client() as fresh:
        users = rogue_day.get(fresh, f"/users?$filter=userPrincipalName eq '{upn}'")["value"]
        assert [u["id"] for u in users] == [again["id"]], "one user, not two"
        held = rogue_day.get(fresh, f"/users/{again['id']}?$select=assignedLicenses")
        assert [str(a["skuId"]) for a in held["assignedLicenses"]] == [str(sku["skuId"])]
        schedules = rogue_day.get(fresh, f"/{rogue_day.ROLES}/roleEligibilitySchedules")["value"]
        assert [s["principalId"] for s in schedules].count(again["id"]) == 1
