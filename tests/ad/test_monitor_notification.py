"""``dirguard monitor`` with LDAP change notification, against the session's real Samba AD DC.

With ``--interval 3600`` the poll cannot be what stores a change made after the first pass: only
a notification can make the next pass run. ``--no-notify`` polls only."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dirguard.config.schema import AdDomainConfig
from dirguard.providers.ad.change_notification import change_notifier
from dirguard.providers.ad.connection import AdConnection, connect
from dirguard.services.capture.capture import CaptureResult
from dirguard.services.capture.monitor import Backoff, Monitor
from dirguard.services.capture.snapshot import snapshot_domain
from dirguard.throwaway.samba_dc import SambaDC
from tests.ad.conftest import domain_config
from tests.ad.test_ad_monitor import (
    DIRGUARD,
    Cli,
    Sessions,
    _config,
    _runs,
    _stop,
    _store,
    _wait_for,
)

FIRST_PASS_LINE = '"pass"'
"""A ``--json`` line of a pass that stored changes (the first pass finds the one made before)."""


def _monitor_counters(sessions: Sessions, source: str) -> dict[str, Any]:
    runs = _runs(sessions, "monitor")
    counters: dict[str, Any] = runs[-1].counters.get(source, {}) if runs else {}
    return counters


@pytest.mark.samba
def test_a_change_after_the_first_pass_is_stored_through_a_notification_not_the_poll(
    samba_dc: SambaDC,
    tmp_path: Path,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    cli = Cli(_config(tmp_path, samba_dc), samba_dc, tmp_path)
    cli.run("snapshot", "ad")
    sessions, source = _store(tmp_path), samba_dc.realm.lower()
    before, after = unique("nb"), unique("na")
    samba_tool("user", "create", before, "Pa55word!" + before)

    monitor, log = cli.start_monitor("--interval", "3600", "--json")
    out = tmp_path / "monitor1.out"
    _wait_for(lambda: FIRST_PASS_LINE in out.read_text(), "the first pass", monitor)
    _wait_for(
        lambda: _monitor_counters(sessions, source).get("notification_active") is True,
        "the change notification to be active",
        monitor,
    )
    samba_tool("user", "create", after, "Pa55word!" + after)
    _wait_for(lambda: bool(cli.changes(after)), f"{after} to be stored", monitor)
    assert _stop(monitor) == 0

    assert "create" in [c["op"] for c in cli.changes(after)]
    summary = json.loads(out.read_text().splitlines()[-1])["monitor"]
    counts = summary["domains"][source]
    # the poll is an hour away: the second pass was made because the DC reported the change
    assert counts["passes"] >= 2 and counts["notifications"] >= 1
    assert counts["notification_active"] is True
    stderr = log.read_text(encoding="utf-8")
    assert f"change notification active on {samba_dc.host}" in stderr
    assert "change notification unavailable" not in stderr
    assert samba_dc.admin_password not in stderr


@pytest.mark.samba
def test_no_notify_polls_only(
    samba_dc: SambaDC,
    tmp_path: Path,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
) -> None:
    cli = Cli(_config(tmp_path, samba_dc), samba_dc, tmp_path)
    cli.run("snapshot", "ad")
    before, after = unique("pb"), unique("pa")
    samba_tool("user", "create", before, "Pa55word!" + before)

    monitor, log = cli.start_monitor("--interval", "3600", "--no-notify", "--json")
    out = tmp_path / "monitor1.out"
    _wait_for(lambda: FIRST_PASS_LINE in out.read_text(), "the first pass", monitor)
    samba_tool("user", "create", after, "Pa55word!" + after)
    assert _stop(monitor) == 0  # SIGTERM is honoured between passes: no second pass can start

    counts = json.loads(out.read_text().splitlines()[-1])["monitor"]["domains"][
        samba_dc.realm.lower()
    ]
    assert counts["notification_active"] is False and counts["notifications"] == 0
    assert counts["passes"] == 1
    assert cli.changes(before) and cli.changes(after) == []
    assert "change notification" not in log.read_text(encoding="utf-8")


@pytest.mark.samba
def test_an_unavailable_notification_is_warned_once_and_polling_goes_on(
    store_sessions: Sessions,
    ad_conn: AdConnection,
    ad_domain: AdDomainConfig,
    samba_dc: SambaDC,
    samba_tool: Callable[..., str],
    unique: Callable[[str], str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    snapshot_domain(store_sessions, ad_conn, ad_domain)
    name = unique("nu")
    dead = domain_config(samba_dc, port=1)  # the notification's DC port is closed (a firewall)
    retried = threading.Event()

    def delay(failures: int) -> float:
        if failures >= 3:
            retried.set()
        return 0.05

    def notifier(
        domain: AdDomainConfig,
        connector: Callable[[AdDomainConfig], AdConnection],
        on_change: Callable[[], None],
        on_status: Callable[[], None],
        _delay: Callable[[int], float],
    ) -> Any:
        return change_notifier(dead, connector, on_change, on_status, delay)

    def on_pass(_name: str, result: CaptureResult) -> None:
        if result.events:
            monitor.stop.set()
        elif retried.is_set():
            samba_tool("user", "create", name, "Pa55word!" + name)

    monitor = Monitor(
        sessions=store_sessions,
        domains=[ad_domain],
        connector=lambda d: connect(d, samba_dc.admin_password, timeout=3),
        interval=0.2,
        backoff=Backoff(initial=0.05, cap=0.1),
        on_pass=on_pass,
        notifier=notifier,
    )
    with caplog.at_level(logging.DEBUG, logger="dirguard.providers.ad.change_notification"):
        result = monitor.run()

    counts = result.domains[ad_domain.name]
    assert counts["events"] >= 1 and counts["notification_active"] is False
    assert counts["notifications"] == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "change notification unavailable" in warnings[0]
    assert f"{samba_dc.host}:1" in warnings[0]
    assert samba_dc.admin_password not in warnings[0]


def test_monitor_help_offers_no_notify() -> None:
    done = subprocess.run(
        [DIRGUARD, "monitor", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},  # one line per option: nothing wrapped
    )
    assert done.returncode == 0, done.stderr
    assert "--no-notify" in done.stdout and "change notification" in done.stdout
