"""The sandbox tenant made to hold something for every report (a guest, two stale devices, an
application secret about to expire), and dirguard's runtime on it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from dirguard.services.runtime import Runtime
from tests.entra.helpers import SECRET_ENV, config, store
from tests.fixtures.graph_sandbox import RunningSandbox


@pytest.fixture(scope="module")
def report_tenant(graph_sandbox: RunningSandbox) -> RunningSandbox:
    now = datetime.now(UTC)
    with graph_sandbox.client() as graph:
        invited = graph.post(
            "/invitations",
            json={
                "invitedUserEmailAddress": "pat.partner@fabrikam.example",
                "invitedUserDisplayName": "Pat Partner",
                "inviteRedirectUrl": "https://myapps.microsoft.com",
            },
        )
        assert invited.status_code == 201, invited.text
        app = graph.post("/applications", json={"displayName": "payroll export"})
        assert app.status_code == 201, app.text
        ends = (now + timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
        secret = graph.post(
            f"/applications/{app.json()['id']}/addPassword",
            json={"passwordCredential": {"displayName": "nightly job", "endDateTime": ends}},
        )
        assert secret.status_code == 200, secret.text
    # approximateLastSignInDateTime is read-only in Graph (the device's own sign-ins move it):
    # set as a device that stopped signing in would have left it.
    for device in list(graph_sandbox.state.devices.values())[:2]:
        device["approximateLastSignInDateTime"] = (now - timedelta(days=200)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
    return graph_sandbox


@pytest.fixture
def report_runtime(
    report_tenant: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Runtime]:
    monkeypatch.setenv(SECRET_ENV, report_tenant.info.full_client_secret)
    now = datetime.now(UTC).replace(microsecond=0)
    yield Runtime(
        config=config(report_tenant, tmp_path),
        sessions=store(tmp_path),
        principal="reporter",
        clock=lambda: now,
    )
