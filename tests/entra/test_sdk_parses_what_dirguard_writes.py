"""Microsoft's own SDK parses every answer dirguard's Entra writer relies on, in the rogue day's
rollback.

dirguard runs in read-only mode (the sandbox's read-only app) with an elevation identity (the
full app), so the rollback goes through all of the writer's paths: the elevation granting the
write permissions to dirguard's service principal, the Entra step writer's restores, creates,
PATCHes, link and password steps and their read-backs, and the elevation's revocation. Every
``GraphClient`` dirguard opens in this process is given an httpx transport that records each
request and its answer (``sdk_answers.Recorder``); the day is ``rogue_day.py``'s, whole. Each
successful JSON answer of the apply — to a write (the object written) or a read-back — is parsed
with ``msgraph-sdk``'s model of what its path returns: the catalog's paths as for the reader,
plus the write-only paths below. A path with no model fails the test, so the table cannot fall
behind the writer."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dirguard.providers.entra import graph_client
from dirguard.store.column_types import utcnow
from tests.entra import rogue_day
from tests.entra.helpers import TENANT, rogue_user
from tests.entra.sdk_answers import Exchange, ModelTable, Recorder, model_table, parse_answers
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner

pytest.importorskip("msgraph")

RO_SECRET = "DG_SDK_WRITES_RO_SECRET"
ELEVATOR_SECRET = "DG_SDK_WRITES_ELEVATOR_SECRET"

WRITE_PATHS = [
    # a restore answers the restored object (users, groups: directoryObject's derived types)
    (r"directory/deletedItems/[^/]+/restore", "directoryObject", True),
    # elevation: the app role assignments granted to dirguard's principal (and read back), the
    # principals found by appId
    (r"servicePrincipals/[^/]+/appRoleAssignments", "appRoleAssignment", False),
    (r"servicePrincipals\(appId='[^']+'\)", "servicePrincipal", True),
    # a PIM eligibility is re-created through a schedule request (the request answers)
    (
        r"roleManagement/directory/roleEligibilityScheduleRequests",
        "unifiedRoleEligibilityScheduleRequest",
        False,
    ),
]


def _table() -> ModelTable:
    extra = [(re.compile(f"/(?:v1\\.0|beta)/{p}"), e, s) for p, e, s in WRITE_PATHS]
    return [*model_table(), *extra]


def _config(tmp_path: Path, sandbox: RunningSandbox) -> Path:
    info = sandbox.info
    path = tmp_path / "dirguard.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///{tmp_path / "store.db"}"\n'
        f'[secrets]\nkey_file = "{tmp_path / "secret.key"}"\n'
        f'store_file = "{tmp_path / "secrets.json"}"\n'
        "[[entra.tenants]]\n"
        f'name = "{TENANT}"\ntenant_id = "{info.tenant_id}"\n'
        f'client_id = "{info.read_only_client_id}"\nclient_secret = "env:{RO_SECRET}"\n'
        f'authority = "{info.login_base}"\ngraph_url = "{info.login_base}"\n'
        f'ca_file = "{info.ca_file}"\nmode = "read-only"\n'
        f'elevation_client_id = "{info.full_client_id}"\n'
        f'elevation_client_secret = "env:{ELEVATOR_SECRET}"\n'
        "elevation_minutes = 30\n",
        encoding="utf-8",
    )
    return path


def _recording(monkeypatch: pytest.MonkeyPatch, sandbox: RunningSandbox) -> Recorder:
    """Every Graph client dirguard opens from now on sends through one recorder."""
    recorder = Recorder(httpx.HTTPTransport(verify=sandbox.tls()))
    original = graph_client.GraphClient.__init__

    def recorded(self: graph_client.GraphClient, **kwargs: Any) -> None:
        kwargs["transport"] = kwargs.get("transport") or _Shared(recorder)
        original(self, **kwargs)

    monkeypatch.setattr(graph_client.GraphClient, "__init__", recorded)
    return recorder


class _Shared(httpx.BaseTransport):
    """The recorder, not closed when one client closes (the next client sends through it)."""

    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.recorder.handle_request(request)


def test_msgraph_sdk_parses_every_answer_of_the_rogue_days_elevated_rollback(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    env = {
        RO_SECRET: info.read_only_client_secret,
        ELEVATOR_SECRET: info.full_client_secret,
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    domain = info.admin_user_principal_name.split("@", 1)[1]
    with graph_sandbox.client() as admin:
        rogue = rogue_day.make_rogue(admin, domain)
        scene = rogue_day.set_up(admin, info.graph_base, domain)
    rogue_client = rogue_user(graph_sandbox, rogue.upn, rogue.password, tool=rogue.tool)
    with graph_sandbox.client() as admin:  # the rogue's tool is registered by now
        before = rogue_day.tenant_snapshot(admin)
    run = cli_runner(_config(tmp_path, graph_sandbox), env)
    recorder = _recording(monkeypatch, graph_sandbox)
    try:
        run("snapshot", "entra", "--tenant", TENANT)
        since = (utcnow() - timedelta(seconds=1)).isoformat()
        with rogue_client:
            rogue_day.play_day(rogue_client, scene)
        run("capture", "entra", "--tenant", TENANT)
        read_before_apply = len(recorder.exchanges)
        rogue_day.undo_by_actor(run, TENANT, rogue.upn, since, scene)
    finally:
        recorder.close()
    with graph_sandbox.client() as fresh:
        rogue_day.check_restored(before, rogue_day.tenant_snapshot(fresh), scene)

    applied: list[Exchange] = recorder.exchanges[read_before_apply:]
    writes = [e for e in applied if e.method != "GET" and e.path.startswith("/v1.0/")]
    assert len(writes) >= 60, f"{len(writes)} writes: the apply was recorded"
    found = parse_answers(applied, _table(), writes_single=True)
    assert not found.unmodelled, f"paths with no SDK model: {sorted(found.unmodelled)}"
    assert not found.unknown, "\n".join(found.unknown)
    parsed = found.counts
    # the writer's own answers were among those parsed: the restored objects, the re-created
    # named location and policy, the re-created role assignment and eligibility request, and
    # the elevation's grant
    for entity in (
        "directoryObject",
        "namedLocation",
        "conditionalAccessPolicy",
        "unifiedRoleAssignment",
        "unifiedRoleEligibilityScheduleRequest",
        "authorizationPolicy",
        "appRoleAssignment",
        "servicePrincipal",
        "user",
    ):
        assert parsed[entity], (entity, parsed)
    grants = "/appRoleAssignments"
    granted = [e for e in applied if e.method == "POST" and e.path.endswith(grants)]
    revoked = [e for e in applied if e.method == "DELETE" and grants + "/" in e.path]
    assert granted and len(revoked) == len(granted), "elevated for the apply, then revoked"
    restored = [e for e in applied if e.method == "POST" and e.path.endswith("/restore")]
    # the M365 group and the deleted users, the PIM-eligible one and the purged one (its restore
    # answers 404, then it is created anew)
    wanted = 1 + len(scene.deleted_users) + 2 * scene.purge_and_pim
    assert len(restored) == wanted, "each restore's answer was parsed"
