"""The scheduler runs inside ``dirguard serve`` by default: a real ``dirguard serve`` process on
loopback, configured with a short ``[scheduler] tick``, finds a rule scheduled every minute due
and runs it against the sandbox tenant over HTTPS — nobody calls ``run_due`` — then stops
cleanly on SIGTERM (exit 0) with the run in the rule's history and in the process's log.

The rule is saved through a runtime whose clock is two minutes behind, so a firing time of
``* * * * *`` has passed since it was saved when the served process first looks (instead of
waiting for the next minute)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from dirguard.config.schema import Config, StoreConfig
from dirguard.services.rules.rule_store import save_rule
from dirguard.services.rules.run_report import run_details, run_history
from dirguard.services.runtime import Runtime
from dirguard.store.database import create_engine_for, session_factory, upgrade
from dirguard.store.models_rules import JobRun
from tests.entra.helpers import SECRET_ENV, SECRET_REF, TENANT
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.web.served_console import free_port, served_console


def _tenant_toml(sandbox: RunningSandbox) -> str:
    info = sandbox.info
    return (
        "[[entra.tenants]]\n"
        f'name = "{TENANT}"\ntenant_id = "{info.tenant_id}"\nclient_id = "{info.full_client_id}"\n'
        f'client_secret = "{SECRET_REF}"\nauthority = "{info.login_base}"\n'
        f'graph_url = "{info.login_base}"\nca_file = "{info.ca_file}"\nmode = "full"\n'
        'services = ["guardian", "administrator"]\n'
    )


def _store(directory: Path, clock_behind: timedelta) -> tuple[Runtime, object]:
    url = f"sqlite:///{directory / 'store.db'}"
    engine = create_engine_for(url)
    upgrade(engine)
    runtime = Runtime(
        config=Config(store=StoreConfig(url=url, checkpoint_file=directory / "c.jsonl")),
        sessions=session_factory(engine),
        principal="admin",
        clock=lambda: datetime.now(UTC) - clock_behind,
    )
    return runtime, engine


def test_serve_runs_a_scheduled_rule_on_its_own(
    graph_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    department = f"Ops-{uuid.uuid4().hex[:6]}"
    users = list(graph_sandbox.state.users.values())[5:7]
    with graph_sandbox.client() as graph:
        for user in users:
            answer = graph.patch(f"/users/{user['id']}", json={"department": department})
            assert answer.status_code == 204, answer.text
    runtime, engine = _store(tmp_path, timedelta(minutes=2))
    name = f"ops-titles-{uuid.uuid4().hex[:4]}"
    try:
        save_rule(
            runtime,
            {
                "name": name,
                "schedule": "* * * * *",
                "scope": {"directory": "entra", "source": TENANT},
                "conditions": [
                    {"field": "department", "comparison": "equals", "values": [department]}
                ],
                "actions": [{"do": "set", "fields": {"jobTitle": "Operations"}}],
            },
        )
        extra = f"[scheduler]\ntick = 0.5\n{_tenant_toml(graph_sandbox)}"
        env = {SECRET_ENV: graph_sandbox.info.full_client_secret}
        with served_console(tmp_path, free_port(), extra, env=env) as served:
            deadline = time.monotonic() + 60
            runs: list[dict[str, object]] = []
            while time.monotonic() < deadline:
                runs = [r for r in run_history(runtime, name) if r["status"] != "running"]
                if runs:
                    break
                time.sleep(0.3)
            assert runs, f"no scheduled run within 60 s: {served.log.read_text()}"
        log = served.log.read_text()
    finally:
        engine.dispose()  # type: ignore[attr-defined]

    (run,) = runs
    assert run["started_by"] == "schedule" and run["dry_run"] is False
    assert run["status"] == "succeeded", run
    details = run_details(runtime, int(run["run_id"]))  # type: ignore[call-overload]
    assert {o.path for o in details.objects} == {u["id"] for u in users}
    assert {o.status for o in details.objects} == {"changed"}
    assert all(graph_sandbox.state.users[u["id"]]["jobTitle"] == "Operations" for u in users)
    with runtime.sessions() as session:
        job = session.scalars(select(JobRun).where(JobRun.key == name)).one()
    assert job.kind == "rule" and job.status == "succeeded"
    assert f"job rule {name} succeeded (job run {job.id}" in log
    assert "scheduler: stopped" in log


@pytest.mark.parametrize("text", ["tick = 0", "tick = -1", "enabled = 'yes'", "every = 5"])
def test_a_bad_scheduler_section_is_named(text: str) -> None:
    with pytest.raises(ValueError, match="scheduler"):
        Config.model_validate({"scheduler": dict([_pair(text)])})


def _pair(text: str) -> tuple[str, object]:
    import tomllib

    ((key, value),) = tomllib.loads(text).items()
    return key, value


def test_the_scheduler_runs_in_process_by_default() -> None:
    assert Config().scheduler.enabled is True
