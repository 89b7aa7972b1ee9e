"""The rogue administrator's bad day again, with Graph misbehaving under dirguard.

The sandbox's fault injection answers 20 % of dirguard's own requests (``User-Agent:
dirguard/*``, the requests inside its ``$batch`` calls included) with 429 or 503, and expires
every delta token in the middle of the capture (armed to fire at the third request that
continues a delta round, which then answers ``410 syncStateNotFound``). The test's own setup and
the rogue's writes are not faulted: they are the world dirguard watches, not dirguard.

The scenario itself — baseline snapshot, the rogue's writes, capture, ``changes`` with actors and
addresses, one ``--actor`` plan, apply, the fresh read compared with the state before — is the
one of ``test_rogue_admin_capture.py`` and runs with all its assertions; on top of it: every
change stored once (no event twice in the whole store), a capture after the apply and another
after that storing nothing new, and proof that the faults really struck (the storm's counters,
the 410 seen by dirguard).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from dirguard.store.models import ChangeEvent
from tests.entra import test_rogue_admin_capture as bad_day
from tests.entra.helpers import SECRET_ENV, TENANT, write_config
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
    graph_sandbox: RunningSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with dirguard_faults(graph_sandbox) as faults:
        bad_day.test_one_actor_plan_undoes_the_rogue_admins_bad_hour(
            graph_sandbox, tmp_path, monkeypatch
        )
        run = cli_runner(
            write_config(graph_sandbox, tmp_path),
            {SECRET_ENV: graph_sandbox.info.full_client_secret},
        )
        after_apply = run("capture", "entra", "--tenant", TENANT)["captures"][0]
        again = run("capture", "entra", "--tenant", TENANT)["captures"][0]
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
