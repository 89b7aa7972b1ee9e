"""``dirguard monitor`` following Entra tenants: SIGKILL at random points of bursts of writes,
restarted, three rounds, loses and doubles nothing; a tenant that cannot be reached backs off on
its own while the other is captured. Against the sandbox over HTTPS, the monitor as a separate
process."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import sessionmaker

from dirguard.store.cursors import save_cursor
from dirguard.store.models import ChangeEvent, Cursor, DirectoryObject, Run
from tests.entra.conftest import SECRET_ENV, TENANT, write_config
from tests.fixtures.graph_sandbox import RunningSandbox

DIRGUARD = str(Path(sys.executable).with_name("dirguard"))
WAIT_LIMIT_S = 90.0


class Monitor:
    def __init__(self, config: Path, env: dict[str, str], directory: Path) -> None:
        self.config, self.env, self.directory, self.started = config, env, directory, 0

    def run(self, *args: str) -> Any:
        done = subprocess.run(
            [DIRGUARD, "--config", str(self.config), *args, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def start(self, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        self.started += 1
        log = self.directory / f"monitor{self.started}.err"
        with (
            log.open("wb") as err,
            (self.directory / f"monitor{self.started}.out").open("wb") as out,
        ):
            process = subprocess.Popen(
                [DIRGUARD, "--config", str(self.config), "monitor", *args, "--json"],
                env=self.env,
                stdout=out,
                stderr=err,
            )
        return process, log


def _wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"the monitor exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {WAIT_LIMIT_S:.0f} s waiting for {what}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=WAIT_LIMIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def _environment(sandbox: RunningSandbox) -> dict[str, str]:
    import os

    return {**os.environ, SECRET_ENV: sandbox.info.read_only_client_secret}


def _titles(store: Path) -> Counter[tuple[str, str]]:
    """How many times each (user id, new jobTitle) change is stored."""
    sessions = sessionmaker(create_engine(f"sqlite:///{store}"))
    with sessions() as session:
        rows = session.execute(
            select(DirectoryObject.external_id, ChangeEvent.new_value)
            .join(DirectoryObject, DirectoryObject.id == ChangeEvent.object_id)
            .where(ChangeEvent.attribute == "jobTitle")
        )
        return Counter((guid, str(value)) for guid, value in rows)


ROUNDS = 3
BURST = 24


def test_sigkill_at_random_points_of_bursts_then_restart_loses_and_doubles_nothing(
    graph_sandbox: RunningSandbox, admin: httpx.Client, tmp_path: Path
) -> None:
    """Three rounds: a burst of writes while the monitor runs, SIGKILL at a random write and a
    random moment after it (in a pass or between two), restart; each restart must capture the
    killed round's last titles before the next burst, and no change may be stored twice."""
    monitor = Monitor(write_config(graph_sandbox, tmp_path), _environment(graph_sandbox), tmp_path)
    monitor.run("snapshot", "entra")
    users = [u["id"] for u in admin.get("/users", params={"$top": "20"}).json()["value"]]
    rng = random.Random()  # noqa: S311 - where the kills land, not a secret
    store = tmp_path / "store.db"
    process, _log = monitor.start("--tenant", TENANT, "--entra-interval", "1")
    admin.patch(f"/users/{users[0]}", json={"jobTitle": "Warm-up"}).raise_for_status()
    _wait_for(lambda: bool(_titles(store)[(users[0], "Warm-up")]), "the warm-up", process)
    killed: list[int] = []
    for round_ in range(ROUNDS):
        burst = [(users[n % len(users)], f"Round {round_} burst {n}") for n in range(BURST)]
        kill_at = rng.randrange(2, BURST - 2)
        for n, (user, title) in enumerate(burst):
            admin.patch(f"/users/{user}", json={"jobTitle": title}).raise_for_status()
            if n == kill_at:
                time.sleep(rng.uniform(0.0, 1.5))  # somewhere in a pass, or between two
                killed.append(process.pid)
                process.kill()
                process.wait(timeout=WAIT_LIMIT_S)
        process, log = monitor.start("--tenant", TENANT, "--entra-interval", "1")
        # each user's last title of the round is what a capture must end with
        last = {user: title for user, title in burst}

        def captured(last: dict[str, str] = last) -> bool:
            stored = _titles(store)
            return all(stored[(user, title)] for user, title in last.items())

        _wait_for(captured, f"round {round_}'s last titles after the restart", process)
    assert _stop(process) == 0
    stored = _titles(store)
    assert max(stored.values()) == 1, f"a change was stored twice: {stored.most_common(3)}"
    sessions = sessionmaker(create_engine(f"sqlite:///{store}"))
    with sessions() as session:
        runs = list(session.scalars(select(Run).where(Run.kind == "monitor").order_by(Run.id)))
    assert [r.status for r in runs] == ["interrupted"] * (ROUNDS + 1)
    assert [r.counters["_owner"]["pid"] for r in runs[:ROUNDS]] == killed
    replay = monitor.run("capture", "entra")["captures"][0]
    assert replay["events"] == 0
    assert "client_secret" not in log.read_text(encoding="utf-8")


def test_an_unreachable_tenant_backs_off_while_the_other_is_captured(
    graph_sandbox: RunningSandbox, admin: httpx.Client, tmp_path: Path
) -> None:
    info = graph_sandbox.info
    broken = [
        "[[entra.tenants]]",
        'name = "broken"',
        f'tenant_id = "{info.tenant_id}"',
        f'client_id = "{info.read_only_client_id}"',
        f'client_secret = "env:{SECRET_ENV}"',
        'authority = "https://127.0.0.1:1"',
        'graph_url = "https://127.0.0.1:1"',
        f'ca_file = "{info.ca_file}"',
    ]
    monitor = Monitor(
        write_config(graph_sandbox, tmp_path, *broken), _environment(graph_sandbox), tmp_path
    )
    monitor.run("snapshot", "entra", "--tenant", TENANT)
    # The broken tenant had a baseline once (its cursors), and is unreachable now.
    sessions = sessionmaker(create_engine(f"sqlite:///{tmp_path / 'store.db'}"))
    with sessions.begin() as session:
        held = session.scalars(select(Cursor).where(Cursor.source == f"entra:{TENANT}")).all()
        for cursor in held:
            save_cursor(session, "entra:broken", cursor.stream, cursor.value)
    process, log = monitor.start("--entra-interval", "1")
    user = admin.get("/users", params={"$top": "2"}).json()["value"][-1]["id"]
    admin.patch(f"/users/{user}", json={"jobTitle": "Beside a broken tenant"})
    store = tmp_path / "store.db"
    _wait_for(
        lambda: bool(_titles(store)[(user, "Beside a broken tenant")]),
        "the good tenant's change to be captured",
        process,
    )
    _wait_for(
        lambda: log.read_text(encoding="utf-8").count("entra broken: pass failed") >= 2,
        "two retries of the broken tenant",
        process,
    )
    assert _stop(process) == 0
    summary = json.loads((tmp_path / "monitor1.out").read_text().splitlines()[-1])["monitor"]
    assert summary["domains"]["entra:broken"]["errors"] >= 2
    assert summary["domains"][f"entra:{TENANT}"]["errors"] == 0
    assert summary["domains"][f"entra:{TENANT}"]["events"] >= 1
    assert (
        "127.0.0.1:1" in summary["domains"]["entra:broken"]["last_error"]
        or "Unreachable" in (summary["domains"]["entra:broken"]["last_error"])
    )
