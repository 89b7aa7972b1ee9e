"""``dirguard monitor``: backoff, recovery, clean stop and crash-resume, against the session's
real Samba AD DC (never stopped here: other tests share it; an unreachable DC is a configured
port nobody listens on, a dropped connection is one the test closes under the monitor)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ldap
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.catalog.resource_type import Partition
from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad import KIND as AD
from dirguard.providers.ad.connection import AdConnection, connect
from dirguard.providers.ad.read import dirsync_stream
from dirguard.providers.base import store_source
from dirguard.services import history as history_query
from dirguard.services.capture.capture import CaptureResult
from dirguard.services.capture.monitor import Backoff, Monitor
from dirguard.services.capture.monitor_runs import close_abandoned_runs
from dirguard.services.capture.snapshot import snapshot_domain
from dirguard.store.cursors import get_cursor, save_cursor
from dirguard.store.models import ChangeEvent, Run
from dirguard.store.runs import start_run
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config

DIRGUARD = str(Path(sys.executable).with_name("dirguard"))
WAIT_LIMIT_S = 90.0
"""Upper bound of every wait for the monitor; a bound on failure, not a timing assertion."""

Sessions = sessionmaker[Session]


def test_backoff_grows_is_capped_and_jitter_only_shortens() -> None:
    backoff = Backoff(initial=1, factor=2, cap=8, jitter=0.25)
    assert [backoff.delay(n, 0.0) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]
    for n in range(1, 7):
        full = backoff.delay(n, 0.0)
        assert full * 0.75 <= backoff.delay(n, 0.999) < full
    with pytest.raises(ValueError, match="jitter"):
        Backoff(jitter=1.5)
    with pytest.raises(ValueError, match="cap >= initial"):
        Backoff(initial=10, cap=5)


def test_a_new_monitor_closes_only_the_runs_whose_process_is_gone(store_sessions: Sessions) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # its pid now names no process
    host = socket.gethostname()
    owners: dict[str, tuple[str, dict[str, Any]]] = {
        "killed": ("a.test, b.test", {"host": host, "pid": gone.pid}),
        "alive": ("a.test", {"host": host, "pid": os.getppid()}),
        "other host": ("a.test", {"host": f"{host}-elsewhere", "pid": gone.pid}),
        "unrecorded": ("a.test", {}),
        "other domain": ("c.test", {"host": host, "pid": gone.pid}),
    }
    ids = {}
    with store_sessions.begin() as session:
        for label, (source, owner) in owners.items():
            run = start_run(session, "monitor", source)
            run.counters = {"_owner": owner} if owner else {}
            ids[label] = run.id
        start_run(session, "capture", "a.test").counters = {
            "_owner": {"host": host, "pid": gone.pid}
        }

    with store_sessions.begin() as session:
        closed = close_abandoned_runs(session, ["a.test"])
    assert closed == [ids["killed"]]
    by_id = {run.id: run for run in _runs(store_sessions, "monitor")}
    status = {label: by_id[i].status for label, i in ids.items()}
    killed = by_id[ids["killed"]]
    assert killed.finished_at is not None
    assert killed.error == (
        f"its monitor process (pid {gone.pid} on {host}) ended without closing it"
    )
    assert [r.status for r in _runs(store_sessions, "capture")] == ["running"]
    assert status == {
        "killed": "interrupted",
        "alive": "running",
        "other host": "running",
        "unrecorded": "running",
        "other domain": "running",
    }


class FakeTime:
    """The monitor's clock and wait: waiting advances the clock at once and is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


def _runs(sessions: Sessions, kind: str) -> list[Run]:
    with sessions() as session:
        return list(session.scalars(select(Run).where(Run.kind == kind).order_by(Run.id)))


def _cut(conn: AdConnection) -> None:
    """Cut the connection's TCP stream as a network failure or a DC restart would (shutting the
    socket down under libldap: the next request finds the server gone)."""
    duplicate = socket.socket(fileno=os.dup(conn.ldap.get_option(ldap.OPT_DESC)))
    duplicate.shutdown(socket.SHUT_RDWR)
    duplicate.close()


