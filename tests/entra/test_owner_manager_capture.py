"""Owner and manager changes, which delta does not report, are captured from the directory
audit: an owner added to an application and to a group and a user's manager set, each with
nothing else changed on the object, appear in ``dirguard changes`` with the actor who made
them; a capture after that stores nothing more."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from tests.entra.conftest import SECRET_ENV, TENANT, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner


def test_owner_and_manager_changes_are_captured_with_their_actor(
    graph_sandbox: RunningSandbox, admin: httpx.Client, tmp_path: Path
) -> None:
    info = graph_sandbox.info
    users = admin.get("/users", params={"$top": "4"}).json()["value"]
    owner, employee, boss = users[1], users[2], users[3]
    app = admin.post("/applications", json={"displayName": "Owned later"}).json()
    group = admin.post(
        "/groups",
        json={
            "displayName": "Owned group",
            "mailEnabled": False,
            "mailNickname": "owned-group",
            "securityEnabled": True,
        },
    ).json()
    run = cli_runner(
        write_config(graph_sandbox, tmp_path), {SECRET_ENV: info.read_only_client_secret}
    )
    run("snapshot", "entra", "--tenant", TENANT)
    since = datetime.now(UTC).isoformat()

    ref = {"@odata.id": f"{info.graph_base}/directoryObjects/{owner['id']}"}
    assert admin.post(f"/applications/{app['id']}/owners/$ref", json=ref).status_code == 204
    assert admin.post(f"/groups/{group['id']}/owners/$ref", json=ref).status_code == 204
    boss_ref = {"@odata.id": f"{info.graph_base}/users/{boss['id']}"}
    assert admin.put(f"/users/{employee['id']}/manager/$ref", json=boss_ref).status_code == 204
    captured = run("capture", "entra", "--tenant", TENANT)["captures"][0]
    changes = run("changes", "--tenant", TENANT, "--since", since)["changes"]
    assert captured["events"] == 3, [
        (c["object"]["type"], c["op"], c["attribute"]) for c in changes
    ]

    changes = run("changes", "--tenant", TENANT, "--since", since)["changes"]
    found = sorted((c["object"]["guid"], c["op"], c["attribute"], c["new"]) for c in changes)
    assert found == sorted(
        [
            (app["id"], "add-value", "owners", owner["id"]),
            (group["id"], "add-value", "owners", owner["id"]),
            (employee["id"], "add-value", "manager", boss["id"]),
        ]
    ), found
    actors = {c["actor"] for c in changes}
    assert len(actors) == 1 and None not in actors, actors
    again = run("capture", "entra", "--tenant", TENANT)["captures"][0]
    assert again["events"] == 0, again
