"""Just-in-time elevation of a read-only Entra connection, against the sandbox tenant over HTTPS.

dirguard's application is the sandbox's read-only app (read permissions only); the elevation
application is the sandbox's full-access app (it may assign app roles and directory roles).
``dirguard rollback apply`` of an Entra plan that PATCHes a user back needs User.ReadWrite.All
(the Entra step writer's rights): the elevation grants it as an app role assignment, the writer
takes a fresh token that carries it, writes, and the grant is removed afterwards; when the apply
is SIGKILLed while elevated, the grant stays until the next start revokes it (one a live apply
holds is left alone). A directory role is granted as a PIM assignment with an expiry and removed
early. Each grant and removal is in dirguard's audit log.
"""

from __future__ import annotations

import base64
import json
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
from dirguard.core.plan import PlanDraft, Step, Target
from dirguard.services.rollback import elevation
from dirguard.services.rollback.elevation import PAUSE_ENV, ElevationRequest
from dirguard.services.rollback.entra_access import entra_grants_opener
from dirguard.services.rollback.plan_store import save_plan
from dirguard.services.runtime import Runtime, open_runtime
from dirguard.store.models import AuditRecord
from tests.fixtures.graph_sandbox import RunningSandbox, graph_sandbox

__all__ = ["graph_sandbox"]

RO_SECRET = "ENTRA_ELEVATION_TEST_RO_SECRET"
ELEVATOR_SECRET = "ENTRA_ELEVATION_TEST_ELEVATOR_SECRET"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
NEEDED = "User.ReadWrite.All"
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


def _store_plan(
    runtime: Runtime,
    tenant: EntraTenantConfig,
    user_id: str,
    upn: str,
    title: str,
    before: str | None,
) -> int:
    """A stored Entra plan of one step, as the Entra planner writes it: PATCH the user's
    jobTitle (``expected``: what it holds now)."""
    step = Step(
        op="patch",
        target=Target(provider="entra", external_id=user_id, label=upn),
        attribute="jobTitle",
        description=f"set jobTitle of {upn} back to {title!r}",
        payload={"collection": "users", "body": {"jobTitle": title}},
        expected=before,
    )
    with runtime.sessions.begin() as session:
        return save_plan(
            session,
            source=f"entra:{tenant.name}",
            requested_by=runtime.principal,
            selection={"test": "elevation"},
            force=False,
            draft=PlanDraft(steps=(step,)),
        ).id