@pytest.mark.samba
def test_monitor_backs_off_while_the_dc_is_unreachable_and_survives_a_dropped_connection(
    store_sessions: Sessions,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    samba_dc: SambaDC,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    snapshot_domain(store_sessions, ad_conn, ad_domain)
    first, second = unique("bo"), unique("dr")
    samba_tool("user", "create", first, "Pa55word!" + first)
    dead = domain_config(samba_dc, port=1)  # nobody listens: a DC that is down
    attempts: list[str] = []

    def connector(domain: AdDomainConfig) -> AdConnection:
        attempts.append(domain.name)
        target = dead if len(attempts) <= 3 else domain
        return connect(target, samba_dc.admin_password, timeout=3)

    clock = FakeTime()
    seen: list[CaptureResult] = []

    def on_pass(_name: str, result: CaptureResult) -> None:
        seen.append(result)
        if len(seen) == 1:
            # The network drops the connection under the monitor; a change follows.
            state = monitor.states[ad_domain.name]
            assert state.conn is not None
            _cut(state.conn)
            samba_tool("user", "create", second, "Pa55word!" + second)
        elif result.events:
            monitor.stop.set()

    monitor = Monitor(
        sessions=store_sessions,
        domains=[ad_domain],
        connector=connector,
        interval=2,
        backoff=Backoff(initial=1, factor=2, cap=30, jitter=0.25),
        clock=clock.clock,
        wait=clock.wait,
        draw=lambda: 0.0,
        on_pass=on_pass,
        notifier=None,  # fake time: no notification may cut a wait short
    )
    with caplog.at_level("INFO", logger="dirguard.services.capture.monitor"):
        result = monitor.run()

    # Three refused connections: 1, 2, 4 s; after recovery the normal interval; the dropped
    # connection starts the backoff again at 1 s.
    assert clock.waits[:3] == [1, 2, 4]
    assert clock.waits[3] == 2 and 1 in clock.waits[4:]
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        f"DC {samba_dc.host} unreachable" in m and "retrying in 4.0 s" in m for m in messages
    )
    assert any("reachable again after 3 failed attempt(s)" in m for m in messages)
    assert all(samba_dc.admin_password not in m for m in messages)

    counts = result.domains[ad_domain.name]
    assert counts["errors"] == 4 and counts["connects"] == 2
    with store_sessions() as session:
        for name in (first, second):
            ref = history_query.find_object(session, name)
            assert [e["op"] for e in history_query.history(session, ref)] == ["create"]
    (run,) = _runs(store_sessions, "monitor")
    assert run.status == "interrupted" and run.finished_at is not None
    # one run row for the whole monitor, not one per pass; its passes' events belong to it
    assert counts["passes"] >= 2 and _runs(store_sessions, "capture") == []
    with store_sessions() as session:
        run_ids = set(session.scalars(select(ChangeEvent.run_id).distinct()))
    assert run_ids == {run.id}
    assert run.counters[ad_domain.name]["events"] == counts["events"] >= 2


# ---- the command, as an operator runs it -------------------------------------------------


def _config(tmp_path: Path, dc: SambaDC, port: int | None = None) -> Path:
    path = tmp_path / "dirguard.toml"
    audit = ", ".join(
        f'"{p}"' for p in (dc.audit_logs.directory_changes, dc.audit_logs.group_changes)
    )
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        "[[ad.domains]]\n"
        f'name = "{dc.realm.lower()}"\nservers = ["{dc.host}"]\nca_file = "{dc.ca_cert_path}"\n'
        f'bind_upn = "{dc.admin_upn}"\npassword = "env:TEST_DIRGUARD_AD_PASSWORD"\n'
        f"samba_audit_files = [{audit}]\n" + (f"port = {port}\n" if port else ""),
        encoding="utf-8",
    )
    return path


