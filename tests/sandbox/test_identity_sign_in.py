"""Signing in against the sandbox: certificate client assertions (azure-identity's
CertificateCredential), the device-code flow (DeviceCodeCredential), the authorization-code flow
with PKCE, and the delegated tokens they produce (``scp``, ``wids``, ``upn``, ``oid``)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import CertificateCredential, DeviceCodeCredential

from dirguard_sandbox.role_catalog import GLOBAL_ADMINISTRATOR
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.identity_helpers import (
    AppCertificate,
    graph_sp_id,
    make_certificate,
    register_app,
)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


def _certificate_credential(
    sandbox: RunningSandbox, client_id: str, pem: Path
) -> CertificateCredential:
    info = sandbox.info
    return CertificateCredential(
        info.tenant_id,
        client_id,
        certificate_path=str(pem),
        authority=info.login_base,
        disable_instance_discovery=True,
        connection_verify=str(info.ca_file),
    )


def test_certificate_credential_gets_a_token_with_the_granted_roles(
    graph_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    certificate = make_certificate()
    with graph_sandbox.client() as client:
        app, _sp = register_app(
            client, "api access", permissions=("User.Read.All",), certificate=certificate
        )
    pem = certificate.write_pem(tmp_path / "app.pem")
    with _certificate_credential(graph_sandbox, app["appId"], pem) as credential:
        token = credential.get_token(GRAPH_SCOPE).token
    claims = _claims(token)
    assert claims["appid"] == app["appId"]
    assert claims["roles"] == ["User.Read.All"]
    assert claims["appidacr"] == "2"
    with httpx.Client(
        base_url=graph_sandbox.info.graph_base,
        verify=graph_sandbox.tls(),
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        assert client.get("/users").status_code == 200
        assert client.get("/groups").status_code == 403


def test_certificate_not_registered_on_the_app_is_refused(
    graph_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    with graph_sandbox.client() as client:
        app, _sp = register_app(client, "other cert", certificate=make_certificate())
    stranger = make_certificate("not registered").write_pem(tmp_path / "stranger.pem")
    with (
        _certificate_credential(graph_sandbox, app["appId"], stranger) as credential,
        pytest.raises(ClientAuthenticationError, match="AADSTS700027"),
    ):
        credential.get_token(GRAPH_SCOPE)


def _assertion(
    certificate: AppCertificate, client_id: str, audience: str, **overrides: object
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {
        "aud": audience,
        "iss": client_id,
        "sub": client_id,
        "jti": str(uuid.uuid4()),
        "nbf": now,
        "exp": now + 600,
    }
    claims.update(overrides)
    thumbprint = base64.urlsafe_b64encode(bytes.fromhex(certificate.sha1_thumbprint()))
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None},
        certificate.key,
        algorithm="RS256",
        headers={"x5t": thumbprint.rstrip(b"=").decode()},
    )


def test_client_assertion_checks_audience_expiry_claims_and_replay(
    graph_sandbox: RunningSandbox,
) -> None:
    info = graph_sandbox.info
    certificate = make_certificate()
    with graph_sandbox.client() as client:
        app, _sp = register_app(client, "assertion rules", certificate=certificate)
    endpoint = f"{info.login_base}/{info.tenant_id}/oauth2/v2.0/token"

    def redeem(assertion: str) -> httpx.Response:
        return httpx.post(
            endpoint,
            data={
                "grant_type": "client_credentials",
                "client_id": app["appId"],
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
                "scope": GRAPH_SCOPE,
            },
            verify=graph_sandbox.tls(),
        )

    good = _assertion(certificate, app["appId"], endpoint)
    assert redeem(good).status_code == 200
    replayed = redeem(good)
    wrong_audience = redeem(_assertion(certificate, app["appId"], "https://elsewhere/token"))
    expired = redeem(_assertion(certificate, app["appId"], endpoint, exp=int(time.time()) - 3600))
    no_jti = redeem(_assertion(certificate, app["appId"], endpoint, jti=None))
    not_yet = redeem(_assertion(certificate, app["appId"], endpoint, nbf=int(time.time()) + 3600))
    codes = {
        "replayed": replayed.json()["error_codes"],
        "audience": wrong_audience.json()["error_codes"],
        "expired": expired.json()["error_codes"],
        "jti": no_jti.json()["error_codes"],
        "nbf": not_yet.json()["error_codes"],
    }
    assert codes == {
        "replayed": [700025],
        "audience": [700212],
        "expired": [700024],
        "jti": [50027],
        "nbf": [700024],
    }
    assert {answer.status_code for answer in (replayed, wrong_audience, expired, no_jti)} == {401}


def _grant_delegated(sandbox: RunningSandbox, scope: str) -> tuple[dict[str, str], str]:
    """Register an app with an admin-consented delegated grant; return it and its grant id."""
    with sandbox.client() as client:
        app, sp = register_app(client, f"delegated {scope}")
        grant = client.post(
            "/oauth2PermissionGrants",
            json={
                "clientId": sp["id"],
                "consentType": "AllPrincipals",
                "resourceId": graph_sp_id(client),
                "scope": scope,
            },
        )
        assert grant.status_code == 201, grant.text
    return app, grant.json()["id"]


def test_device_code_credential_signs_in_the_global_administrator(
    graph_sandbox: RunningSandbox,
) -> None:
    info = graph_sandbox.info
    app, _grant = _grant_delegated(graph_sandbox, "User.ReadWrite.All Directory.Read.All")
    prompts: list[str] = []

    def sign_in(verification_uri: str, user_code: str, expires_on: object) -> None:
        prompts.append(verification_uri)
        answer = httpx.post(
            verification_uri,
            data={
                "user_code": user_code,
                "username": info.admin_user_principal_name,
                "password": info.admin_password,
            },
            verify=graph_sandbox.tls(),
        )
        assert "You have signed in" in answer.text

    with DeviceCodeCredential(
        client_id=app["appId"],
        tenant_id=info.tenant_id,
        authority=info.login_base,
        disable_instance_discovery=True,
        connection_verify=str(info.ca_file),
        prompt_callback=sign_in,
    ) as credential:
        token = credential.get_token(GRAPH_SCOPE).token
    claims = _claims(token)
    assert prompts == [f"{info.login_base}/devicelogin"]
    assert claims["upn"] == info.admin_user_principal_name
    assert claims["scp"] == "Directory.Read.All User.ReadWrite.All"
    assert claims["wids"] == [GLOBAL_ADMINISTRATOR]
    assert "roles" not in claims
    admin_id = next(iter(graph_sandbox.state.passwords))
    assert claims["oid"] == admin_id
    with httpx.Client(
        base_url=info.graph_base,
        verify=graph_sandbox.tls(),
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        changed = client.patch(f"/users/{admin_id}", json={"officeLocation": "Signed in"})
        assert changed.status_code == 204
        assert client.get("/applications").status_code == 200
        assert client.post("/applications", json={"displayName": "x"}).status_code == 403
    [audit] = [
        entry
        for entry in graph_sandbox.state.audits
        if entry["activityDisplayName"] == "Update user"
        and entry["targetResources"][0]["id"] == admin_id
    ][-1:]
    assert audit["initiatedBy"]["user"]["userPrincipalName"] == info.admin_user_principal_name


def test_device_code_polls_pending_until_approved_and_refuses_a_wrong_password(
    graph_sandbox: RunningSandbox,
) -> None:
    info = graph_sandbox.info
    app, _grant = _grant_delegated(graph_sandbox, "User.Read.All")
    base = f"{info.login_base}/{info.tenant_id}/oauth2/v2.0"
    verify = graph_sandbox.tls()
    flow = httpx.post(
        f"{base}/devicecode", data={"client_id": app["appId"], "scope": GRAPH_SCOPE}, verify=verify
    ).json()
    poll = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "client_id": app["appId"],
        "device_code": flow["device_code"],
    }
    pending = httpx.post(f"{base}/token", data=poll, verify=verify)
    assert pending.status_code == 400
    assert pending.json()["error"] == "authorization_pending"
    refused = httpx.post(
        flow["verification_uri"],
        data={
            "user_code": flow["user_code"],
            "username": info.admin_user_principal_name,
            "password": "wrong",
        },
        verify=verify,
    )
    assert "incorrect" in refused.text
    assert httpx.post(f"{base}/token", data=poll, verify=verify).json()["error"] == (
        "authorization_pending"
    )
    httpx.post(
        flow["verification_uri"],
        data={
            "user_code": flow["user_code"],
            "username": info.admin_user_principal_name,
            "password": info.admin_password,
        },
        verify=verify,
    )
    answer = httpx.post(f"{base}/token", data=poll, verify=verify)
    assert answer.status_code == 200, answer.text
    assert _claims(answer.json()["access_token"])["scp"] == "User.Read.All"
    again = httpx.post(f"{base}/token", data=poll, verify=verify)
    assert again.json()["error"] == "invalid_grant"


def test_authorization_code_with_pkce_signs_in_and_checks_the_verifier(
    graph_sandbox: RunningSandbox,
) -> None:
    info = graph_sandbox.info
    verify = graph_sandbox.tls()
    app, _grant = _grant_delegated(graph_sandbox, "User.Read.All")
    redirect = "http://localhost:8400/auth/callback"
    with graph_sandbox.client() as client:
        patched = client.patch(
            f"/applications/{app['id']}", json={"web": {"redirectUris": [redirect]}}
        )
        assert patched.status_code == 204
    base = f"{info.login_base}/{info.tenant_id}/oauth2/v2.0"

    def sign_in(verifier: str) -> str:
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        query = {
            "client_id": app["appId"],
            "response_type": "code",
            "redirect_uri": redirect,
            "scope": "openid profile User.Read.All",
            "state": "xyz",
            "nonce": "n-1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        form = httpx.get(f"{base}/authorize", params=query, verify=verify)
        assert form.status_code == 200
        assert 'name="code_challenge"' in form.text
        answer = httpx.post(
            f"{base}/authorize",
            params=query,
            data={"username": info.admin_user_principal_name, "password": info.admin_password},
            verify=verify,
        )
        assert answer.status_code == 302
        location = urlparse(answer.headers["location"])
        assert location.geturl().startswith(redirect)
        returned = parse_qs(location.query)
        assert returned["state"] == ["xyz"]
        return returned["code"][0]

    def redeem(code: str, verifier: str) -> httpx.Response:
        return httpx.post(
            f"{base}/token",
            data={
                "grant_type": "authorization_code",
                "client_id": app["appId"],
                "code": code,
                "redirect_uri": redirect,
                "code_verifier": verifier,
            },
            verify=verify,
        )

    verifier = secrets.token_urlsafe(48)
    tokens = redeem(sign_in(verifier), verifier)
    assert tokens.status_code == 200, tokens.text
    identity = _claims(tokens.json()["id_token"])
    assert identity["aud"] == app["appId"]
    assert identity["nonce"] == "n-1"
    assert identity["preferred_username"] == info.admin_user_principal_name
    assert _claims(tokens.json()["access_token"])["wids"] == [GLOBAL_ADMINISTRATOR]
    mismatch = redeem(sign_in(verifier), "another-verifier-" + verifier)
    assert mismatch.status_code == 400
    assert mismatch.json()["error_codes"] == [501481]
    unregistered = httpx.get(
        f"{base}/authorize",
        params={"client_id": app["appId"], "redirect_uri": "https://evil.example/cb"},
        verify=verify,
    )
    assert unregistered.status_code == 400
    assert "AADSTS50011" in unregistered.text


def _device_sign_in(
    sandbox: RunningSandbox, client_id: str, user: str, password: str, scope: str
) -> httpx.Response:
    info = sandbox.info
    base = f"{info.login_base}/{info.tenant_id}/oauth2/v2.0"
    verify = sandbox.tls()
    flow = httpx.post(
        f"{base}/devicecode", data={"client_id": client_id, "scope": scope}, verify=verify
    ).json()
    approved = httpx.post(
        flow["verification_uri"],
        data={"user_code": flow["user_code"], "username": user, "password": password},
        verify=verify,
    )
    assert "You have signed in" in approved.text
    return httpx.post(
        f"{base}/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "client_id": client_id,
            "device_code": flow["device_code"],
            "scope": scope,
        },
        verify=verify,
    )


def test_global_administrator_consents_for_the_organization_and_others_cannot(
    graph_sandbox: RunningSandbox,
) -> None:
    info = graph_sandbox.info
    scope = "https://graph.microsoft.com/Application.ReadWrite.All offline_access"
    with graph_sandbox.client() as client:
        app, sp = register_app(client, "setup app")
        user_id = next(
            u for u in graph_sandbox.state.users if u not in graph_sandbox.state.passwords
        )
        password = "Sandbox-" + secrets.token_urlsafe(12)
        upn = graph_sandbox.state.users[user_id]["userPrincipalName"]
        changed = client.patch(
            f"/users/{user_id}",
            json={
                "passwordProfile": {"password": password, "forceChangePasswordNextSignIn": False}
            },
        )
        assert changed.status_code == 204, changed.text
    refused = _device_sign_in(graph_sandbox, app["appId"], upn, password, scope)
    assert refused.json()["error_codes"] == [65001]
    consented = _device_sign_in(
        graph_sandbox, app["appId"], info.admin_user_principal_name, info.admin_password, scope
    )
    assert consented.status_code == 200, consented.text
    assert _claims(consented.json()["access_token"])["scp"] == "Application.ReadWrite.All"
    after = _device_sign_in(graph_sandbox, app["appId"], upn, password, scope)
    assert _claims(after.json()["access_token"])["scp"] == "Application.ReadWrite.All"
    assert _claims(after.json()["access_token"])["wids"] == []
    with graph_sandbox.client() as client:
        grants = client.get(
            "/oauth2PermissionGrants", params={"$filter": f"clientId eq '{sp['id']}'"}
        ).json()["value"]
        audits = client.get("/auditLogs/directoryAudits", params={"$top": "999"}).json()["value"]
    assert [(g["consentType"], g["scope"]) for g in grants] == [
        ("AllPrincipals", "Application.ReadWrite.All")
    ]
    consent = [a for a in audits if a["activityDisplayName"] == "Consent to application"]
    assert consent[0]["initiatedBy"]["user"]["userPrincipalName"] == info.admin_user_principal_name
    assert consent[0]["targetResources"][0]["id"] == sp["id"]
    written = [
        a
        for a in audits
        if a["activityDisplayName"] == "Add delegated permission grant"
        and {
            (p["displayName"], p["newValue"]) for p in a["targetResources"][0]["modifiedProperties"]
        }
        >= {
            ("ServicePrincipal.ObjectID", json.dumps(sp["id"])),
            ("DelegatedPermissionGrant.ConsentType", '"AllPrincipals"'),
        }
    ]
    assert len(written) == 1, "the consent logs the grant it writes, naming the client"
    [written_by] = [a["initiatedBy"] for a in written]
    assert written_by["user"]["userPrincipalName"] == info.admin_user_principal_name


def test_delegated_writes_also_need_the_signed_in_users_directory_role(
    graph_sandbox: RunningSandbox,
) -> None:
    """Graph allows a delegated call only when both ``scp`` and the user's roles allow it."""
    info = graph_sandbox.info
    scope = "https://graph.microsoft.com/User.ReadWrite.All"
    state = graph_sandbox.state
    user_id = next(u for u in state.users if u not in state.passwords)
    other_id = next(u for u in state.users if u not in state.passwords and u != user_id)
    password = "Sandbox-" + secrets.token_urlsafe(12)
    upn = state.users[user_id]["userPrincipalName"]
    with graph_sandbox.client() as client:
        app, _sp = register_app(client, "role-bound writes")
        client.patch(f"/users/{user_id}", json={"passwordProfile": {"password": password}})
    admin = _device_sign_in(
        graph_sandbox, app["appId"], info.admin_user_principal_name, info.admin_password, scope
    )
    assert admin.status_code == 200, admin.text

    def calls(token: str) -> list[int]:
        with httpx.Client(
            base_url=info.graph_base,
            verify=graph_sandbox.tls(),
            headers={"Authorization": f"Bearer {token}"},
        ) as client:
            return [
                client.get("/users").status_code,
                client.patch(f"/users/{other_id}", json={"jobTitle": "Changed"}).status_code,
                client.get("/auditLogs/directoryAudits").status_code,
            ]

    member = _device_sign_in(graph_sandbox, app["appId"], upn, password, scope)
    assert calls(member.json()["access_token"]) == [200, 403, 403]
    with graph_sandbox.client() as client:
        client.post(
            "/roleManagement/directory/roleAssignments",
            json={
                "principalId": user_id,
                "roleDefinitionId": "fe930be7-5e62-47db-91af-98c3a49a38b1",
                "directoryScopeId": "/",
            },
        )
    user_admin = _device_sign_in(graph_sandbox, app["appId"], upn, password, scope)
    assert calls(user_admin.json()["access_token"]) == [200, 204, 403]
