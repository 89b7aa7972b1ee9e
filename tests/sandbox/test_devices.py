"""Devices, Intune managed devices, Windows LAPS and session revocation in the sandbox, as
Microsoft's pages describe them (``routes_devices``): over HTTPS with the ready apps' tokens."""

from __future__ import annotations

import base64

from tests.fixtures.graph_sandbox import RunningSandbox

LAPS_HEADERS = {"ocp-client-name": "dirguard tests", "ocp-client-version": "1.0"}


def test_laps_needs_the_client_headers_and_select_and_is_audited(
    graph_sandbox: RunningSandbox,
) -> None:
    device_id = next(iter(graph_sandbox.state.device_local_credentials))
    path = f"/directory/deviceLocalCredentials/{device_id}"
    with graph_sandbox.client() as graph:
        assert graph.get(path).status_code == 400  # no ocp-client-* headers
        basic = graph.get(path, headers=LAPS_HEADERS).json()
        assert "credentials" not in basic and basic["deviceName"].startswith("LAPTOP-")
        before = len(graph_sandbox.state.audits)
        full = graph.get(path, params={"$select": "credentials"}, headers=LAPS_HEADERS).json()
    secret = base64.b64decode(full["credentials"][0]["passwordBase64"]).decode()
    assert len(secret) == 20
    audits = graph_sandbox.state.audits[before:]
    assert [a["activityDisplayName"] for a in audits] == [
        "Recover device local administrator password"
    ]


def test_intune_actions_change_the_management_state(graph_sandbox: RunningSandbox) -> None:
    managed = list(graph_sandbox.state.managed_devices)
    base = "/deviceManagement/managedDevices"
    with graph_sandbox.client() as graph:
        assert graph.post(f"{base}/{managed[0]}/syncDevice").status_code == 204
        assert graph.post(f"{base}/{managed[0]}/retire").status_code == 204
        assert graph.get(f"{base}/{managed[0]}").json()["managementState"] == "retirePending"
        assert graph.post(f"{base}/{managed[0]}/retire").status_code == 400  # already pending
        bad = graph.post(f"{base}/{managed[1]}/wipe", json={"keepEverything": True})
        assert bad.status_code == 400 and "keepEverything" in bad.text
        assert (
            graph.post(f"{base}/{managed[1]}/wipe", json={"keepUserData": True}).status_code == 204
        )
        assert graph.get(f"{base}/{managed[1]}").json()["managementState"] == "wipePending"
    with graph_sandbox.client(read_only=True) as reader:
        assert reader.post(f"{base}/{managed[2]}/retire").status_code == 403


def test_devices_are_disabled_and_deleted_and_sessions_revoked(
    graph_sandbox: RunningSandbox,
) -> None:
    device = list(graph_sandbox.state.devices)[-1]
    user = list(graph_sandbox.state.users)[2]
    with graph_sandbox.client(read_only=True) as reader:
        assert reader.patch(f"/devices/{device}", json={"accountEnabled": False}).status_code == 403
    with graph_sandbox.client() as graph:
        refused = graph.patch(f"/devices/{device}", json={"displayName": "x"})
        assert refused.status_code == 400
        assert graph.patch(f"/devices/{device}", json={"accountEnabled": False}).status_code == 204
        assert graph.get(f"/devices/{device}").json()["accountEnabled"] is False
        assert graph.delete(f"/devices/{device}").status_code == 204
        assert graph.get(f"/devices/{device}").status_code == 404
        revoked = graph.post(f"/users/{user}/revokeSignInSessions")
    assert revoked.status_code == 200 and revoked.json()["value"] is True
    assert graph_sandbox.state.users[user]["signInSessionsValidFromDateTime"]
