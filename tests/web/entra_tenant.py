"""The console's app registration in the sandbox tenant, and people to sign in with: what an
administrator sets up in the Entra admin center, done over Graph."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import httpx

from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.identity_helpers import graph_sp_id

APPROVER_ROLE = "dirguard.approver"
PASSWORD = "Sandbox-Passw0rd!"


@dataclass(frozen=True, kw_only=True)
class ConsoleApp:
    client_id: str
    client_secret: str
    service_principal_id: str
    app_role_id: str
    domain: str


def register_console_app(sandbox: RunningSandbox, redirect_uris: list[str]) -> ConsoleApp:
    role_id = str(uuid.uuid4())
    with sandbox.client() as graph:
        app = graph.post(
            "/applications",
            json={
                "displayName": "dirguard console",
                "web": {"redirectUris": redirect_uris},
                "groupMembershipClaims": "SecurityGroup",
                "appRoles": [
                    {
                        "id": role_id,
                        "value": APPROVER_ROLE,
                        "displayName": "dirguard approver",
                        "description": "Applies dirguard plans",
                        "allowedMemberTypes": ["User"],
                        "isEnabled": True,
                    }
                ],
            },
        )
        assert app.status_code == 201, app.text
        secret = graph.post(f"/applications/{app.json()['id']}/addPassword", json={})
        assert secret.status_code == 200, secret.text
        sp = graph.post("/servicePrincipals", json={"appId": app.json()["appId"]})
        assert sp.status_code == 201, sp.text
        grant = graph.post(
            "/oauth2PermissionGrants",
            json={
                "clientId": sp.json()["id"],
                "consentType": "AllPrincipals",
                "resourceId": graph_sp_id(graph),
                "scope": "User.Read",
            },
        )
        assert grant.status_code == 201, grant.text
        domain = sandbox.info.admin_user_principal_name.partition("@")[2]
    return ConsoleApp(
        client_id=app.json()["appId"],
        client_secret=secret.json()["secretText"],
        service_principal_id=sp.json()["id"],
        app_role_id=role_id,
        domain=domain,
    )


def add_user(sandbox: RunningSandbox, app: ConsoleApp, nickname: str) -> tuple[str, str]:
    """A new enabled user with :data:`PASSWORD`; (id, user principal name)."""
    upn = f"{nickname}-{uuid.uuid4().hex[:6]}@{app.domain}"
    with sandbox.client() as graph:
        user = graph.post(
            "/users",
            json={
                "accountEnabled": True,
                "displayName": nickname.title(),
                "mailNickname": nickname,
                "userPrincipalName": upn,
                "passwordProfile": {"password": PASSWORD, "forceChangePasswordNextSignIn": False},
            },
        )
        assert user.status_code == 201, user.text
    return user.json()["id"], upn


def assign_approver(sandbox: RunningSandbox, app: ConsoleApp, user_id: str) -> None:
    with sandbox.client() as graph:
        answer = graph.post(
            f"/servicePrincipals/{app.service_principal_id}/appRoleAssignedTo",
            json={
                "principalId": user_id,
                "resourceId": app.service_principal_id,
                "appRoleId": app.app_role_id,
            },
        )
        assert answer.status_code == 201, answer.text


def security_group_with(sandbox: RunningSandbox, user_id: str) -> str:
    with sandbox.client() as graph:
        group = graph.post(
            "/groups",
            json={
                "displayName": f"dirguard operators {uuid.uuid4().hex[:4]}",
                "mailEnabled": False,
                "mailNickname": f"ops{uuid.uuid4().hex[:6]}",
                "securityEnabled": True,
            },
        )
        assert group.status_code == 201, group.text
        added = graph.post(
            f"/groups/{group.json()['id']}/members/$ref",
            json={"@odata.id": f"{sandbox.info.graph_base}/directoryObjects/{user_id}"},
        )
        assert added.status_code == 204, added.text
    group_id: str = group.json()["id"]
    return group_id


def sign_in_at_entra(sandbox: RunningSandbox, authorize_url: str, upn: str) -> str:
    """What the person does on Entra ID's sign-in page: the URL it sends the browser back to."""
    parsed = urlparse(authorize_url)
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    answer = httpx.post(
        parsed._replace(query="").geturl(),
        params=query,
        data={"username": upn, "password": PASSWORD},
        verify=sandbox.tls(),
    )
    assert answer.status_code == 302, answer.text
    location: str = answer.headers["location"]
    return location
