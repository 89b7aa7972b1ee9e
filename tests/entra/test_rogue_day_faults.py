"""The rogue administrator's bad day again, with Graph misbehaving under dirguard.

The sandbox's fault injection answers 20 % of dirguard's own requests (``User-Agent:
dirguard/*``, the requests inside its ``$batch`` calls included) with 429 or 503, and expires
every delta token in the middle of the capture (armed to fire at the third request that
continues a delta round, which then answers ``410 syncStateNotFound``). The test's own setup and
the rogue's writes are not faulted: they are the world dirguard watches, not dirguard.

The day is ``rogue_day.py``'s, at its full size (50 users disabled, 10 deleted, besides the
group, application, policy, location and authorization changes): baseline snapshot, the rogue's
writes, capture, ``changes`` with actors and addresses, one ``--actor`` plan, apply, the fresh read
compared with the state before, all under the faults; on top of it: every change stored once (no
event twice in the whole store), a capture after the apply storing the rollback's writes and one
after that storing nothing, and proof that the faults really struck (the storm's counters, the
expiry's continuation and the full rounds dirguard started after it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from dirguard.store.column_types import utcnow
from dirguard.store.models import ChangeEvent
from tests.entra import rogue_day
from tests.entra.helpers import SECRET_ENV, TENANT, rogue_user, write_config
from tests.entra.tenant_compare import differences, fresh_state, stored_state
from tests.fixtures.graph_sandbox import RunningSandbox, start_sandbox
from tests.rollback.accounts import cli_runner

FAULT_RATE = 0.2
DISABLED, DELETED = 50, 10
DAY_USERS = 4 + DISABLED + DELETED + 6
CONTINUATIONS_BEFORE_EXPIRY = 2
FAULTS = "/_sandbox/faults"


def _control(sandbox: RunningSandbox) -> httpx.Client:
    info = sandbox.info
    return httpx.Client(
        base_url=info.login_base,
        headers={"x-sandbox-admin-key": info.admin_key},
        verify=sandbox.tls(),
    )


@contextmanager
def dirguard_faults(
    sandbox: RunningSandbox, *, rate: float = FAULT_RATE, seed: int = 18
) -> Iterator[dict[str, Any]]:
    """While inside: ``rate`` of dirguard's Graph requests answered 429 or 503 (a short
    Retry-After, so the test does not wait long), and the delta tokens expired at the third
    continuation of a delta round. Yields a dict filled on the way out with what the sandbox
    counted (``storms`` with ``matched``/``injected``, ``delta_expiry`` with ``fired_on``)."""
    report: dict[str, Any] = {}
    with _control(sandbox) as control:
        storm = {
            "status": [429, 503],
            "rate": rate,
            "duration_seconds": 3600,
            "path_pattern": "/*",
            "user_agent": "dirguard/*",
            "retry_after": 0.05,
            "seed": seed,
        }
        assert control.post(FAULTS, json=storm).status_code == 201
        armed = control.post(
            f"{FAULTS}/delta-token-expiry", json={"after_pages": CONTINUATIONS_BEFORE_EXPIRY}
        )
        assert armed.status_code == 201, armed.text
        try:
            yield report
        finally:
            report.update(control.get(FAULTS).json())
            assert control.delete(FAULTS).status_code == 204


def _events_stored_twice(store: Path) -> list[tuple[Any, ...]]:
    sessions = sessionmaker(create_engine(f"sqlite:///{store}"))
    with sessions() as session:
        rows = session.execute(
            select(
                ChangeEvent.object_id,
                ChangeEvent.op,
                ChangeEvent.attribute,
                ChangeEvent.old_value,
                ChangeEvent.new_value,
                ChangeEvent.run_id,
            )
        )
        counted = Counter(repr(tuple(row)) for row in rows)
    return [key for key, n in counted.items() if n > 1]


@pytest.fixture(scope="module")
def graph_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A tenant big enough for the whole day: 50 users to disable and 10 to delete."""
    sandbox = start_sandbox(tmp_path_factory.mktemp("graph-sandbox"), users=DAY_USERS)
    try:
        yield RunningSandbox(info=sandbox.info, state=sandbox.state)
    finally:
        sandbox.stop()


def test_the_bad_day_under_faults_and_a_mid_capture_410_is_captured_once_and_undone(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    monkeypatch.setenv(SECRET_ENV, info.full_client_secret)
    with graph_sandbox.client() as admin:
        # the seeded tenant has a few disabled accounts: the rogue disables 50 enabled ones
        listed = rogue_day.get(admin, f"/users?$select=id,accountEnabled&$top={DAY_USERS}")
        for user in listed["value"]:
            if user.get("accountEnabled") is False:
                rogue_day.ok(admin.patch(f"/users/{user['id']}", json={"accountEnabled": True}))
        scene = rogue_day.set_up(admin, info.graph_base, disabled=DISABLED, deleted=DELETED)
    run = cli_runner(write_config(graph_sandbox, tmp_path), {SECRET_ENV: info.full_client_secret})
    rogue_upn = info.admin_user_principal_name
    rogue = rogue_user(graph_sandbox)  # its tool is registered before the day, not in it
    with dirguard_faults(graph_sandbox) as faults:
        baseline = run("snapshot", "entra", "--tenant", TENANT)["snapshots"][0]
        assert baseline["objects"] > 0, baseline
        since = (utcnow() - timedelta(seconds=1)).isoformat()
        with rogue:
            rogue_day.play_day(rogue, scene)
        captured = run("capture", "entra", "--tenant", TENANT)["captures"][0]
        changes = run("changes", "--tenant", TENANT, "--since", since)["changes"]
        rogue_day.check_changes(changes, scene, rogue_upn, "127.0.0.1")
        rogue_day.undo_by_actor(run, TENANT, rogue_upn, since, scene)
        after_apply = run("capture", "entra", "--tenant", TENANT)["captures"][0]
        again = run("capture", "entra", "--tenant", TENANT)["captures"][0]
    with graph_sandbox.client() as fresh:
        rogue_day.check_restored(fresh, scene)
    store = tmp_path / "store.db"
    now = fresh_state(graph_sandbox, tmp_path / "fresh")
    assert differences(stored_state(store), now) == [], "the store holds the tenant as it is"
    before = stored_state(store, up_to_run=baseline["run_id"])
    assert differences(before, now) == [], "the day is undone, re-created ids aside"
    assert captured["events"] >= DISABLED + DELETED, captured
    assert after_apply["events"] > 0, "the rollback's own writes are changes to capture"
    assert again["events"] == 0, again
    assert _events_stored_twice(tmp_path / "store.db") == []

    [storm] = faults["storms"]
    assert storm["matched"] >= 100, storm
    share = storm["injected"] / storm["matched"]
    assert 0.12 <= share <= 0.3, f"{storm['injected']} of {storm['matched']} requests failed"
    expiry = faults["delta_expiry"]
    assert expiry["fired_on"] is not None and "/delta?" in expiry["fired_on"], expiry
    assert expiry["rounds_after"] >= 1, "dirguard answered the 410 with a full round"
