"""An Entra-only site: ``pip install dirguard`` without the ``ad`` extra (no python-ldap).

Everything but the AD provider itself imports without python-ldap — the capture, monitor and
rollback services, the threat detection, the web console — and the guardian's whole Entra job
runs through the CLI: baseline, a monitor pass that records a change by another identity, the
rollback plan for it, its apply, and the tenant back as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.entra.helpers import SECRET_ENV, TENANT, rogue_app, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.fixtures.no_ldap import assert_ldap_absent, blocking_ldap

DIRGUARD = Path(sys.executable).with_name("dirguard")

AD_ONLY = ("dirguard.providers.ad.", "dirguard.cli.connect_ad_cmd")
"""The modules that are python-ldap's users: the AD provider, and the ``connect ad`` command
(loaded only when it runs, which then says which extra to install — tests/test_cli_startup.py)."""

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import dirguard
failed = {}
for found in pkgutil.walk_packages(dirguard.__path__, "dirguard."):
    if found.name.endswith("__main__"):
        continue
    try:
        importlib.import_module(found.name)
    except ModuleNotFoundError as error:
        failed[found.name] = str(error)
print(json.dumps(failed))
"""


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, **blocking_ldap(tmp_path), **extra}
    assert_ldap_absent(env)
    return env


def test_everything_but_the_ad_provider_imports_without_python_ldap(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        check=True,
    )
    failed: dict[str, str] = json.loads(done.stdout)
    assert {name: why for name, why in failed.items() if not name.startswith(AD_ONLY)} == {}
    # the blocker does hide python-ldap: the AD provider's connection cannot load
    assert "dirguard.providers.ad.connection" in failed


def _dirguard(config: Path, env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [str(DIRGUARD), "--config", str(config), *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:  # the monitor: one document per line, the summary last
        return json.loads(done.stdout.splitlines()[-1])


def test_the_entra_guardian_runs_without_python_ldap(
    graph_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    config = write_config(graph_sandbox, tmp_path)
    env = _env(tmp_path, **{SECRET_ENV: graph_sandbox.info.full_client_secret})
    run = lambda *args: _dirguard(config, env, *args)  # noqa: E731

    assert run("snapshot", "entra")["snapshots"][0]["new_objects"] > 0
    with graph_sandbox.client() as admin:
        user = admin.get("/users", params={"$top": "5"}).json()["value"][-1]
    with rogue_app(graph_sandbox, "entra-only rogue", ("User.ReadWrite.All",)) as rogue:
        assert rogue.patch(f"/users/{user['id']}", json={"jobTitle": "Rogue title"}).is_success

    run("monitor", "--once")
    [change] = run("changes", "--tenant", TENANT, "--attribute", "jobTitle")["changes"]
    assert (change["object"]["guid"], change["new"]) == (user["id"], "Rogue title")
    assert change["actor"] and "entra-only rogue" in change["actor"]

    plan = run("rollback", "plan", "--tenant", TENANT, "--event", str(change["sequence"]))
    assert run("rollback", "apply", str(plan["id"]))["status"] == "applied"
    with graph_sandbox.client() as admin:
        live = admin.get(f"/users/{user['id']}", params={"$select": "jobTitle"})
    assert httpx.codes.is_success(live.status_code)
    assert live.json().get("jobTitle") == user.get("jobTitle")
