"""``dirguard rules`` on the sandbox tenant over HTTPS: a rule file imported, listed, dry-run
(its objects and changes, nothing written), run, dry-run again (nothing left to change),
history and export; a bad file refused naming the field (exit 3)."""

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


def _cli(config: Path, *args: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, ["--config", str(config), "rules", *args])
    try:
        return result.exit_code, json.loads(result.stdout)
    except json.JSONDecodeError:
        return result.exit_code, result.stdout + result.stderr


def test_import_dry_run_run_history_export(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, graph_sandbox.info.full_client_secret)
    config = write_config(graph_sandbox, tmp_path)
    config.write_text(
        config.read_text() + 'services = ["guardian", "administrator"]\n', encoding="utf-8"
    )
    department = f"Sales-{uuid.uuid4().hex[:6]}"
    users = list(graph_sandbox.state.users.values())[3:5]
    with graph_sandbox.client() as graph:
        for user in users:
            answer = graph.patch(f"/users/{user['id']}", json={"department": department})
            assert answer.status_code == 204, answer.text
    rule = tmp_path / "sales-titles.toml"
    rule.write_text(
        'name = "sales-titles"\n'
        'schedule = "0 * * * *"\n'
        '[scope]\ndirectory = "entra"\nsource = "sandbox"\n'
        f'[[conditions]]\nfield = "department"\ncomparison = "equals"\nvalues = ["{department}"]\n'
        '[[actions]]\ndo = "set"\nfields = { jobTitle = "Sales team" }\n',
        encoding="utf-8",
    )
    code, saved = _cli(config, "import", str(rule), "--json")
    assert code == 0, saved
    assert saved["rules"][0]["version"] == 1
    code, listed = _cli(config, "list", "--json")
    assert [r["name"] for r in listed["rules"]] == ["sales-titles"]

    code, dry = _cli(config, "dry-run", "sales-titles", "--json")
    assert code == 0, dry
    assert {o["path"] for o in dry["objects"]} == {u["id"] for u in users}
    assert dry["counts"] == {"objects": 2, "changed": 2, "unchanged": 0, "failed": 0, "changes": 2}
    edit = dry["objects"][0]["changes"][0]["edits"][0]
    assert edit["field"] == "jobTitle" and edit["after"] == ["Sales team"]
    assert all(graph_sandbox.state.users[u["id"]].get("jobTitle") != "Sales team" for u in users)

    code, ran = _cli(config, "run", "sales-titles", "--json")
    assert code == 0, ran
    assert {o["status"] for o in ran["objects"]} == {"changed"}
    assert all(graph_sandbox.state.users[u["id"]]["jobTitle"] == "Sales team" for u in users)

    code, again = _cli(config, "dry-run", "sales-titles", "--json")
    assert again["counts"]["changes"] == 0 and again["counts"]["unchanged"] == 2

    code, history = _cli(config, "history", "sales-titles", "--json")
    assert [(r["dry_run"], r["status"]) for r in history["runs"]] == [
        (True, "succeeded"),
        (False, "succeeded"),
        (True, "succeeded"),
    ]
    code, one = _cli(config, "history", "--run", str(ran["run_id"]), "--json")
    assert {o["path"] for o in one["objects"]} == {u["id"] for u in users}

    out = tmp_path / "exported.toml"
    code, _ = _cli(config, "export", "sales-titles", "-o", str(out))
    assert code == 0 and 'jobTitle = "Sales team"' in out.read_text()
    code, shown = _cli(config, "show", "sales-titles", "--json")
    assert shown["version"] == 1 and shown["schedule"] == "0 * * * *"

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[scope]\ndirectory = "entra"\nsource = "sandbox"\n')
    code, said = _cli(config, "import", str(bad))
    assert code == 3
    assert "bad.toml: rule 'bad': 'actions' must list at least one action" in said
    code, said = _cli(config, "dry-run", "nothing-here")
    assert code == 1 and "no rule 'nothing-here'" in said
