"""The console's Overview for Entra tenants, from what the monitor records for each source:
against the sandbox over HTTPS, with the monitor running in this process (as ``dirguard serve
--monitor`` runs it), a reachable tenant shows running, its last pass, its lag and no error; an
unreachable one shows its failures and the last error; once stopped, both say stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dirguard.config.schema import Config, EntraSection
from dirguard.services.capture.use_cases import MonitorRequest, SnapshotRequest, monitor, snapshot
from dirguard.services.connection_health import ConnectionHealth, connection_health
from dirguard.services.console.roles import Principal, Role
from dirguard.services.runtime import Runtime, open_runtime
from dirguard.store.cursors import save_cursor
from dirguard.store.models import Cursor
from dirguard.web.app import create_app
from tests.entra.conftest import SECRET_ENV, TENANT, store_config, tenant_config
from tests.fixtures.graph_sandbox import RunningSandbox

BROKEN = "broken"


def _wait(check: Callable[[], bool], what: str, limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _by_name(runtime: Runtime) -> dict[str, ConnectionHealth]:
    return {h.name: h for h in connection_health(runtime)}


@pytest.fixture
def two_tenants(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Config:
    monkeypatch.setenv(SECRET_ENV, graph_sandbox.info.read_only_client_secret)
    good = tenant_config(graph_sandbox)
    broken = good.model_copy(
        update={
            "name": BROKEN,
            "authority": "https://127.0.0.1:1",
            "graph_url": "https://127.0.0.1:1",
        }
    )
    config = store_config(graph_sandbox, tmp_path)
    return config.model_copy(update={"entra": EntraSection(tenants=[good, broken])})


def test_overview_shows_each_tenants_monitor_health(two_tenants: Config) -> None:
    with open_runtime(two_tenants, "tester") as runtime:
        snapshot(runtime, SnapshotRequest(kind="entra", domain=TENANT))
        with runtime.sessions.begin() as session:  # the broken tenant had a baseline once
            for cursor in session.query(Cursor).filter(Cursor.source == f"entra:{TENANT}"):
                save_cursor(session, f"entra:{BROKEN}", cursor.stream, cursor.value)
        before = _by_name(runtime)
        assert before[TENANT].monitor == "never" and before[BROKEN].monitor == "never"

        stop = threading.Event()
        thread = threading.Thread(
            target=monitor,
            args=(runtime, MonitorRequest(source_interval=0.5, stop=stop, detect=False)),
        )
        thread.start()
        try:
            _wait(
                lambda: (
                    _by_name(runtime)[TENANT].last_pass_at is not None
                    and _by_name(runtime)[BROKEN].errors >= 1
                ),
                "a pass of the good tenant and a failure of the broken one",
            )
            health = _by_name(runtime)
            good, bad = health[TENANT], health[BROKEN]
            assert good.kind == "entra" and good.monitor == "running" and good.monitor_run
            assert good.lag_seconds is not None and 0 <= good.lag_seconds < 60
            assert good.errors == 0 and good.last_error is None
            assert bad.monitor == "running" and bad.last_pass_at is None and bad.last_error

            app = create_app(runtime)
            viewer = Principal(name="vera", role=Role.VIEWER, method="password")
            made = app.state.web.tokens.create(
                viewer, name="t", role=Role.VIEWER, lifetime=timedelta(hours=1)
            )
            with TestClient(app, headers={"Authorization": f"Bearer {made.token}"}) as client:
                listed = {c["name"]: c for c in client.get("/api/v1/connections").json()}
                assert listed[TENANT]["monitor"] == "running"
                assert listed[TENANT]["last_pass_at"] and listed[TENANT]["errors"] == 0
                assert listed[BROKEN]["errors"] >= 1 and listed[BROKEN]["last_error"]
                page = client.get("/overview").text
                row = page[page.index(f'id="conn-entra-{TENANT}"') :]
                row = row[: row.index("</tr>")]
                assert "Entra tenant" in row and "monitor-running" in row
                assert "UTC" in row  # its last pass
                broken_row = page[page.index(f'id="conn-entra-{BROKEN}"') :]
                broken_row = broken_row[: broken_row.index("</tr>")]
                assert "never" in broken_row  # no successful pass
                assert str(bad.last_error)[:20] in broken_row.replace("&#39;", "'")
        finally:
            stop.set()
            thread.join(timeout=60)
        after = _by_name(runtime)
        assert after[TENANT].monitor == "stopped" and after[TENANT].last_pass_at is not None
