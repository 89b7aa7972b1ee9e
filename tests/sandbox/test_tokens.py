"""The sandbox's Entra token endpoints, as azure-identity and a plain HTTP client see them."""

from __future__ import annotations

import ssl

import httpx
import jwt
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential

from dirguard_sandbox.permissions_table import APPLICATION_PERMISSIONS, READ_ONLY_PERMISSIONS
from tests.fixtures.graph_sandbox import RunningSandbox

GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def _credential(sandbox: RunningSandbox, client_id: str, secret: str) -> ClientSecretCredential:
    info = sandbox.info
    return ClientSecretCredential(
        info.tenant_id,
        client_id,
        secret,
        authority=info.login_base,
        disable_instance_discovery=True,
        connection_verify=str(info.ca_file),
    )


def _claims(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return claims


def test_tls_certificate_is_trusted_only_through_the_sandbox_ca(
    graph_sandbox: RunningSandbox,
) -> None:
    url = f"{graph_sandbox.info.login_base}/{graph_sandbox.info.tenant_id}/discovery/v2.0/keys"
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, verify=ssl.create_default_context())
    assert httpx.get(url, verify=graph_sandbox.tls()).status_code == 200


def test_azure_identity_gets_a_graph_token_holding_every_permission(
    graph_sandbox: RunningSandbox,
) -> None:
    info = graph_sandbox.info
    with _credential(graph_sandbox, info.full_client_id, info.full_client_secret) as credential:
        token = credential.get_token(GRAPH_SCOPE).token
    claims = _claims(token)
    assert claims["aud"] == "https://graph.microsoft.com"
    assert claims["tid"] == info.tenant_id
    assert claims["appid"] == info.full_client_id
    assert claims["iss"] == f"https://sts.windows.net/{info.tenant_id}/"
    assert sorted(claims["roles"]) == sorted(p.value for p in APPLICATION_PERMISSIONS)  # type: ignore[arg-type]


def test_read_only_app_token_holds_only_read_permissions(graph_sandbox: RunningSandbox) -> None:
    info = graph_sandbox.info
    with _credential(
        graph_sandbox, info.read_only_client_id, info.read_only_client_secret
    ) as credential:
        roles = _claims(credential.get_token(GRAPH_SCOPE).token)["roles"]
    assert sorted(roles) == sorted(READ_ONLY_PERMISSIONS)  # type: ignore[arg-type]
    assert all(".Read." in role for role in roles)  # type: ignore[union-attr]


def test_roles_follow_the_service_principals_app_role_assignments(
    graph_sandbox: RunningSandbox,
) -> None:
    """The roles claim is read from appRoleAssignments, not from a fixed list."""
    info = graph_sandbox.info
    state = graph_sandbox.state
    app = state.applications[info.read_only_client_id]
    dropped = next(
        key
        for key, assignment in state.app_role_assignments.items()
        if assignment["principalId"] == app.service_principal_id
    )
    removed = state.app_role_assignments.pop(dropped)
    try:
        roles = _claims(graph_sandbox.token(read_only=True))["roles"]
    finally:
        state.app_role_assignments[dropped] = removed
    assert len(roles) == len(READ_ONLY_PERMISSIONS) - 1  # type: ignore[arg-type]


def test_tokens_verify_against_the_published_jwks(graph_sandbox: RunningSandbox) -> None:
    info = graph_sandbox.info
    verify = graph_sandbox.tls()
    config = httpx.get(
        f"{info.login_base}/{info.tenant_id}/v2.0/.well-known/openid-configuration", verify=verify
    ).json()
    assert config["token_endpoint"].startswith(info.login_base)
    keys = httpx.get(config["jwks_uri"], verify=verify).json()["keys"]
    token = graph_sandbox.token()
    kid = jwt.get_unverified_header(token)["kid"]
    jwk = next(key for key in keys if key["kid"] == kid)
    public_key = jwt.PyJWK(jwk).key
    claims = jwt.decode(
        token, public_key, algorithms=["RS256"], audience="https://graph.microsoft.com"
    )
    assert claims["appid"] == info.full_client_id


def test_wrong_secret_is_refused_without_echoing_it(graph_sandbox: RunningSandbox) -> None:
    info = graph_sandbox.info
    wrong = "not-the-secret-" + info.full_client_secret[:4]
    answer = httpx.post(
        f"{info.login_base}/{info.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": info.full_client_id,
            "client_secret": wrong,
            "scope": GRAPH_SCOPE,
        },
        verify=graph_sandbox.tls(),
    )
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    assert wrong not in answer.text
    with (
        _credential(graph_sandbox, info.full_client_id, wrong) as credential,
        pytest.raises(ClientAuthenticationError),
    ):
        credential.get_token(GRAPH_SCOPE)


def test_unknown_tenant_and_client_are_named_in_the_error(graph_sandbox: RunningSandbox) -> None:
    info = graph_sandbox.info
    verify = graph_sandbox.tls()
    answer = httpx.get(
        f"{info.login_base}/no-such-tenant/v2.0/.well-known/openid-configuration", verify=verify
    )
    assert answer.status_code == 400
    assert "no-such-tenant" in answer.json()["error_description"]
    answer = httpx.post(
        f"{info.login_base}/{info.tenant_id}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "nobody",
            "client_secret": "x",
            "scope": GRAPH_SCOPE,
        },
        verify=verify,
    )
    assert answer.json()["error"] == "unauthorized_client"
    assert "'nobody'" in answer.json()["error_description"]
