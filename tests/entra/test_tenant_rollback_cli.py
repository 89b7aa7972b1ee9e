"""The rollback verbs on an Entra tenant through the CLI, over HTTPS against the sandbox: a value
changed again since the selected change is a conflict skipped at apply unless --force; undelete
brings a deleted user back with its id; restore --at brings a group's name and members back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from dirguard.core.change_op import ChangeOp
from dirguard.services.runtime import open_runtime
from dirguard.store.column_types import utcnow
from tests.entra.helpers import (
    SECRET_ENV,
    TENANT,
    add_version,
    as_content,
    config,
    record_change,
    record_object,
    rogue_app,
    write_config,
)
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner


def _get(client: httpx.Client, path: str) -> dict[str, Any]:
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def test_conflict_force_undelete_and_restore_at(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    monkeypatch.setenv(SECRET_ENV, info.full_client_secret)
    run = cli_runner(write_config(graph_sandbox, tmp_path), {SECRET_ENV: info.full_client_secret})
    with graph_sandbox.client() as admin:
        users = _get(admin, "/users?$top=12&$select=id,displayName,jobTitle")["value"]
        titled, leaver, member = users[9], users[10], users[11]
        group = admin.post(
            "/groups",
            json={
                "displayName": "Finance approvers",
                "mailEnabled": False,
                "mailNickname": "finapprovers",
                "securityEnabled": True,
            },
        ).json()
        assert admin.post(
            f"/groups/{group['id']}/members/$ref",
            json={"@odata.id": f"{info.graph_base}/directoryObjects/{member['id']}"},
        ).is_success
    with open_runtime(config(graph_sandbox, tmp_path), "tester") as runtime:
        with runtime.sessions.begin() as session:
            stored_user = record_object(session, "entra.user", titled)
            stored_leaver = record_object(session, "entra.user", leaver)
            stored_group = record_object(
                session, "entra.group", {**group, "members": [member["id"]]}
            )
        moment = utcnow()
        with rogue_app(graph_sandbox, "helper script", ("User.ReadWrite.All",)) as app:
            assert app.patch(f"/users/{titled['id']}", json={"jobTitle": "Intruder"}).is_success
            assert app.delete(f"/users/{leaver['id']}").status_code == 204
        with graph_sandbox.client() as admin:  # someone changes it again, not yet captured
            assert admin.patch(f"/users/{titled['id']}", json={"jobTitle": "Boss"}).is_success
            assert admin.patch(f"/groups/{group['id']}", json={"displayName": "FIN"}).is_success
            assert admin.delete(f"/groups/{group['id']}/members/{member['id']}/$ref").is_success
        with runtime.sessions.begin() as session:
            record_change(
                session, stored_user, ChangeOp.MODIFY, "jobTitle", titled["jobTitle"], "Intruder"
            )
            record_change(session, stored_leaver, ChangeOp.DELETE)
            renamed = {**group, "displayName": "FIN", "members": []}
            add_version(session, stored_group, as_content("entra.group", renamed))

    changes = run("changes", "--tenant", TENANT)["changes"]
    [title_change] = [c for c in changes if c["attribute"] == "jobTitle"]
    plan = run("rollback", "plan", "--tenant", TENANT, "--event", str(title_change["sequence"]))
    applied = run("rollback", "apply", str(plan["id"]), code=1)
    [step] = applied["steps"]
    assert step["status"] == "skipped"
    assert "changed again since (now 'Boss')" in step["outcome"]
    forced = run(
        "rollback", "plan", "--tenant", TENANT, "--event", str(title_change["sequence"]), "--force"
    )
    assert run("rollback", "apply", str(forced["id"]))["status"] == "applied"

    undeleted = run("undelete", leaver["id"], "--tenant", TENANT)
    assert undeleted["status"] == "applied"

    restored = run(
        "restore", group["id"], "--tenant", TENANT, "--at", moment.isoformat(), "--apply"
    )
    assert restored["status"] == "applied", restored
    with graph_sandbox.client() as fresh:
        assert (
            _get(fresh, f"/users/{titled['id']}?$select=jobTitle")["jobTitle"]
            == (titled["jobTitle"])
        )
        assert _get(fresh, f"/users/{leaver['id']}")["id"] == leaver["id"]
        assert _get(fresh, f"/groups/{group['id']}")["displayName"] == "Finance approvers"
        members = _get(fresh, f"/groups/{group['id']}/members")["value"]
        assert [m["id"] for m in members] == [member["id"]]
