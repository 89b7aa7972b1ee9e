"""``dirguard rules dry-run|run`` of a keep-members rule on the sandbox tenant over HTTPS: a
scope that finds nobody (a mistyped department) would empty the group, so the dry run says the
plan is held, with its counts, in text and JSON (exit 1), ``run`` changes nothing, and only
``run --force`` empties the group."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dirguard.cli.app import app
from tests.entra.helpers import SECRET_ENV, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rules.sync_helpers import group_members, security_group


def _cli(config: Path, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, ["--config", str(config), "rules", *args])
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.exit_code, result.stdout + result.stderr


def test_a_held_plan_is_shown_and_only_force_carries_it_out(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, graph_sandbox.info.full_client_secret)
    config = write_config(graph_sandbox, tmp_path)
    config.write_text(
        config.read_text() + 'services = ["guardian", "administrator"]\n', encoding="utf-8"
    )
    token = uuid.uuid4().hex[:6]
    users = [u["id"] for u in list(graph_sandbox.state.users.values())[6:9]]
    group = security_group(graph_sandbox, f"Finance {token}", users)
    rule = tmp_path / "finance.toml"
    rule.write_text(
        'name = "finance-group"\n'
        '[scope]\ndirectory = "entra"\nsource = "sandbox"\n'
        '[[conditions]]\nfield = "department"\ncomparison = "equals"\n'
        f'values = ["Finanse-{token}"]\n'
        f'[[actions]]\ndo = "keep-members"\ngroup = "{group}"\n',
        encoding="utf-8",
    )
    code, saved = _cli(config, "import", str(rule), "--json")
    assert code == 0, saved

    code, dry = _cli(config, "dry-run", "finance-group", "--json")
    assert code == 1, dry
    (entry,) = dry["memberships"]
    assert entry["status"] == "held" and "empty the group" in entry["reason"]
    assert entry["counts"] == {"members": 3, "desired": 0, "add": 0, "remove": 3}
    code, text = _cli(config, "dry-run", "finance-group")
    assert code == 1 and "HELD" in text and "-3 removed" in text and "--force" in text

    code, ran = _cli(config, "run", "finance-group", "--json")
    assert code == 1 and ran["status"] == "partial"
    with graph_sandbox.client() as graph:
        assert group_members(graph, group) == set(users)

    code, forced_dry = _cli(config, "dry-run", "finance-group", "--force", "--json")
    assert code == 0 and forced_dry["memberships"][0]["status"] == "would-change"
    code, forced = _cli(config, "run", "finance-group", "--force", "--json")
    assert code == 0, forced
    assert forced["memberships"][0]["status"] == "changed"
    with graph_sandbox.client() as graph:
        assert group_members(graph, group) == set()
