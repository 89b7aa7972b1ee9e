"""Each connection's consent state, kept in the store, on the session's real Samba AD DC: the
account ``connect ad --mode read-only`` made is complete after ``connect validate`` (which
records it); taken out of Event Log Readers, the next periodic check records it as partial,
naming the group, the features it breaks and how to fix it (the banner's content); put back,
the next check clears it. The health of the connection says no monitor ran yet, then a running
monitor with its last pass."""

# ruff: noqa: F811

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.config.loader import load_config
from dirguard.services.capture.use_cases import MonitorRequest, monitor
from dirguard.services.connection_health import banner_states, connection_health
from dirguard.services.consent_state import check_and_record, current_states
from dirguard.services.runtime import open_runtime
from dirguard.store.audit import SELF
from dirguard.throwaway.samba_dc import SambaDC
from tests.connect.test_validate_ad import GROUP, read_only_account  # noqa: F401

pytestmark = pytest.mark.samba


def test_banner_follows_a_group_removed_and_granted_again(
    read_only_account: tuple[str, Path],
    samba_dc: SambaDC,
    samba_tool: Callable[..., str],
    tmp_path: Path,
) -> None:
    name, path = read_only_account
    store = tmp_path / "console.db"
    path.write_text(
        path.read_text(encoding="utf-8") + f'\n[store]\nurl = "sqlite:///{store}"\n',
        encoding="utf-8",
    )
    domain = samba_dc.realm.lower()
    result = CliRunner().invoke(app, ["--config", str(path), "connect", "validate", "--json"])
    assert result.exit_code == 0, result.output
    config = load_config(path).config
    with open_runtime(config, "tester") as runtime:
        [state] = current_states(runtime)
        assert (state.source, state.complete, state.checked_by) == (
            f"ad:{domain}",
            True,
            state.checked_by,
        )
        assert banner_states(runtime) == []
        [health] = connection_health(runtime)
        assert health.monitor == "never" and health.consent == state

        samba_tool("group", "removemembers", GROUP, name)
        try:
            check_and_record(runtime.acting_as(SELF))
            [partial] = banner_states(runtime)
        finally:
            samba_tool("group", "addmembers", GROUP, name)
        assert partial.checked_by == SELF and partial.partial
        [missing] = partial.missing
        assert missing.name == GROUP and missing.features
        assert name in missing.fix and GROUP in missing.fix
        assert f"dirguard connect validate --domain {domain}" in missing.fix
        assert GROUP in partial.summary()

        check_and_record(runtime.acting_as(SELF))
        assert banner_states(runtime) == []
        [state] = current_states(runtime)
        assert state.complete is True and state.checked_by == SELF


def test_health_shows_a_running_monitor_with_its_last_pass(
    samba_dc: SambaDC, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.console.helpers import dc_runtime

    with dc_runtime(tmp_path, samba_dc, monkeypatch, principal=SELF) as runtime:
        watcher = threading.Thread(
            target=monitor,
            args=(runtime, MonitorRequest(interval=0.5, notify=False)),
            daemon=True,
        )
        stopper = threading.Event()
        monkeypatch.setattr(
            "dirguard.services.capture.use_cases.stop_on_signals",
            lambda stop, *_wake: _stop_when(stop, stopper),
        )
        watcher.start()
        try:
            deadline = time.monotonic() + 60
            health = connection_health(runtime)[0]
            while time.monotonic() < deadline and None in (health.monitor_run, health.last_pass_at):
                time.sleep(0.5)
                health = connection_health(runtime)[0]
            assert health.monitor == "running"
            assert health.last_pass_at is not None and health.lag_seconds is not None
            assert health.monitor_run is not None and health.last_error is None
        finally:
            stopper.set()
            watcher.join(30)
        assert connection_health(runtime)[0].monitor == "stopped"


class _stop_when:
    """A stand-in for ``stop_on_signals`` (signals only work in the main thread): sets the
    monitor's stop event when the test's event is set."""

    def __init__(self, stop: threading.Event, trigger: threading.Event) -> None:
        self.stop, self.trigger = stop, trigger

    def __enter__(self) -> None:
        def relay() -> None:
            self.trigger.wait()
            self.stop.set()

        threading.Thread(target=relay, daemon=True).start()

    def __exit__(self, *_exc: object) -> None:
        return None
