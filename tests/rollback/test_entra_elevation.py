"""Just-in-time elevation of a read-only Entra connection, against the sandbox tenant over HTTPS.

dirguard's application is the sandbox's read-only app (read permissions only); the elevation
application is the sandbox's full-access app (it may assign app roles and directory roles). A
rollback of one user property needs what the catalog says writing a user needs in full mode:
Directory.ReadWrite.All, User.DeleteRestore.All and Global Administrator. The elevation grants
them (two app role assignments, one PIM role assignment with an expiry), dirguard's writer takes
a fresh token that carries them, writes, and every grant is removed afterwards; when the apply
is SIGKILLed while elevated, the grants stay until the next start revokes them. Each grant and
removal is in dirguard's audit log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dirguard.cli.app import app
from dirguard.config.loader import load_config
from dirguard.config.schema import Config, EntraTenantConfig
from dirguard.providers.entra.graph_client import GraphError
from dirguard.services.errors import ServiceError
from dirguard.services.rollback.elevation import PAUSE_ENV
from dirguard.services.rollback.entra_access import entra_access
from dirguard.services.rollback.guarded_apply import apply_guarded
from dirguard.services.runtime import Runtime, open_runtime
from dirguard.store.models import AuditRecord
from tests.fixtures.graph_sandbox import RunningSandbox, graph_sandbox
from tests.rollback.entra_patch_writer import (
    PatchWriter,
    patch_step,
    store_patch_plan,
    writer_for,
)

__all__ = ["graph_sandbox"]

RO_SECRET = "ENTRA_ELEVATION_TEST_RO_SECRET"
ELEVATOR_SECRET = "ENTRA_ELEVATION_TEST_ELEVATOR_SECRET"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
NEEDED = ("Directory.ReadWrite.All", "User.DeleteRestore.All")
REPO = Path(__file__).resolve().parents[2]


def _config(tmp_path: Path, sandbox: RunningSandbox, *, elevation: bool = True) -> Path:
    info = sandbox.info
    elevator = (
        f'elevation_client_id = "{info.full_client_id}"\n'
        f'elevation_client_secret = "env:{ELEVATOR_SECRET}"\n'
        "elevation_minutes = 30\n"
        if elevation
        else ""
    )
    path = tmp_path / "dirguard.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        f'[secrets]\nkey_file = "{tmp_path / "secret.key"}"\n'
        f'store_file = "{tmp_path / "secrets.json"}"\n'
        "[[entra.tenants]]\n"
        f'name = "sandbox"\ntenant_id = "{info.tenant_id}"\n'
        f'client_id = "{info.read_only_client_id}"\nclient_secret = "env:{RO_SECRET}"\n'
        f'authority = "{info.login_base}"\ngraph_url = "{info.login_base}"\n'
        f'ca_file = "{info.ca_file}"\nmode = "read-only"\n{elevator}',
        encoding="utf-8",
    )
    return path


@pytest.fixture
def environment(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The secrets and a data directory of the test's own (elevation leases live there)."""
    info = graph_sandbox.info
    env = {
        RO_SECRET: info.read_only_client_secret,
        ELEVATOR_SECRET: info.full_client_secret,
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env


def _loaded(path: Path) -> tuple[Config, EntraTenantConfig]:
    config = load_config(path, require_file=True).config
    return config, config.entra.tenants[0]


def _held(sandbox: RunningSandbox) -> tuple[set[str], set[str]]:
    """(Graph application permissions, directory role ids) the read-only app holds, read by the
    full-access app (an independent reader, not dirguard)."""
    info = sandbox.info
    with sandbox.client() as graph:
        sp = graph.get(f"/servicePrincipals(appId='{info.read_only_client_id}')").json()["id"]
        resource = graph.get(f"/servicePrincipals(appId='{GRAPH_APP_ID}')").json()
        names = {r["id"]: r["value"] for r in resource["appRoles"]}
        roles = {
            names[a["appRoleId"]]
            for a in graph.get(f"/servicePrincipals/{sp}/appRoleAssignments").json()["value"]
            if a["resourceId"] == resource["id"]
        }
        directory = {
            a["roleDefinitionId"]
            for a in graph.get("/roleManagement/directory/roleAssignments").json()["value"]
            if a["principalId"] == sp
        }
    return roles, directory


def _a_user(sandbox: RunningSandbox) -> tuple[str, str]:
    with sandbox.client() as graph:
        user = graph.get("/users", params={"$top": "1"}).json()["value"][0]
    return str(user["id"]), str(user["userPrincipalName"])


def _job_title(sandbox: RunningSandbox, user_id: str) -> str | None:
    with sandbox.client() as graph:
        value = graph.get(f"/users/{user_id}", params={"$select": "jobTitle"}).json()
    return value.get("jobTitle")


def _audit(runtime: Runtime) -> list[tuple[str, str]]:
    with runtime.sessions() as session:
        rows = session.scalars(select(AuditRecord).order_by(AuditRecord.id)).all()
        return [
            (row.action, str((row.details or {}).get("group")))
            for row in rows
            if row.action.startswith("elevation.")
        ]


def _app_activities(sandbox: RunningSandbox, app_id: str) -> list[str]:
    return [
        str(entry["activityDisplayName"])
        for entry in list(sandbox.state.audits)
        if ((entry.get("initiatedBy") or {}).get("app") or {}).get("appId") == app_id
    ]


def test_read_only_apply_elevates_just_for_the_plan(
    graph_sandbox: RunningSandbox, tmp_path: Path, environment: dict[str, str]
) -> None:
    sandbox = graph_sandbox
    before_roles, before_directory = _held(sandbox)
    assert not set(NEEDED) & before_roles
    assert GLOBAL_ADMINISTRATOR not in before_directory
    user_id, upn = _a_user(sandbox)
    config, tenant = _loaded(_config(tmp_path, sandbox))
    writers: list[PatchWriter] = []

    def writer() -> PatchWriter:
        writers.append(writer_for(runtime, tenant))
        return writers[-1]

    with open_runtime(config, "alice") as runtime:
        # Read-only: dirguard's own token may not write.
        with writer() as plain, pytest.raises(GraphError) as refused:
            plain.graph.request("PATCH", f"/users/{user_id}", json={"jobTitle": "no"})
        assert refused.value.status == 403
        ro_writes = len(_app_activities(sandbox, sandbox.info.read_only_client_id))

        plan_id = store_patch_plan(
            runtime, tenant, patch_step(user_id, upn, "jobTitle", "Restored by dirguard")
        )
        result = apply_guarded(
            runtime.sessions, entra_access(runtime, tenant, writer), plan_id, requested_by="alice"
        )
        assert result.report.status == "applied", result.report
        assert len(result.elevations) == 3 and not result.problems
        audit = _audit(runtime)
    assert _job_title(sandbox, user_id) == "Restored by dirguard"

    # The first writer's token lacked the grants; the writer opened after the elevation took
    # a fresh token whose roles and wids carry them.
    first, elevated = writers[1].claims[0], writers[-1].claims[0]
    assert not set(NEEDED) & set(first.get("roles") or [])
    assert set(NEEDED) <= set(elevated["roles"])
    assert GLOBAL_ADMINISTRATOR in elevated.get("wids", [])

    # Nothing left behind in the tenant, and every grant and removal in dirguard's audit log.
    assert _held(sandbox) == (before_roles, before_directory)
    granted = {
        "Directory.ReadWrite.All",
        "User.DeleteRestore.All",
        "Global Administrator (directory role)",
    }
    assert {group for action, group in audit if action == "elevation.grant"} == granted
    assert {group for action, group in audit if action == "elevation.end"} == granted
    # The app's only writes in the tenant's audit log are the plan's, made while elevated.
    assert _app_activities(sandbox, sandbox.info.read_only_client_id)[ro_writes:] == ["Update user"]
    # The role was granted time-bound (Entra ends it by itself if dirguard cannot).
    requests = [
        r
        for r in list(sandbox.state.role_schedules.values())
        if r.get("kind") == "assignmentRequest"
        and r.get("roleDefinitionId") == GLOBAL_ADMINISTRATOR
    ]
    assert [r["action"] for r in requests[-2:]] == ["adminAssign", "adminRemove"]
    assert requests[-2]["scheduleInfo"]["expiration"]["duration"] == "PT30M"


def test_read_only_without_elevation_refuses_and_writes_nothing(
    graph_sandbox: RunningSandbox, tmp_path: Path, environment: dict[str, str]
) -> None:
    sandbox = graph_sandbox
    user_id, upn = _a_user(sandbox)
    title = _job_title(sandbox, user_id)
    config, tenant = _loaded(_config(tmp_path, sandbox, elevation=False))
    with open_runtime(config, "alice") as runtime:
        plan_id = store_patch_plan(runtime, tenant, patch_step(user_id, upn, "jobTitle", "x"))
        access = entra_access(runtime, tenant, lambda: writer_for(runtime, tenant))
        with pytest.raises(ServiceError, match=r"read-only mode.*elevation_client_id"):
            apply_guarded(runtime.sessions, access, plan_id, requested_by="alice")
    assert _job_title(sandbox, user_id) == title


def _wait_for(path: Path, child: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if child.poll() is not None:
            out, err = child.communicate()
            raise AssertionError(f"the apply ended before elevating: {out!r} {err!r}")
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError("the apply never reported its elevation")
        time.sleep(0.05)


def test_killed_apply_leaves_grants_that_the_next_start_revokes(
    graph_sandbox: RunningSandbox, tmp_path: Path, environment: dict[str, str]
) -> None:
    sandbox = graph_sandbox
    before = _held(sandbox)
    user_id, upn = _a_user(sandbox)
    path = _config(tmp_path, sandbox)
    config, tenant = _loaded(path)
    with open_runtime(config, "alice") as runtime:
        plan_id = store_patch_plan(runtime, tenant, patch_step(user_id, upn, "jobTitle", "k"))
    marker = tmp_path / "elevated.pid"
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.rollback.entra_elevation_child", str(path), str(plan_id)],
        cwd=REPO,
        env={**os.environ, **environment, PAUSE_ENV: str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(marker, child)
        assert int(marker.read_text(encoding="utf-8")) == child.pid
        roles, directory = _held(sandbox)
        assert set(NEEDED) <= roles and GLOBAL_ADMINISTRATOR in directory
        # While the apply holds its leases, a revocation leaves its elevation alone.
        alive = CliRunner().invoke(app, ["--config", str(path), "elevation", "revoke", "--json"])
        assert alive.exit_code == 0, alive.stdout + alive.stderr
        assert '"revoked": []' in alive.stdout
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout and child.stdout.close()
        child.stderr and child.stderr.close()
    assert _held(sandbox) != before, "the killed apply's grants are still in the tenant"

    revoked = CliRunner().invoke(
        app, ["--config", str(path), "elevation", "revoke", "--as", "bob", "--json"]
    )
    assert revoked.exit_code == 0, revoked.stdout + revoked.stderr
    assert _held(sandbox) == before
    assert _job_title(sandbox, user_id) != "k"
    with open_runtime(config, "alice") as runtime:
        audit = _audit(runtime)
    revokes = {group for action, group in audit if action == "elevation.revoke"}
    assert revokes == {
        "Directory.ReadWrite.All",
        "User.DeleteRestore.All",
        "Global Administrator (directory role)",
    }
    assert not [a for a, _ in audit if a == "elevation.end"]
