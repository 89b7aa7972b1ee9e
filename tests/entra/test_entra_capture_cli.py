"""``dirguard snapshot entra``, ``capture entra``, and ``changes`` / ``history`` / ``show --at``
of Entra objects, through the CLI against the sandbox over HTTPS."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.entra.conftest import SECRET_ENV, TENANT, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner


def test_snapshot_capture_and_history_of_a_tenant(
    graph_sandbox: RunningSandbox, admin: httpx.Client, tmp_path: Path
) -> None:
    config = write_config(graph_sandbox, tmp_path)
    run = cli_runner(config, {SECRET_ENV: graph_sandbox.info.read_only_client_secret})
    snap = run("snapshot", "entra", "--tenant", TENANT)["snapshots"][0]
    assert snap["domain"] == TENANT and snap["new_objects"] > 0
    before = datetime.now(UTC).isoformat()

    user = admin.get("/users", params={"$top": "3"}).json()["value"][-1]
    admin.patch(f"/users/{user['id']}", json={"jobTitle": "Changed by the CLI test"})
    captured = run("capture", "entra")["captures"][0]
    assert captured["events"] == 1 and captured["ops"] == {"modify": 1}

    changes = run("changes", "--tenant", TENANT, "--attribute", "jobTitle")["changes"]
    assert [(c["object"]["guid"], c["old"], c["new"]) for c in changes] == [
        (user["id"], user.get("jobTitle"), "Changed by the CLI test")
    ]
    timeline = run("history", user["userPrincipalName"], "--tenant", TENANT)
    assert timeline["object"]["path"] == f"users/{user['id']}"
    assert timeline["events"][-1]["new"] == "Changed by the CLI test"
    then = run("show", f"users/{user['id']}", "--tenant", TENANT, "--at", before)
    now = run("show", user["id"], "--at", datetime.now(UTC).isoformat())
    assert then["attributes"].get("jobTitle") == (
        [user["jobTitle"]] if user.get("jobTitle") else None
    )
    assert now["attributes"]["jobTitle"] == ["Changed by the CLI test"]

    text = run("capture", "entra", "--tenant", TENANT, as_json=False).output
    assert f"{TENANT}: 0 events (no changes)" in text
    wrong = run("snapshot", "entra", "--tenant", "nope", code=1, as_json=False)
    assert "no Entra tenant 'nope' configured (configured: contoso)" in wrong.output
