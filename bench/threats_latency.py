"""Change -> alert and change -> auto-undo verified, under ``dirguard monitor``.

    .venv/bin/python bench/threats_latency.py [--changes 50] [--interval 2.0] [--no-notify]

A fresh throwaway DC and store, a baseline snapshot, then ``dirguard monitor`` as its own
process with a site rule protecting Domain Admins membership (auto-undo on, one incident per
member, so every addition is its own alert) and a signed webhook to a local HTTP server. Each
round, at a random moment of the poll cycle, the bench adds a fresh user to Domain Admins over
LDAPS and times (1) until the webhook POST of that addition's alert arrives: the alert has left
dirguard, and (2) until the DC shows the member gone again (an LDAP read every 20 ms) and the
audit log holds the succeeded auto-undo: undone and verified. The peer, measured in the same
run on the same monitor, is the plain detection latency of a ``description`` modify (until the
store holds the change, as ``bench/ad_latency.py``): the ratios say what detection and undo add
on top of capture. Goals (issue 17): alert p95 <= 1 s, undo verified p95 <= 3 s with change
notification. Where the time goes is read from the monitor's own debug log (``-vv``): detection
(match + store the alert), notification (the webhook POST), undo planning, and the undo's apply
with its read-back and capture.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import ldap
from bench_dc import LOCK_WAIT_S, domain_config, fresh_store, say
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dirguard.providers.ad.connection import connect
from dirguard.services import history as history_query
from dirguard.services.capture.snapshot import snapshot_domain
from dirguard.store.models import AuditRecord
from dirguard.throwaway.samba_dc import SambaDC, open_ldaps, throwaway_samba_dc

T = TypeVar("T")
DIRGUARD = str(Path(sys.executable).with_name("dirguard"))
POLL_S = 0.02
GIVE_UP_S = 60.0
RULE = """
[[rule]]
id = "BENCH-PROTECT-DA"
title = "Member added to Domain Admins (protected)"
severity = "critical"
directory = "ad"
rationale = "bench"
remediation = "bench"
[rule.match]
resource_types = ["ad.group"]
ops = ["add-value"]
attributes = ["member"]
objects = ["Domain Admins"]
[rule.grouping]
by = ["value"]
[rule.auto_undo]
enabled = true
"""


class Hook(BaseHTTPRequestHandler):
    arrivals: ClassVar[dict[str, float]] = {}

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Hook.arrivals.setdefault(str(body.get("summary")), time.monotonic())
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


def write_config(dc: SambaDC, work: Path, hook: str) -> Path:
    logs = dc.audit_logs
    files = ", ".join(
        f'"{p}"' for p in (logs.directory_changes, logs.group_changes, logs.password_changes)
    )
    (work / "rules").mkdir()
    (work / "rules" / "bench.toml").write_text(RULE, encoding="utf-8")
    path = work / "dirguard.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{work / "store.db"}"\n'
        "[[ad.domains]]\n"
        f'name = "{dc.realm.lower()}"\nservers = ["{dc.host}"]\nca_file = "{dc.ca_cert_path}"\n'
        f'bind_upn = "{dc.admin_upn}"\npassword = "env:BENCH_DIRGUARD_AD_PASSWORD"\n'
        f'mode = "full"\nsamba_audit_files = [{files}]\n'
        f'[threats]\nrules_dir = "{work / "rules"}"\nexposure_interval = 0\n'
        "[threats.rules.AD-PRIV-GROUP-ADD]\nenabled = false\n"
        f'[[threats.webhooks]]\nurl = "{hook}"\nmin_severity = "critical"\n',
        encoding="utf-8",
    )
    return path


def until(check: Any, monitor: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + GIVE_UP_S
    while not check():
        if monitor.poll() is not None:
            tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise SystemExit(f"the monitor exited ({monitor.returncode}); its log ends:\n{tail}")
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what} after {GIVE_UP_S:.0f} s")
        time.sleep(POLL_S)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def undos(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return (
            session.scalar(
                select(func.count(AuditRecord.id)).where(
                    AuditRecord.action == "threats.auto-undo", AuditRecord.outcome == "succeeded"
                )
            )
            or 0
        )


STAGES = {
    "detect (match + store)": re.compile(r"1 event\(s\) matched in (\d+) ms"),
    "notify (webhook sent)": re.compile(r"notified in (\d+) ms"),
    "undo: plan": re.compile(r"undo planned in (\d+) ms"),
    "undo: apply, read back, capture": re.compile(r"applied and read back in (\d+) ms"),
}


def stages(log_text: str) -> dict[str, list[float]]:
    """The per-stage times (seconds) the monitor logged at debug level."""
    return {
        name: [int(m) / 1000 for m in pattern.findall(log_text)] for name, pattern in STAGES.items()
    }


def figures(name: str, values: list[float]) -> str:
    return (
        f"{name}: p50 {statistics.median(values):.3f} s, p95 {percentile(values, 0.95):.3f} s, "
        f"max {max(values):.3f} s"
    )


def timed_rounds(
    targets: Sequence[T],
    attack: Callable[[T], tuple[float, float]],
    modify: Callable[[int], float],
    interval: float,
    unit: str,
) -> tuple[list[float], list[float], list[float]]:
    """The first target once untimed (the monitor is up, has passed once and undone once),
    then each other one at a random moment of the pass cycle, with a peer change between:
    the alert, undo and peer latencies."""
    attack(targets[0])
    modify(-1)
    alerts, undone, peer = [], [], []
    for i, target in enumerate(targets[1:]):
        time.sleep(random.uniform(0, interval))  # noqa: S311 - a random phase
        alerted, verified = attack(target)
        alerts.append(alerted)
        undone.append(verified)
        time.sleep(random.uniform(0, interval))  # noqa: S311
        peer.append(modify(i))
        if (i + 1) % 5 == 0:
            say(f"  {i + 1} {unit}")
    return alerts, undone, peer


def print_figures(
    alerts: list[float],
    undone: list[float],
    peer: list[float],
    breakdown: dict[str, list[float]],
    goals: tuple[str, str] = ("", ""),
) -> None:
    print(figures("change -> alert webhook received", alerts) + goals[0])
    print(figures("change -> auto-undo verified", undone) + goals[1])
    print(figures("peer: change -> stored (capture only)", peer))
    for name, values in breakdown.items():
        if values:
            print("  stage " + figures(name, values))
    base = percentile(peer, 0.95)
    print(
        f"ratio p95 alert/peer {percentile(alerts, 0.95) / base:.2f}x, "
        f"undo/peer {percentile(undone, 0.95) / base:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=50, help="additions to time (50)")
    parser.add_argument("--interval", type=float, default=2.0, help="monitor --interval (2.0)")
    parser.add_argument("--no-notify", action="store_true", help="monitor --no-notify (poll only)")
    args = parser.parse_args()
    if args.changes < 1 or not 0 < args.interval <= 60:
        parser.error("give --changes >= 1 and 0 < --interval <= 60")
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_port}/alerts"
    with throwaway_samba_dc(lock_wait=LOCK_WAIT_S) as dc, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        domain = domain_config(dc)
        writer = open_ldaps(dc)
        token = uuid.uuid4().hex[:6]
        users = [f"CN=thr{token}{i},CN=Users,{dc.base_dn}" for i in range(-1, args.changes)]
        for dn in users:
            sam = dn.split(",")[0][3:]
            writer.add_s(dn, [("objectClass", [b"user"]), ("sAMAccountName", [sam.encode()])])
        sessions = fresh_store(work)
        with connect(domain, dc.admin_password) as conn:
            snapshot_domain(sessions, conn, domain)
        config = write_config(dc, work, hook)
        log = work / "monitor.log"
        env = {**os.environ, "BENCH_DIRGUARD_AD_PASSWORD": dc.admin_password}
        with log.open("wb") as err:
            monitor = subprocess.Popen(
                [
                    DIRGUARD,
                    "-vv",
                    "--config",
                    str(config),
                    "monitor",
                    "--interval",
                    str(args.interval),
                ]
                + (["--no-notify"] if args.no_notify else []),
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
            )
        da = f"CN=Domain Admins,CN=Users,{dc.base_dn}"

        def member(dn: str) -> bool:
            [(_, attrs)] = writer.search_s(da, ldap.SCOPE_BASE, "(objectClass=*)", ["member"])
            return dn.lower().encode() in {v.lower() for v in attrs.get("member", [])}

        def attack(dn: str) -> tuple[float, float]:
            done = undos(sessions)
            started = time.monotonic()
            writer.modify_s(da, [(ldap.MOD_ADD, "member", [dn.encode()])])
            until(lambda: any(dn in s for s in Hook.arrivals), monitor, log, "the webhook")
            alerted = next(t for s, t in Hook.arrivals.items() if dn in s) - started
            until(lambda: not member(dn) and undos(sessions) > done, monitor, log, "the undo")
            return alerted, time.monotonic() - started

        def modify(i: int) -> float:
            value = f"peer {token} {i}"
            started = time.monotonic()
            writer.modify_s(users[0], [(ldap.MOD_REPLACE, "description", [value.encode()])])

            def stored() -> bool:
                with sessions() as session:
                    found = history_query.changes(
                        session, object_text=users[0], attribute="description"
                    )
                return any(value in str(c["new"]) for c in found[-3:])

            until(stored, monitor, log, "the peer change")
            return time.monotonic() - started

        try:
            alerts, undone, peer = timed_rounds(users, attack, modify, args.interval, "additions")
        finally:
            monitor.terminate()
            monitor.wait(timeout=60)
            breakdown = stages(log.read_text(encoding="utf-8", errors="replace"))
            writer.unbind_s()
            server.shutdown()
    mode = "poll only (--no-notify)" if args.no_notify else "with change notification"
    print(f"monitor --interval {args.interval}, {mode}; {args.changes} Domain Admins additions")
    print_figures(alerts, undone, peer, breakdown, (" (goal p95 <= 1 s)", " (goal p95 <= 3 s)"))


if __name__ == "__main__":
    main()
