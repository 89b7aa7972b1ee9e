"""The rogue administrator's bad day again, with Graph misbehaving under dirguard.

The sandbox's fault injection answers 20 % of dirguard's own requests (``User-Agent:
dirguard/*``, the requests inside its ``$batch`` calls included) with 429 or 503, and expires
every delta token in the middle of the capture (armed to fire at the third request that
continues a delta round, which then answers ``410 syncStateNotFound``). The test's own setup and
the rogue's writes are not faulted: they are the world dirguard watches, not dirguard.

The day is ``rogue_day.py``'s, whole (50 users disabled, privileged-group members removed, an
owner and a secret added, a CA policy deleted with its named location, a role assignment and a
PIM eligibility deleted, the authorization policy loosened, 10 users and an M365 group deleted,
by a rogue user with a role through their own app): baseline snapshot, the day, capture,
``changes`` with actors and addresses, one ``--actor`` plan, apply, and the driver's fresh read of
every declared type compared with the one before, all under the faults. On top of it: every
change stored once (no event twice in the whole store), a capture after the apply storing the
rollback's writes and one after that storing nothing, what dirguard stored equal to a fresh
dirguard snapshot, the baseline snapshot equal to it too (``tenant_compare.py``: re-created ids
paired), and proof that the faults really struck (the storm's counters, the expiry's
continuation and the full rounds dirguard started after it).
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
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner

FAULT_RATE = 0.2
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


def test_the_bad_day_under_faults_and_a_mid_capture_410_is_captured_once_and_undone(
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
    with dirguard_faults(graph_sandbox) as faults:
        baseline = run("snapshot", "entra", "--tenant", TENANT)["snapshots"][0]
        assert baseline["objects"] > 0, baseline
        since = (utcnow() - timedelta(seconds=1)).isoformat()
        with rogue_client:
            rogue_day.play_day(rogue_client, scene)
        captured = run("capture", "entra", "--tenant", TENANT)["captures"][0]
        changes = run("changes", "--tenant", TENANT, "--since", since)["changes"]
        rogue_day.check_changes(changes, scene, rogue.upn, "127.0.0.1")
        rogue_day.undo_by_actor(run, TENANT, rogue.upn, since, scene)
        after_apply = run("capture", "entra", "--tenant", TENANT)["captures"][0]
        again = run("capture", "entra", "--tenant", TENANT)["captures"][0]
    with graph_sandbox.client() as fresh:
        rogue_day.check_restored(before, rogue_day.tenant_snapshot(fresh), scene)
    assert captured["events"] >= 80, captured
    assert after_apply["events"] > 0, "the rollback's own writes are changes to capture"
    assert again["events"] == 0, again
    store = tmp_path / "store.db"
    assert _events_stored_twice(store) == []
    now = fresh_state(graph_sandbox, tmp_path / "fresh")
    assert differences(stored_state(store), now) == [], "the store holds the tenant as it is"
    then = stored_state(store, up_to_run=baseline["run_id"])
    assert differences(then, now) == [], "the day is undone, re-created ids aside"

    [storm] = faults["storms"]
    assert storm["matched"] >= 100, storm
    share = storm["injected"] / storm["matched"]
    assert 0.12 <= share <= 0.3, f"{storm['injected']} of {storm['matched']} requests failed"
    expiry = faults["delta_expiry"]
    assert expiry["fired_on"] is not None and "/delta?" in expiry["fired_on"], expiry
    assert expiry["rounds_after"] >= 1, "dirguard answered the 410 with a full round"
