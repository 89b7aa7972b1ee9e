"""A rogue administrator's bad day in the sandbox tenant, undone by one actor plan.

The day itself is ``tests/entra/rogue_day.py``. The rogue is a user of their own holding the
Global Administrator role, working through their own application (device-code sign-in): 50 users
disabled, members removed from a privileged group, an owner and a client secret added to an
application, a conditional access policy deleted together with the named location it used, a
role assignment deleted, a PIM eligibility removed, the authorization policy loosened, 10 users
and an M365 group deleted. ``dirguard snapshot entra`` took the state before, ``capture entra``
records the day; ``dirguard changes`` names the rogue and the rogue's address for each change
(from the directory audit; what no audit record names, the deleted users leaving their groups,
stays unknown and out of the plan); one ``rollback plan --actor`` undoes it and a fresh read of
the whole tenant (every declared type with its links, by the test's own Graph client) differs
from the one before only in volatile fields and the ids of re-created objects, every reference
to those fixed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from dirguard.store.column_types import utcnow
from tests.entra import rogue_day
from tests.entra.helpers import SECRET_ENV, TENANT, rogue_user, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner


def test_one_actor_plan_undoes_the_rogue_admins_bad_day(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    monkeypatch.setenv(SECRET_ENV, info.full_client_secret)
    domain = info.admin_user_principal_name.split("@", 1)[1]
    with graph_sandbox.client() as admin:
        rogue = rogue_day.make_rogue(admin, domain)
        scene = rogue_day.set_up(admin, info.graph_base, domain)
    rogue_client = rogue_user(graph_sandbox, rogue.upn, rogue.password, tool=rogue.tool)
    with graph_sandbox.client() as admin:
        before = rogue_day.tenant_snapshot(admin)

    run = cli_runner(write_config(graph_sandbox, tmp_path), {SECRET_ENV: info.full_client_secret})
    baseline = run("snapshot", "entra", "--tenant", TENANT)["snapshots"][0]
    assert baseline["objects"] > 0, baseline
    start = utcnow() - timedelta(seconds=1)

    with rogue_client:
        rogue_day.play_day(rogue_client, scene)
    with graph_sandbox.client() as admin:
        during = rogue_day.tenant_snapshot(admin)
    captured = run("capture", "entra", "--tenant", TENANT)["captures"][0]
    assert captured["events"] >= 80, captured

    since = start.isoformat()
    changes = run("changes", "--tenant", TENANT, "--since", since)["changes"]
    rogue_day.check_changes(changes, scene, rogue.upn, "127.0.0.1")
    assert {c["actor"] for c in changes} == {rogue.upn, None}  # nobody else wrote meanwhile
    plan, _applied = rogue_day.undo_by_actor(run, TENANT, rogue.upn, since, scene)
    unknown = [c for c in changes if c["actor"] is None]
    consequences = plan["selection"]["deletion_consequences"]
    # the team memberships of the deleted and the purged users, the eligibility PIM ended
    assert consequences == len(scene.deleted_users) + 2, plan["selection"]["warnings"]
    assert plan["selection"].get("unattributed_left_out", 0) == len(unknown) - consequences
    again = run("rollback", "apply", str(plan["id"]), code=1, as_json=False)
    assert "already applied" in again.output

    with graph_sandbox.client() as fresh:
        after = rogue_day.tenant_snapshot(fresh)
        rogue_day.check_spots(fresh, scene)
    rogue_day.check_restored(before, after, scene)
    # the comparison sees what the rogue did: the state after the day differs from before
    assert len(rogue_day.differences(before, during)[0]) >= 60
