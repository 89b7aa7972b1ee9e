"""Delegated tokens of users holding one directory role each, against the rules Microsoft's role
pages state: an Authentication Administrator manages the authentication methods of non-admin
users only, a Privileged Authentication Administrator those of anyone, a User Administrator none;
a Guest Inviter invites guests even when the tenant lets only admins and guest inviters do so."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.identity_helpers import graph_sp_id, register_app
from tests.sandbox.test_identity_sign_in import _device_sign_in

AUTHENTICATION_ADMINISTRATOR = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
PRIVILEGED_AUTHENTICATION_ADMINISTRATOR = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
GUEST_INVITER = "95e79109-95c0-4d8e-aee3-d01accf2d47b"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
SCOPES = (
    "UserAuthenticationMethod.ReadWrite.All User.Invite.All Policy.ReadWrite.AuthenticationMethod"
)
REDIRECT = "https://myapps.microsoft.com"


class Tenant:
    """The sandbox with a consented client app, making users with one role each."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        self.domain = sandbox.info.admin_user_principal_name.split("@")[1]
        with sandbox.client() as admin:
            self.app, sp = register_app(admin, "role rules console")
            grant = admin.post(
                "/oauth2PermissionGrants",
                json={
                    "clientId": sp["id"],
                    "consentType": "AllPrincipals",
                    "resourceId": graph_sp_id(admin),
                    "scope": SCOPES,
                },
            )
            assert grant.status_code == 201, grant.text

    def user(self, role: str | None = None) -> tuple[str, str, str]:
        """A new member user (holding ``role``): its id, userPrincipalName and password."""
        name = f"rr{secrets.token_hex(4)}"
        password = "Sandbox-" + secrets.token_urlsafe(12)
        with self.sandbox.client() as admin:
            created = admin.post(
                "/users",
                json={
                    "accountEnabled": True,
                    "displayName": name,
                    "mailNickname": name,
                    "userPrincipalName": f"{name}@{self.domain}",
                    "passwordProfile": {"password": password},
                },
            )
            assert created.status_code == 201, created.text
            user_id = created.json()["id"]
            if role is not None:
                assigned = admin.post(
                    "/roleManagement/directory/roleAssignments",
                    json={
                        "principalId": user_id,
                        "roleDefinitionId": role,
                        "directoryScopeId": "/",
                    },
                )
                assert assigned.status_code == 201, assigned.text
        return user_id, f"{name}@{self.domain}", password

    def signed_in(self, role: str | None) -> httpx.Client:
        """A Graph client with the delegated token of a new user holding ``role``."""
        return self.signed_in_user(role)[1]

    def signed_in_user(self, role: str | None) -> tuple[str, httpx.Client]:
        """A new user holding ``role``: its id and a Graph client with its delegated token."""
        user_id, upn, password = self.user(role)
        scope = " ".join(f"https://graph.microsoft.com/{s}" for s in SCOPES.split())
        answer = _device_sign_in(self.sandbox, self.app["appId"], upn, password, scope)
        assert answer.status_code == 200, answer.text
        return user_id, httpx.Client(
            base_url=self.sandbox.info.graph_base,
            verify=self.sandbox.tls(),
            headers={"Authorization": f"Bearer {answer.json()['access_token']}"},
        )


@pytest.fixture(scope="module")
def tenant(graph_sandbox: RunningSandbox) -> Tenant:
    return Tenant(graph_sandbox)


def _add_phone(client: httpx.Client, user_id: str) -> httpx.Response:
    return client.post(
        f"/users/{user_id}/authentication/phoneMethods",
        json={"phoneNumber": "+1 2065550100", "phoneType": "mobile"},
    )


def _denied(answer: httpx.Response) -> bool:
    return answer.status_code == 403 and (
        answer.json()["error"]["code"] == "Authorization_RequestDenied"
    )


def test_authentication_administrator_manages_methods_of_non_admins_only(tenant: Tenant) -> None:
    plain, _, _ = tenant.user()
    reader_role_holder, _, _ = tenant.user("88d8e3e3-8f55-4a1e-953a-9b9898b8876b")
    user_admin, _, _ = tenant.user(USER_ADMINISTRATOR)
    with tenant.signed_in(AUTHENTICATION_ADMINISTRATOR) as client:
        on_plain = _add_phone(client, plain)
        on_reader = _add_phone(client, reader_role_holder)
        on_admin = _add_phone(client, user_admin)
        method = f"/users/{plain}/authentication/phoneMethods/{on_plain.json()['id']}"
        changed = client.patch(method, json={"phoneNumber": "+1 2065550199"})
        deleted = client.delete(method)
    assert on_plain.status_code == 201, on_plain.text
    assert on_reader.status_code == 201, on_reader.text
    assert _denied(on_admin), on_admin.text
    assert (changed.status_code, deleted.status_code) == (204, 204)
    assert tenant.sandbox.state.auth_methods.get(user_admin, {}) == {}


