"""Detection latency: an LDAP modify until ``dirguard changes`` returns it, monitor running.

    .venv/bin/python bench/ad_latency.py [--changes 200] [--interval 2.0] [--no-notify]

A fresh throwaway DC and store: one bench user, a baseline snapshot, then ``dirguard monitor
--interval S`` as a separate process. Each change replaces the user's ``description`` with a new
value at a random moment of the poll cycle; the clock starts just before the modify is sent
and stops when the store query behind ``dirguard changes --object USER --attribute description
--json`` (:func:`dirguard.services.history.changes`) returns the new value, polled every
20 ms. Prints p50, p95 and max over the changes (goal: p95 at most 2 s), and once what the
``dirguard changes --json`` command itself takes (process start included). The monitor uses
LDAP change notification unless ``--no-notify`` is given (then the poll alone finds changes).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import ldap
from bench_dc import LOCK_WAIT_S, config_file, domain_config, fresh_store, say
from sqlalchemy.orm import Session, sessionmaker

from dirguard.providers.ad.connection import connect
from dirguard.services import history as history_query
from dirguard.services.capture.snapshot import snapshot_domain
from dirguard.throwaway.samba_dc import open_ldaps, throwaway_samba_dc

DIRGUARD = str(Path(sys.executable).with_name("dirguard"))
POLL_S = 0.02
GIVE_UP_S = 60.0


def seen(sessions: sessionmaker[Session], user: str, value: str) -> bool:
    with sessions() as session:
        found = history_query.changes(session, object_text=user, attribute="description")
    return any(value in str(change["new"]) for change in found[-3:])


def wait_seen(
    sessions: sessionmaker[Session],
    user: str,
    value: str,
    monitor: subprocess.Popen[bytes],
    log: Path,
) -> None:
    deadline = time.monotonic() + GIVE_UP_S
    while not seen(sessions, user, value):
        if monitor.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise SystemExit(f"the monitor exited ({monitor.returncode}); its log ends:\n{tail}")
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up: {value!r} not stored after {GIVE_UP_S:.0f} s")
        time.sleep(POLL_S)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=200, help="modifies to time (200)")
    parser.add_argument("--interval", type=float, default=2.0, help="monitor --interval (2.0)")
    parser.add_argument("--no-notify", action="store_true", help="monitor --no-notify (poll only)")
    args = parser.parse_args()
    if args.changes < 1 or not 0 < args.interval <= 60:
        parser.error("give --changes >= 1 and 0 < --interval <= 60")
    with throwaway_samba_dc(lock_wait=LOCK_WAIT_S) as dc, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        domain = domain_config(dc)
        user = "latencyuser"
        dn = f"CN={user},CN=Users,{dc.base_dn}"
        writer = open_ldaps(dc)
        writer.add_s(dn, [("objectClass", [b"user"]), ("sAMAccountName", [user.encode()])])
        sessions = fresh_store(work)
        with connect(domain, dc.admin_password) as conn:
            snapshot_domain(sessions, conn, domain)
        config = config_file(dc, work)
        log = work / "monitor.log"
        with log.open("wb") as err:
            monitor = subprocess.Popen(
                [DIRGUARD, "--config", str(config), "monitor", "--interval", str(args.interval)]
                + (["--no-notify"] if args.no_notify else []),
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=os.environ.copy(),
            )
        try:
            token = uuid.uuid4().hex[:8]

            def change(i: int) -> float:
                value = f"latency {token} {i}"
                started = time.monotonic()
                writer.modify_s(dn, [(ldap.MOD_REPLACE, "description", [value.encode()])])
                wait_seen(sessions, user, value, monitor, log)
                return time.monotonic() - started

            change(-1)  # the monitor is up and has passed once
            latencies = []
            for i in range(args.changes):
                time.sleep(random.uniform(0, args.interval))  # noqa: S311 - a random phase, no secret
                latencies.append(change(i))
                if (i + 1) % 50 == 0:
                    say(f"  {i + 1} changes")
            started = time.monotonic()
            subprocess.run(
                [DIRGUARD, "--config", str(config), "changes", "--object", user, "--json"],
                check=True,
                capture_output=True,
            )
            command = time.monotonic() - started
        finally:
            monitor.terminate()
            monitor.wait(timeout=60)
            writer.unbind_s()
    mode = "poll only (--no-notify)" if args.no_notify else "with change notification"
    print(
        f"monitor --interval {args.interval}, {mode}; "
        f"{args.changes} description modifies over LDAPS"
    )
    print(
        f"detection latency: p50 {statistics.median(latencies):.3f} s, "
        f"p95 {percentile(latencies, 0.95):.3f} s, max {max(latencies):.3f} s, "
        f"mean {statistics.fmean(latencies):.3f} s (goal p95 <= 2 s)"
    )
    print(f"`dirguard changes --object {user} --json` as a command: {command:.2f} s")


if __name__ == "__main__":
    main()