class Cli:
    def __init__(self, config: Path, dc: SambaDC, tmp_path: Path) -> None:
        self.config = config
        self.dc = dc
        self.tmp_path = tmp_path
        self.env = {**os.environ, "TEST_DIRGUARD_AD_PASSWORD": dc.admin_password}
        self.started = 0

    def invoke(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DIRGUARD, "--config", str(self.config), *args, "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )

    def run(self, *args: str) -> dict[str, Any]:
        done = self.invoke(*args)
        assert done.returncode == 0, done.stderr
        # monitor writes JSON lines (its summary last), the other commands one document
        text = done.stdout.splitlines()[-1] if args[0] == "monitor" else done.stdout
        parsed: dict[str, Any] = json.loads(text)
        return parsed

    def start_monitor(self, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        self.started += 1
        log = self.tmp_path / f"monitor{self.started}.log"
        with (
            log.open("wb") as err,
            (self.tmp_path / f"monitor{self.started}.out").open("wb") as out,
        ):
            process = subprocess.Popen(
                [DIRGUARD, "--config", str(self.config), "monitor", *args],
                env=self.env,
                stdout=out,
                stderr=err,
            )
        return process, log

    def changes(self, name: str) -> list[dict[str, Any]]:
        """The object's recorded changes; none while dirguard has not seen the object yet."""
        done = self.invoke("changes", "--object", name)
        if done.returncode == 1 and "no object" in done.stderr:
            return []
        assert done.returncode == 0, done.stderr
        found: list[dict[str, Any]] = json.loads(done.stdout)["changes"]
        return found


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


def _store(tmp_path: Path) -> Sessions:
    engine = create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    return sessionmaker(engine)


@pytest.mark.samba
def test_monitor_command_follows_changes_resumes_after_sigkill_and_stops_on_sigterm(
    samba_dc: SambaDC,
    tmp_path: Path,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    cli = Cli(_config(tmp_path, samba_dc), samba_dc, tmp_path)
    cli.run("snapshot", "ad")
    sessions = _store(tmp_path)
    source, stream = samba_dc.realm.lower(), dirsync_stream(Partition.DOMAIN)
    with sessions() as session:
        baseline_cookie = get_cursor(session, store_source(AD, source), stream)
    assert baseline_cookie is not None

    monitor, log = cli.start_monitor("--interval", "0.5", "--json")
    first = unique("mo")
    samba_tool("user", "create", first, "Pa55word!" + first)
    _wait_for(lambda: bool(cli.changes(first)), f"{first} to be captured", monitor)
    # ... with who and where, from the DC's audit trail (the monitor fills actors each pass)
    _wait_for(lambda: any(c["actor"] for c in cli.changes(first)), f"{first}'s actor", monitor)
    created = next(c for c in cli.changes(first) if c["op"] == "create")
    assert created["actor"].lower().endswith("\\administrator")
    assert created["actor_address"] == "127.0.0.1"

    # A burst of changes; the monitor is killed without warning while it goes on.
    burst = [unique(f"b{i}") for i in range(4)]
    samba_tool("user", "create", burst[0], "Pa55word!" + burst[0])
    killed = monitor.pid
    monitor.kill()
    monitor.wait(timeout=WAIT_LIMIT_S)
    for name in burst[1:]:
        samba_tool("user", "create", name, "Pa55word!" + name)
    samba_tool("user", "disable", first)

    monitor, log = cli.start_monitor("--interval", "0.5", "--json")
    _wait_for(
        lambda: (
            all(cli.changes(n) for n in burst)
            and any(c["attribute"] == "userAccountControl" for c in cli.changes(first))
        ),
        "the burst to be captured after the restart",
        monitor,
    )
    assert _stop(monitor) == 0
    stderr = log.read_text(encoding="utf-8")
    assert "received SIGTERM" in stderr
    assert samba_dc.admin_password not in stderr
    summary = json.loads((tmp_path / "monitor2.out").read_text().splitlines()[-1])["monitor"]
    assert summary["status"] == "interrupted"
    # a transient DC error is survived; each one is in the operator's log
    assert stderr.count("retrying in") == summary["domains"][source]["errors"]

    runs = _runs(sessions, "monitor")
    # the killed monitor's run was closed by the restarted one, which saw its process gone
    assert [r.status for r in runs] == ["interrupted", "interrupted"]
    assert runs[0].counters["_owner"] == {"host": socket.gethostname(), "pid": killed}
    assert runs[0].error == (
        f"its monitor process (pid {killed} on {socket.gethostname()}) ended without closing it"
    )
    assert runs[1].counters[source]["events"] == summary["domains"][source]["events"]
    assert _runs(sessions, "capture") == []  # passes add no run rows of their own

    def every_event() -> list[tuple[int, str, str | None]]:
        with sessions() as session:
            rows = session.execute(
                select(ChangeEvent.object_id, ChangeEvent.op, ChangeEvent.attribute).order_by(
                    ChangeEvent.sequence
                )
            )
            return [(r[0], r[1], r[2]) for r in rows]

    for name in (first, *burst):
        assert [c["op"] for c in cli.changes(name)].count("create") == 1, name
    events = every_event()
    assert len(events) == len(set(events)), "an event was stored twice"

    # Replay everything since the snapshot: the stored events stay as they are.
    with sessions.begin() as session:
        save_cursor(session, store_source(AD, source), stream, baseline_cookie)
    replay = cli.run("monitor", "--once")["monitor"]
    assert replay["status"] == "succeeded"
    assert replay["domains"][source]["entries"] >= len(burst) + 1
    assert replay["domains"][source]["events"] == 0
    assert every_event() == events


@pytest.mark.samba
def test_monitor_command_retries_an_unreachable_dc_and_stops_cleanly(
    samba_dc: SambaDC, tmp_path: Path
) -> None:
    cli = Cli(_config(tmp_path, samba_dc, port=1), samba_dc, tmp_path)
    monitor, log = cli.start_monitor()
    _wait_for(
        lambda: log.read_text(encoding="utf-8").count("retrying in") >= 2,
        "two retries to be logged",
        monitor,
    )
    assert _stop(monitor) == 0
    stderr = log.read_text(encoding="utf-8")
    assert (
        f"DC {samba_dc.host} unreachable (no domain controller answered: {samba_dc.host}:1: "
        "unreachable (" in stderr
    )
    assert "retrying in 2.0 s" in stderr or "retrying in 1." in stderr
    assert samba_dc.admin_password not in stderr
    (run,) = _runs(_store(tmp_path), "monitor")
    assert run.status == "interrupted"
    assert run.counters[samba_dc.realm.lower()]["errors"] >= 2

    once = subprocess.run(
        [DIRGUARD, "--config", str(cli.config), "monitor", "--once"],
        env=cli.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert once.returncode == 4 and "unreachable" in once.stderr


def test_monitor_command_rejects_bad_input(tmp_path: Path) -> None:
    config = tmp_path / "dirguard.toml"
    config.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "s.db"}"\n', encoding="utf-8")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [DIRGUARD, "--config", str(config), "monitor", *args],
            capture_output=True,
            text=True,
            check=False,
        )

    bad = run("--interval", "0")
    assert bad.returncode == 2 and "--interval" in bad.stderr and "above 0" in bad.stderr
    none = run("--once")
    assert none.returncode == 3 and "add [[ad.domains]] or [[entra.tenants]]" in none.stderr
