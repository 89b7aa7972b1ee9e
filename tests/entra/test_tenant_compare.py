"""Compare for an Entra tenant against the sandbox over HTTPS: the same service and console API
as for an AD domain — two recorded moments of the whole tenant, one object, and a moment against
the live tenant (a fresh read through the provider), for changes another identity made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from dirguard.services.capture.use_cases import (
    CaptureRequest,
    SnapshotRequest,
    capture,
    snapshot,
)
from dirguard.services.compare import CompareRequest, compare
from dirguard.services.console.roles import Principal, Role
from dirguard.services.errors import ServiceError
from dirguard.services.runtime import Runtime
from dirguard.web.app import create_app
from tests.entra.conftest import SECRET_ENV, TENANT, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner


def _fields(report: Any, guid: str) -> dict[str, tuple[Any, Any]]:
    (found,) = [d for d in report.differences if d.guid == guid]
    return {f.field: (f.before, f.after) for f in found.fields}


def test_two_moments_one_object_and_live_of_a_tenant(
    entra_runtime: Runtime, admin: httpx.Client
) -> None:
    snapshot(entra_runtime, SnapshotRequest(kind="entra", domain=TENANT))
    before = entra_runtime.clock()
    users = admin.get("/users", params={"$top": "3"}).json()["value"]
    changed, later = users[0], users[1]
    admin.patch(f"/users/{changed['id']}", json={"jobTitle": "Compared title"}).raise_for_status()
    capture(entra_runtime, CaptureRequest(kind="entra", domain=TENANT))
    recorded = entra_runtime.clock() + timedelta(seconds=1)

    whole = compare(entra_runtime, CompareRequest(since=before, until=recorded, tenant=TENANT))
    assert whole.domain == TENANT and whole.compared > 2
    assert [d.guid for d in whole.differences] == [changed["id"]]
    assert _fields(whole, changed["id"]) == {
        "jobTitle": ([changed["jobTitle"]] if changed.get("jobTitle") else None, ["Compared title"])
    }
    assert whole.differences[0].name == changed["userPrincipalName"]

    # Against the live tenant: what the store recorded and a change it has not captured yet.
    admin.patch(f"/users/{later['id']}", json={"department": "Not yet captured"})
    live = compare(entra_runtime, CompareRequest(since=recorded, live=True, tenant=TENANT))
    assert [d.guid for d in live.differences] == [later["id"]]
    assert _fields(live, later["id"])["department"][1] == ["Not yet captured"]
    one = compare(
        entra_runtime,
        CompareRequest(since=before, live=True, tenant=TENANT, object=changed["id"]),
    )
    assert one.compared == 1 and _fields(one, changed["id"])["jobTitle"][1] == ["Compared title"]

    with pytest.raises(ServiceError, match="OU subtree is Active Directory's"):
        compare(entra_runtime, CompareRequest(since=before, live=True, tenant=TENANT, under="x"))
    with pytest.raises(ServiceError, match="no Entra tenant 'fabrikam'"):
        compare(entra_runtime, CompareRequest(since=before, live=True, tenant="fabrikam"))

    # The console's REST API and page take the tenant as the Changes page names it.
    app = create_app(entra_runtime)
    viewer = Principal(name="vera", role=Role.VIEWER, method="password")
    made = app.state.web.tokens.create(
        viewer, name="t", role=Role.VIEWER, lifetime=timedelta(hours=1)
    )
    with TestClient(app, headers={"Authorization": f"Bearer {made.token}"}) as client:
        answer = client.get(
            "/api/v1/compare",
            params={"from": before.isoformat(), "to": recorded.isoformat(),
                    "directory": f"entra:{TENANT}"},
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["domain"] == TENANT
        assert [d["guid"] for d in body["differences"]] == [changed["id"]]
        refused = client.get(
            "/api/v1/compare",
            params={"from": before.isoformat(), "live": "true", "directory": f"entra:{TENANT}",
                    "under": "OU=x"},
        )  # fmt: skip
        assert refused.status_code >= 400 and "OU subtree" in refused.text


def test_diff_of_a_tenant_through_the_cli(graph_sandbox: RunningSandbox, tmp_path: Path) -> None:
    """``dirguard diff --tenant``: two recorded moments (exit 1 and the change listed), a moment
    against itself (exit 0), and a moment against the live tenant."""
    config = write_config(graph_sandbox, tmp_path)
    run = cli_runner(config, {SECRET_ENV: graph_sandbox.info.read_only_client_secret})
    run("snapshot", "entra", "--tenant", TENANT)
    before = datetime.now(UTC).isoformat()
    with graph_sandbox.client() as admin:
        user = admin.get("/users", params={"$top": "4"}).json()["value"][-1]
        admin.patch(f"/users/{user['id']}", json={"jobTitle": "Diffed title"}).raise_for_status()
    run("capture", "entra", "--tenant", TENANT)
    after = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()

    report = run("diff", "--tenant", TENANT, "--from", before, "--to", after, code=1)
    [difference] = report["differences"]
    assert difference["guid"] == user["id"]
    assert [f["field"] for f in difference["fields"]] == ["jobTitle"]
    assert run("diff", "--tenant", TENANT, "--from", before, "--to", before)["differences"] == []
    live = run("diff", "--tenant", TENANT, "--from", after, "--live", "--object", user["id"])
    assert live["compared"] == 1 and live["differences"] == []
    text = run("diff", "--tenant", TENANT, "--from", before, "--to", after, code=1, as_json=False)
    assert "jobTitle" in text.output and "Diffed title" in text.output
