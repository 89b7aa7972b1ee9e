"""A rogue administrator's bad hour in the sandbox tenant, undone by one actor plan.

The day itself is ``tests/entra/rogue_day.py``: the rogue (the tenant's Global Administrator,
signed in through the device-code flow) disables users, removes a member from a privileged group,
adds an owner and a client secret to an application, deletes a conditional access policy together
with the named location it used, loosens the authorization policy, and deletes users, the group
the policy excluded and an M365 group. ``dirguard snapshot entra`` took the state before,
``capture entra`` records the bad hour; plan and apply go through ``dirguard rollback`` over
HTTPS: the actors come from the directory audit, the plan undoes exactly the rogue's changes
(what no audit record names, such as a deleted user leaving its groups, stays unknown and out of
the plan), and a fresh read of the tenant matches the state before, but for the ids of
re-created objects — and every reference to those is fixed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from dirguard.store.column_types import utcnow
from tests.entra import rogue_day
from tests.entra.helpers import SECRET_ENV, TENANT, rogue_user, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner


def test_one_actor_plan_undoes_the_rogue_admins_bad_hour(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    monkeypatch.setenv(SECRET_ENV, info.full_client_secret)
    with graph_sandbox.client() as admin:
        scene = rogue_day.set_up(admin, info.graph_base)

    run = cli_runner(write_config(graph_sandbox, tmp_path), {SECRET_ENV: info.full_client_secret})
    baseline = run("snapshot", "entra", "--tenant", TENANT)["snapshots"][0]
    assert baseline["objects"] > 0, baseline
    start = utcnow() - timedelta(seconds=1)

    with rogue_user(graph_sandbox) as rogue:
        rogue_day.play_day(rogue, scene)
    captured = run("capture", "entra", "--tenant", TENANT)["captures"][0]
    assert captured["events"] >= 10, captured

    rogue_upn = info.admin_user_principal_name
    since = start.isoformat()
    changes = run("changes", "--tenant", TENANT, "--since", since)["changes"]
    rogue_day.check_changes(changes, scene, rogue_upn, "127.0.0.1")
    plan, _applied = rogue_day.undo_by_actor(run, TENANT, rogue_upn, since, scene)
    unknown = [c for c in changes if c["actor"] is None]
    assert plan["selection"]["unattributed_left_out"] == len(unknown)
    again = run("rollback", "apply", str(plan["id"]), code=1, as_json=False)
    assert "already applied" in again.output

    with graph_sandbox.client() as fresh:
        rogue_day.check_restored(fresh, scene)
