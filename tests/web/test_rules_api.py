"""``/api/v1/rules`` on the sandbox tenant over HTTPS: an administrator's token imports a TOML
rule, reads it back with its versions and its file, dry-runs it (the objects and each change,
with counts, nothing written), runs it, and reads the run history with per-object results; a
viewer reads all of that but may neither import nor dry-run nor run; a bad file is refused
naming the field; an unknown rule is 404."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dirguard.config.schema import (
    Config,
    EntraSection,
    SecretsConfig,
    StoreConfig,
    WebConfig,
)
from dirguard.services.runtime import Runtime
from dirguard.store.database import create_engine_for, session_factory, upgrade
from tests.admin.conftest import admin_tenant
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.web.conftest import WebClientFactory

SECRET = "DG_RULES_API_SANDBOX_SECRET"
TOML = "application/toml"


@pytest.fixture
def web_runtime(
    tmp_path: Path,
    graph_sandbox: RunningSandbox,
    web_settings: WebConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Runtime]:
    monkeypatch.setenv(SECRET, graph_sandbox.info.full_client_secret)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    config = Config(
        store=StoreConfig(url=url, checkpoint_file=tmp_path / "c.jsonl"),
        secrets=SecretsConfig(key_file=tmp_path / "k", store_file=tmp_path / "s.json"),
        entra=EntraSection(tenants=[admin_tenant(graph_sandbox.info, SECRET)]),
        web=web_settings,
    )
    engine = create_engine_for(url)
    upgrade(engine)
    try:
        yield Runtime(config=config, sessions=session_factory(engine), principal="dirguard")
    finally:
        engine.dispose()


def _rule_file(name: str, department: str) -> str:
    return (
        f'name = "{name}"\n'
        '[scope]\ndirectory = "entra"\nsource = "sandbox"\n'
        f'[[conditions]]\nfield = "department"\ncomparison = "equals"\nvalues = ["{department}"]\n'
        '[[actions]]\ndo = "set"\nfields = { jobTitle = "Field engineer" }\n'
    )


def _tagged(sandbox: RunningSandbox, users: list[dict[str, Any]]) -> str:
    department = f"Field-{uuid.uuid4().hex[:6]}"
    with sandbox.client() as graph:
        for user in users:
            answer = graph.patch(f"/users/{user['id']}", json={"department": department})
            assert answer.status_code == 204, answer.text
    return department


def test_import_show_dry_run_run_history(
    web_client: WebClientFactory, graph_sandbox: RunningSandbox
) -> None:
    users = list(graph_sandbox.state.users.values())[11:13]
    ids = {u["id"] for u in users}
    name = f"field-{uuid.uuid4().hex[:4]}"
    admin = web_client("administrator", token=True)
    viewer = web_client("viewer", token=True)
    text = _rule_file(name, _tagged(graph_sandbox, users))

    saved = admin.post("/api/v1/rules/import", content=text, headers={"Content-Type": TOML})
    assert saved.status_code == 200, saved.text
    assert saved.json()["name"] == name and saved.json()["version"] == 1
    assert [r["name"] for r in viewer.get("/api/v1/rules").json()["rules"]] == [name]
    shown = viewer.get(f"/api/v1/rules/{name}").json()
    assert [v["version"] for v in shown["versions"]] == [1]
    assert tomllib.loads(shown["toml"])["name"] == name
    exported = viewer.get(f"/api/v1/rules/{name}/export")
    assert exported.headers["content-type"].startswith(TOML)
    assert f'filename="{name}.toml"' in exported.headers["content-disposition"]
    assert tomllib.loads(exported.text)["actions"][0]["fields"] == {"jobTitle": "Field engineer"}

    for path in (f"/api/v1/rules/{name}/dry-run", f"/api/v1/rules/{name}/run"):
        assert viewer.post(path).status_code == 403
    refused = viewer.post("/api/v1/rules/import", content=text, headers={"Content-Type": TOML})
    assert refused.status_code == 403

    dry = admin.post(f"/api/v1/rules/{name}/dry-run")
    assert dry.status_code == 200, dry.text
    report = dry.json()
    assert report["dry_run"] is True and {o["path"] for o in report["objects"]} == ids
    assert report["counts"] == {
        "objects": 2,
        "changed": 2,
        "unchanged": 0,
        "failed": 0,
        "changes": 2,
    }
    edit = report["objects"][0]["changes"][0]["edits"][0]
    assert edit["field"] == "jobTitle" and edit["after"] == ["Field engineer"]
    assert all(graph_sandbox.state.users[i].get("jobTitle") != "Field engineer" for i in ids)

    ran = admin.post(f"/api/v1/rules/{name}/run").json()
    assert ran["status"] == "succeeded" and {o["status"] for o in ran["objects"]} == {"changed"}
    assert all(graph_sandbox.state.users[i]["jobTitle"] == "Field engineer" for i in ids)

    runs = viewer.get(f"/api/v1/rules/{name}/runs").json()["runs"]
    assert [(r["run_id"], r["dry_run"]) for r in runs] == [
        (ran["run_id"], False),
        (report["run_id"], True),
    ]
    assert runs[0]["started_by"] == "administrator-user"
    one = viewer.get(f"/api/v1/rule-runs/{ran['run_id']}").json()
    assert {(o["path"], o["status"]) for o in one["objects"]} == {(i, "changed") for i in ids}


def test_bad_files_and_unknown_rules_are_named(web_client: WebClientFactory) -> None:
    admin = web_client("administrator", token=True)
    bad = 'name = "x"\n[scope]\ndirectory = "ldap"\nsource = "s"\n[[actions]]\ndo = "set"\n'
    answer = admin.post("/api/v1/rules/import", content=bad, headers={"Content-Type": TOML})
    assert answer.status_code == 409 and "directory" in answer.text
    broken = admin.post(
        "/api/v1/rules/import", content='name = "x\n', headers={"Content-Type": TOML}
    )
    assert broken.status_code == 409, broken.text
    for path in ("/api/v1/rules/nothing", "/api/v1/rules/nothing/runs", "/api/v1/rule-runs/999"):
        assert admin.get(path).status_code == 404, path
    assert admin.post("/api/v1/rules/nothing/dry-run").status_code == 404
