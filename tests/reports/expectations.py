"""What each report should say, computed straight from the sandbox tenant's state (not through
Graph): the hand computation the reports are checked against."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.fixtures.graph_sandbox import RunningSandbox

PASSWORD = "#microsoft.graph.passwordAuthenticationMethod"


def when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def last_successful(sandbox: RunningSandbox) -> dict[str, str]:
    """Each user's newest successful sign-in time (ISO text) in the sign-in log."""
    found: dict[str, str] = {}
    for entry in sandbox.state.sign_in_log:
        if entry["status"]["errorCode"] == 0:
            previous = found.get(entry["userId"])
            if previous is None or when(entry["createdDateTime"]) > when(previous):
                found[entry["userId"]] = entry["createdDateTime"]
    return found


def inactive_upns(sandbox: RunningSandbox, now: datetime, days: int) -> set[str]:
    last = last_successful(sandbox)
    return {
        user["userPrincipalName"]
        for user in sandbox.state.users.values()
        if user["id"] not in last or (now - when(last[user["id"]])) >= timedelta(days=days)
    }


def without_mfa_upns(sandbox: RunningSandbox) -> set[str]:
    state = sandbox.state
    return {
        user["userPrincipalName"]
        for user in state.users.values()
        if user.get("userType") != "Guest"
        and user.get("accountEnabled") is not False
        and not [
            m
            for m in state.auth_methods.get(user["id"], {}).values()
            if m["@odata.type"] != PASSWORD
        ]
    }


def guest_upns(sandbox: RunningSandbox) -> set[str]:
    return {
        u["userPrincipalName"] for u in sandbox.state.users.values() if u.get("userType") == "Guest"
    }


def stale_device_names(sandbox: RunningSandbox, now: datetime, days: int) -> set[str]:
    return {
        d["displayName"]
        for d in sandbox.state.devices.values()
        if d.get("approximateLastSignInDateTime") is None
        or now - when(d["approximateLastSignInDateTime"]) >= timedelta(days=days)
    }


def role_holders(sandbox: RunningSandbox) -> set[tuple[str, str]]:
    state = sandbox.state
    names: dict[str, Any] = {**state.users, **state.service_principals, **state.groups}
    return {
        (role["displayName"], names[a["principalId"]]["displayName"])
        for role in state.directory_roles.values()
        for a in state.role_assignments.values()
        if a["roleDefinitionId"] == role["roleTemplateId"]
        and a["directoryScopeId"] == "/"
        and a["principalId"] in names
    }


def expiring(sandbox: RunningSandbox, now: datetime, days: int) -> set[tuple[str, str]]:
    until = now + timedelta(days=days)
    return {
        (app["displayName"], credential["endDateTime"])
        for app in sandbox.state.application_objects.values()
        for field in ("passwordCredentials", "keyCredentials")
        for credential in app.get(field) or []
        if credential.get("endDateTime") and when(credential["endDateTime"]) <= until
    }
