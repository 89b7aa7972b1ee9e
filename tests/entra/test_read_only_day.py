"""A monitored day in read-only mode leaves no write of dirguard's in the tenant's audit log.

dirguard runs as the sandbox's read-only application (``mode = "read-only"``, the default, no
elevation identity): a baseline snapshot, ``dirguard monitor`` over a day of another identity's
writes (titles, a group and a member, a named location made and deleted), ``changes``, a
``rollback plan`` of those writes, and an attempt to apply it, which is refused. The tenant's own
``auditLogs/directoryAudits`` — read by the full application, not by dirguard — then holds the
day's writes by that identity and none initiated by dirguard's application; a write tried with
dirguard's own token is answered 403."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from dirguard.store.column_types import utcnow
from tests.entra.conftest import TENANT, write_config
from tests.entra.test_entra_monitor import (
    DIRGUARD,
    Monitor,
    _environment,
    _stop,
    _titles,
    _wait_for,
)
from tests.fixtures.graph_sandbox import RunningSandbox

CA = "identity/conditionalAccess"


def _audits(admin: httpx.Client) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    url: str | None = "/auditLogs/directoryAudits"
    while url is not None:
        page = admin.get(url)
        assert page.status_code == 200, page.text
        found.extend(page.json()["value"])
        url = page.json().get("@odata.nextLink")
    return found


def _app_of(record: dict[str, Any]) -> str | None:
    app = (record.get("initiatedBy") or {}).get("app") or {}
    return app.get("appId")


def test_a_read_only_monitored_day_writes_nothing(
    graph_sandbox: RunningSandbox, admin: httpx.Client, tmp_path: Path
) -> None:
    info = graph_sandbox.info
    config = write_config(graph_sandbox, tmp_path)
    environment = _environment(graph_sandbox)
    monitor = Monitor(config, environment, tmp_path)
    monitor.run("snapshot", "entra")
    since = (utcnow() - timedelta(seconds=1)).isoformat()
    before = {r["id"] for r in _audits(admin)}
    process, _log = monitor.start("--tenant", TENANT, "--entra-interval", "1")
    users = [u["id"] for u in admin.get("/users", params={"$top": "5"}).json()["value"]]
    for n, user in enumerate(users):
        admin.patch(f"/users/{user}", json={"jobTitle": f"Read-only day {n}"}).raise_for_status()
    group = admin.post(
        "/groups",
        json={
            "displayName": "Read-only day",
            "mailEnabled": False,
            "mailNickname": "readonlyday",
            "securityEnabled": True,
        },
    ).json()
    admin.post(
        f"/groups/{group['id']}/members/$ref",
        json={"@odata.id": f"{info.graph_base}/directoryObjects/{users[0]}"},
    ).raise_for_status()
    location = admin.post(
        f"/{CA}/namedLocations",
        json={
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "displayName": "Read-only day range",
            "isTrusted": False,
            "ipRanges": [
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "198.51.100.0/24"}
            ],
        },
    ).json()
    admin.delete(f"/{CA}/namedLocations/{location['id']}").raise_for_status()
    store = tmp_path / "store.db"
    last = {(user, f"Read-only day {n}") for n, user in enumerate(users)}
    _wait_for(lambda: all(_titles(store)[k] for k in last), "the day's titles", process)
    assert _stop(process) == 0

    changes = monitor.run("changes", "--tenant", TENANT, "--since", since)["changes"]
    assert any(c["object"]["name"] == "Read-only day" for c in changes), changes
    writer = next(c["actor"] for c in changes if c["attribute"] == "jobTitle")
    assert writer is not None
    plan = monitor.run("rollback", "plan", "--tenant", TENANT, "--actor", writer, "--since", since)
    assert plan["steps"], plan
    refused = subprocess.run(
        [DIRGUARD, "--config", str(config), "rollback", "apply", str(plan["id"])],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "read-only mode" in refused.stderr
    assert admin.get(f"/users/{users[0]}").json()["jobTitle"] == "Read-only day 0"

    day = [r for r in _audits(admin) if r["id"] not in before]
    assert len(day) >= len(users) + 4, "the other identity's writes are in the audit log"
    assert {_app_of(r) for r in day} == {info.full_client_id}
    assert not [r for r in _audits(admin) if _app_of(r) == info.read_only_client_id]
    with graph_sandbox.client(read_only=True) as own:
        tried = own.patch(f"/users/{users[1]}", json={"jobTitle": "written by dirguard"})
    assert tried.status_code == 403, tried.text