def test_privileged_authentication_administrator_manages_anyone(tenant: Tenant) -> None:
    global_admin = next(iter(tenant.sandbox.state.passwords))
    plain, _, _ = tenant.user()
    with tenant.signed_in(PRIVILEGED_AUTHENTICATION_ADMINISTRATOR) as client:
        on_admin = client.post(
            f"/users/{global_admin}/authentication/phoneMethods",
            json={"phoneNumber": "+1 2065550111", "phoneType": "alternateMobile"},
        )
        on_plain = _add_phone(client, plain)
    assert on_admin.status_code == 201, on_admin.text
    assert on_plain.status_code == 201, on_plain.text


def test_user_administrator_and_guest_inviter_do_not_manage_methods(tenant: Tenant) -> None:
    plain, _, _ = tenant.user()
    for role in (USER_ADMINISTRATOR, GUEST_INVITER, None):
        with tenant.signed_in(role) as client:
            answer = _add_phone(client, plain)
        assert _denied(answer), (role, answer.text)
    assert tenant.sandbox.state.auth_methods.get(plain, {}) == {}


@pytest.fixture
def admins_and_guest_inviters(graph_sandbox: RunningSandbox) -> Iterator[None]:
    """The tenant lets only admins and guest inviters invite, for one test."""
    policy = "/policies/authorizationPolicy"
    with graph_sandbox.client() as admin:
        before = admin.get(policy).json()["allowInvitesFrom"]
        setting = {"allowInvitesFrom": "adminsAndGuestInviters"}
        assert admin.patch(policy, json=setting).status_code == 204
    yield
    with graph_sandbox.client() as admin:
        assert admin.patch(policy, json={"allowInvitesFrom": before}).status_code == 204


def _invite(client: httpx.Client) -> httpx.Response:
    address = f"guest{secrets.token_hex(4)}@partner.example"
    return client.post(
        "/invitations", json={"invitedUserEmailAddress": address, "inviteRedirectUrl": REDIRECT}
    )


@pytest.mark.usefixtures("admins_and_guest_inviters")
def test_guest_inviter_invites_where_members_may_not(tenant: Tenant) -> None:
    answers = {}
    for role in (GUEST_INVITER, USER_ADMINISTRATOR, AUTHENTICATION_ADMINISTRATOR, None):
        with tenant.signed_in(role) as client:
            answers[role] = _invite(client)
    assert answers[GUEST_INVITER].status_code == 201, answers[GUEST_INVITER].text
    assert answers[USER_ADMINISTRATOR].status_code == 201, answers[USER_ADMINISTRATOR].text
    assert _denied(answers[AUTHENTICATION_ADMINISTRATOR])
    assert _denied(answers[None])


def test_any_member_invites_under_the_default_policy(tenant: Tenant) -> None:
    with tenant.signed_in(None) as client:
        answer = _invite(client)
    assert answer.status_code == 201, answer.text
    assert answer.json()["invitedUserType"] == "Guest"


def test_per_user_mfa_state_follows_the_same_rule(tenant: Tenant) -> None:
    """Beta ``authentication/requirements``: an Authentication Administrator sets the per-user
    MFA state of a non-admin, not of an admin."""
    plain, _, _ = tenant.user()
    user_admin, _, _ = tenant.user(USER_ADMINISTRATOR)
    beta = tenant.sandbox.info.graph_base.removesuffix("/v1.0") + "/beta"
    enforce = {"perUserMfaState": "enforced"}
    with tenant.signed_in(AUTHENTICATION_ADMINISTRATOR) as client:
        on_plain = client.patch(f"{beta}/users/{plain}/authentication/requirements", json=enforce)
        on_admin = client.patch(
            f"{beta}/users/{user_admin}/authentication/requirements", json=enforce
        )
    assert on_plain.status_code == 204, on_plain.text
    assert _denied(on_admin), on_admin.text
    assert tenant.sandbox.state.mfa_states.get(plain) == "enforced"
    assert user_admin not in tenant.sandbox.state.mfa_states