def _cli(path: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--config", str(path), *args])
    return result.exit_code, result.stdout, result.stderr


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


def _token_roles(sandbox: RunningSandbox) -> set[str]:
    """The roles claim of a token issued to the read-only app now (the sandbox issues tokens
    from the grants of the moment, as Entra does)."""
    token = sandbox.token(read_only=True)
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return set(claims.get("roles") or [])


def test_read_only_apply_elevates_just_for_the_plan(
    graph_sandbox: RunningSandbox, tmp_path: Path, environment: dict[str, str]
) -> None:
    sandbox = graph_sandbox
    before = _held(sandbox)
    assert NEEDED not in before[0] and NEEDED not in _token_roles(sandbox)
    user_id, upn = _a_user(sandbox)
    path = _config(tmp_path, sandbox)
    config, tenant = _loaded(path)
    # Read-only: dirguard's own token may not write.
    with sandbox.client(read_only=True) as plain:
        refused = plain.patch(f"/users/{user_id}", json={"jobTitle": "no"})
    assert refused.status_code == 403
    ro_writes = len(_app_activities(sandbox, sandbox.info.read_only_client_id))
    with open_runtime(config, "alice") as runtime:
        plan_id = _store_plan(
            runtime, tenant, user_id, upn, "Restored by dirguard", _job_title(sandbox, user_id)
        )
    code, out, err = _cli(path, "rollback", "check", str(plan_id), "--json")
    assert code == 0, out + err
    assert json.loads(out)["would"] == "elevate"

    code, out, err = _cli(path, "rollback", "apply", str(plan_id), "--as", "alice", "--json")
    assert code == 0, out + err
    applied = json.loads(out)
    assert len(applied["elevations"]) == 1 and not applied["elevation_problems"]
    assert _job_title(sandbox, user_id) == "Restored by dirguard"
    # The writer opened after the elevation wrote with a fresh token (the apply re-checked
    # the rights from its roles claim: "after elevation" refusals name what it lacked).
    assert applied["rights"]["ok"] is True and NEEDED in applied["rights"]["held"]

    # Nothing left behind in the tenant, and the grant and its removal in dirguard's audit log.
    assert _held(sandbox) == before
    assert NEEDED not in _token_roles(sandbox)
    with open_runtime(config, "alice") as runtime:
        audit = _audit(runtime)
    assert audit == [("elevation.grant", NEEDED), ("elevation.end", NEEDED)]
    # The app's only write in the tenant's audit log is the plan's, made while elevated.
    assert _app_activities(sandbox, sandbox.info.read_only_client_id)[ro_writes:] == ["Update user"]


def test_read_only_without_elevation_refuses_and_writes_nothing(
    graph_sandbox: RunningSandbox, tmp_path: Path, environment: dict[str, str]
) -> None:
    sandbox = graph_sandbox
    user_id, upn = _a_user(sandbox)
    title = _job_title(sandbox, user_id)
    path = _config(tmp_path, sandbox, elevation=False)
    config, tenant = _loaded(path)
    with open_runtime(config, "alice") as runtime:
        plan_id = _store_plan(runtime, tenant, user_id, upn, "x", title)
    code, out, err = _cli(path, "rollback", "apply", str(plan_id))
    assert code == 2, out + err
    assert "read-only mode" in err and "elevation_client_id" in err
    assert _job_title(sandbox, user_id) == title


def test_directory_role_is_granted_with_an_expiry_and_removed(
    graph_sandbox: RunningSandbox, tmp_path: Path, environment: dict[str, str]
) -> None:
    """The other kind of grant: a directory role, through a PIM schedule request that expires
    after elevation_minutes, in the fresh token's wids while it lasts, and removed early."""
    sandbox = graph_sandbox
    config, tenant = _loaded(_config(tmp_path, sandbox))
    request = ElevationRequest(
        source="entra:sandbox",
        account=sandbox.info.read_only_client_id,
        requested_by="alice",
        reason="test",
    )
    with open_runtime(config, "alice") as runtime:
        opener = entra_grants_opener(runtime, tenant)
        assert opener is not None
        with elevation.elevated(
            runtime.sessions, opener, request, ["Global Administrator (directory role)"]
        ) as run:
            assert GLOBAL_ADMINISTRATOR in _held(sandbox)[1]
            token = sandbox.token(read_only=True)
            payload = token.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            assert GLOBAL_ADMINISTRATOR in claims["wids"]
        assert not run.problems
        audit = _audit(runtime)
    assert GLOBAL_ADMINISTRATOR not in _held(sandbox)[1]
    group = "Global Administrator (directory role)"
    assert audit == [("elevation.grant", group), ("elevation.end", group)]
    requests = [
        r
        for r in list(sandbox.state.role_schedules.values())
        if r.get("kind") == "assignmentRequest"
        and r.get("roleDefinitionId") == GLOBAL_ADMINISTRATOR
    ]
    assert [r["action"] for r in requests[-2:]] == ["adminAssign", "adminRemove"]
    assert requests[-2]["scheduleInfo"]["expiration"]["duration"] == "PT30M"


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
    title = _job_title(sandbox, user_id)
    path = _config(tmp_path, sandbox)
    config, tenant = _loaded(path)
    with open_runtime(config, "alice") as runtime:
        plan_id = _store_plan(runtime, tenant, user_id, upn, "killed", title)
    marker = tmp_path / "elevated.pid"
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dirguard",
            "--config",
            str(path),
            "rollback",
            "apply",
            str(plan_id),
        ],
        cwd=REPO,
        env={**os.environ, **environment, PAUSE_ENV: str(marker)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(marker, child)
        assert int(marker.read_text(encoding="utf-8")) == child.pid
        assert NEEDED in _held(sandbox)[0]
        # While the apply holds its lease, a revocation leaves its elevation alone.
        code, out, err = _cli(path, "elevation", "revoke", "--json")
        assert code == 0, out + err
        assert json.loads(out)["revoked"] == []
        assert NEEDED in _held(sandbox)[0]
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert NEEDED in _held(sandbox)[0], "the killed apply's grant is still in the tenant"
    assert _job_title(sandbox, user_id) == title

    # The next start of a command that writes to the tenant revokes it first, then elevates
    # anew for its own plan and ends that elevation.
    with open_runtime(config, "alice") as runtime:
        again = _store_plan(runtime, tenant, user_id, upn, "after the restart", title)
    code, out, err = _cli(path, "rollback", "apply", str(again), "--as", "bob", "--json")
    assert code == 0, out + err
    assert "revoked pending elevation" in err and NEEDED in err
    assert _job_title(sandbox, user_id) == "after the restart"
    assert _held(sandbox) == before
    with open_runtime(config, "alice") as runtime:
        audit = _audit(runtime)
    assert [a for a, _ in audit] == [
        "elevation.grant",
        "elevation.revoke",
        "elevation.grant",
        "elevation.end",
    ]
    assert {group for _, group in audit} == {NEEDED}
    code, out, err = _cli(path, "elevation", "revoke", "--json")
    assert code == 0 and json.loads(out)["revoked"] == [], out + err
