"""``dirguard rollback approve`` and four-eyes on ``dirguard rollback apply``, through the CLI
over a real SQLite store (no directory: the plan is stored as the planner stores it, and every
refusal here comes before any connection)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.core.plan import PlanDraft, Step, Target
from dirguard.services.rollback.plan_store import save_plan
from dirguard.store.database import create_engine_for, session_factory, upgrade


def _setup(tmp_path: Path) -> tuple[Path, int]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = tmp_path / "dirguard.toml"
    config.write_text(
        f'[store]\nurl = "{url}"\n[rollback]\nfour_eyes = true\n'
        '[[ad.domains]]\nname = "corp.example.com"\nservers = ["127.0.0.1"]\nport = 1\n'
        'bind_upn = "ro@corp.example.com"\npassword = "env:UNSET_TEST_PASSWORD"\n',
        encoding="utf-8",
    )
    engine = create_engine_for(url)
    upgrade(engine)
    step = Step(
        op="set",
        target=Target(
            provider="ad", external_id="0f0f0f0f-0000-0000-0000-000000000002", label="CN=y"
        ),
        description="set description back",
        attribute="description",
        payload={"values": ["before"]},
    )
    with session_factory(engine).begin() as session:
        plan = save_plan(
            session,
            source="ad:corp.example.com",
            requested_by="alice",
            selection={"event": 1},
            force=False,
            draft=PlanDraft(steps=(step,)),
        ).id
    engine.dispose()
    return config, plan


def test_four_eyes_on_the_command_line(tmp_path: Path) -> None:
    config, plan = _setup(tmp_path)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        done = runner.invoke(app, ["--config", str(config), "rollback", *args])
        return done.exit_code, done.output

    code, output = run("apply", str(plan), "--as", "alice")
    assert code == 2 and "four-eyes" in output, output
    code, output = run("approve", str(plan), "--as", "alice")
    assert code == 2 and "another approver" in output, output
    code, output = run("approve", str(plan), "--as", "bob", "--note", "seen", "--json")
    assert code == 0, output
    assert json.loads(output)["approvals"][0]["approved_by"] == "bob"
    code, output = run("approve", str(plan), "--as", "bob")
    assert code == 1 and "already" in output, output
    code, output = run("approve", "999", "--as", "bob")
    assert code == 1 and "no restore plan 999" in output, output
