"""The demo's Entra half on its own throwaway tenant (``dirguard sandbox serve`` as a child
process, over HTTPS): the rogue admin's changes captured with the rogue as actor, one plan by
actor applied, and the tenant read directly afterwards — not the demo's own verdict."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from dirguard.services.demo_entra_half import EntraHalf
from dirguard.services.demo_tenant import throwaway_tenant
from dirguard.store import database

CA = "identity/conditionalAccess"


def _get(client: httpx.Client, path: str) -> Any:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _ids(client: httpx.Client, path: str) -> list[str]:
    return sorted(item["id"] for item in _get(client, path)["value"])


def test_the_rogue_admins_tenant_changes_are_captured_and_undone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = database.create_engine_for(url)
    database.upgrade(engine)
    steps: list[str] = []
    with throwaway_tenant(60) as tenant:
        half = EntraHalf(
            tenant=tenant,
            store_url=url,
            sessions=database.session_factory(engine),
            actor="tester",
            progress=steps.append,
            users=60,
        )
        plan = half.play()
        report = half.report
        by_rogue = [c for c in report.captured if c["actor"] == report.rogue]
        assert sorted((c["op"], c["attribute"]) for c in by_rogue) == sorted(
            [("add-value", "members"), ("add-value", "passwordCredentials")]
            + [("delete", "id")] * 5  # the policy, its named location, three users
        )
        assert {c["from"] for c in by_rogue} == {"127.0.0.1"}
        targets = half._targets
        assert targets is not None
        # the deleted users leaving their groups (no audit record names anyone) are planned
        # back with the deletions: one add-link per membership the users had
        memberships = sum(len(targets.groups_of[user["id"]]) for user in targets.users)
        assert memberships > 0
        # and a licensed user's licences in a step of their own (for one created anew)
        apart = [s for s in plan.steps if s.kind == "write-apart"]
        assert {s.attribute for s in apart} == {"assignedLicenses"}
        assert len(apart) <= len(targets.users)
        assert sorted(s.kind for s in plan.steps if s.kind != "write-apart") == sorted(
            ["restore"] * 3
            + ["create"] * 2
            + ["remove-link", "remove-password"]
            + ["add-link"] * memberships
        )
        half.apply()
        with tenant.admin_client() as fresh:
            group = targets.group["id"]
            assert _ids(fresh, f"/groups/{group}/members") == targets.members
            assert targets.newcomer["id"] not in targets.members
            for user in targets.users:
                assert _get(fresh, f"/users/{user['id']}")["id"] == user["id"]
                groups = _ids(fresh, f"/users/{user['id']}/memberOf")
                assert groups == targets.groups_of[user["id"]]
            app = _get(fresh, f"/applications/{targets.app['id']}")
            assert sorted(p["keyId"] for p in app["passwordCredentials"]) == targets.secrets
            [location] = [
                item
                for item in _get(fresh, f"/{CA}/namedLocations")["value"]
                if item["displayName"] == targets.location["displayName"]
            ]
            assert location["id"] != targets.location["id"]
            assert location["ipRanges"] == targets.location["ipRanges"]
            [policy] = [
                item
                for item in _get(fresh, f"/{CA}/policies")["value"]
                if item["displayName"] == targets.policy["displayName"]
            ]
            assert policy["conditions"]["locations"]["includeLocations"] == [location["id"]]
            assert policy["conditions"]["users"] == targets.policy["conditions"]["users"]
            assert policy["state"] == "enabled"
            assert policy["grantControls"] == targets.policy["grantControls"]
        directory, pid = tenant.directory, tenant.pid
    engine.dispose()
    assert report.restored and report.status == "applied", report.checks
    assert not directory.exists(), "the tenant's directory is removed when it stops"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert any("Applying plan" in s for s in steps)
