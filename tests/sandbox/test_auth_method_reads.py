"""Reading authentication methods and the per-user MFA state with delegated tokens, against the
rules Microsoft's pages state: a signed-in user reads their own; another user's methods need
Global Reader, Privileged Authentication Administrator or Global Administrator, or an
Authentication Administrator when the user holds no admin role ("List methods", the Entra
built-in roles page); another user's per-user MFA state needs Global Reader, Authentication
Policy Administrator or Global Administrator (beta "Get authentication method states"). Apps
with ``UserAuthenticationMethod.Read.All`` read everyone's."""

from __future__ import annotations

import pytest

from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.test_delegated_role_rules import (
    AUTHENTICATION_ADMINISTRATOR,
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
    USER_ADMINISTRATOR,
    Tenant,
    _denied,
)

GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"
SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"


@pytest.fixture(scope="module")
def tenant(graph_sandbox: RunningSandbox) -> Tenant:
    return Tenant(graph_sandbox)


def _registered_phone(sandbox: RunningSandbox, user_id: str) -> str:
    """Registers a mobile phone and an email method for ``user_id`` (as the app); the phone's id."""
    with sandbox.client() as admin:
        phone = admin.post(
            f"/users/{user_id}/authentication/phoneMethods",
            json={"phoneNumber": "+1 2065550123", "phoneType": "mobile"},
        )
        email = admin.post(
            f"/users/{user_id}/authentication/emailMethods",
            json={"emailAddress": "recovery@partner.example"},
        )
    assert (phone.status_code, email.status_code) == (201, 201), (phone.text, email.text)
    phone_id: str = phone.json()["id"]
    return phone_id


def _reads(user_id: str, phone_id: str) -> list[str]:
    """Every read of one user's methods: the whole list, each kind's list and single gets."""
    base = f"/users/{user_id}/authentication"
    return [
        f"{base}/methods",
        f"{base}/methods/{phone_id}",
        f"{base}/phoneMethods",
        f"{base}/phoneMethods/{phone_id}",
        f"{base}/emailMethods",
        f"{base}/microsoftAuthenticatorMethods",
        f"{base}/fido2Methods",
        f"{base}/softwareOathMethods",
        f"{base}/temporaryAccessPassMethods",
        f"{base}/passwordMethods",
        f"{base}/passwordMethods/{PASSWORD_METHOD_ID}",
    ]


def _requirements(tenant: Tenant, user_id: str) -> str:
    beta = tenant.sandbox.info.graph_base.removesuffix("/v1.0") + "/beta"
    return f"{beta}/users/{user_id}/authentication/requirements"


def _listed_ids(answer_json: dict[str, list[dict[str, str]]]) -> set[str]:
    return {method["id"] for method in answer_json["value"]}


def test_a_member_reads_their_own_methods_and_nobody_elses(tenant: Tenant) -> None:
    me, client = tenant.signed_in_user(None)
    other, _, _ = tenant.user()
    mine, theirs = _registered_phone(tenant.sandbox, me), _registered_phone(tenant.sandbox, other)
    with client:
        own = {path: client.get(path) for path in _reads(me, mine)}
        others = {path: client.get(path) for path in _reads(other, theirs)}
        own_state = client.get(_requirements(tenant, me))
        other_state = client.get(_requirements(tenant, other))
    assert {path: answer.status_code for path, answer in own.items()} == dict.fromkeys(own, 200)
    assert mine in _listed_ids(own[f"/users/{me}/authentication/methods"].json())
    refused = [path for path, answer in others.items() if not _denied(answer)]
    assert refused == [], [others[path].text for path in refused]
    assert own_state.status_code == 200, own_state.text
    assert own_state.json()["perUserMfaState"] == "disabled"
    assert _denied(other_state), other_state.text


def test_authentication_administrator_reads_methods_of_non_admins_only(tenant: Tenant) -> None:
    plain, _, _ = tenant.user()
    helpdesk, _, _ = tenant.user(HELPDESK_ADMINISTRATOR)  # in "who can reset passwords"
    user_admin, _, _ = tenant.user(USER_ADMINISTRATOR)
    phones = {user: _registered_phone(tenant.sandbox, user) for user in (plain, helpdesk)}
    admin_phone = _registered_phone(tenant.sandbox, user_admin)
    with tenant.signed_in(AUTHENTICATION_ADMINISTRATOR) as client:
        allowed = {path: client.get(path) for user in phones for path in _reads(user, phones[user])}
        on_admin = {path: client.get(path) for path in _reads(user_admin, admin_phone)}
    assert {path: a.status_code for path, a in allowed.items()} == dict.fromkeys(allowed, 200)
    assert phones[plain] in _listed_ids(allowed[f"/users/{plain}/authentication/methods"].json())
    refused = [path for path, answer in on_admin.items() if not _denied(answer)]
    assert refused == [], [on_admin[path].text for path in refused]


@pytest.mark.parametrize("role", [GLOBAL_READER, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR])
def test_readers_of_anyone_read_the_global_administrators_methods(
    tenant: Tenant, role: str
) -> None:
    global_admin = next(iter(tenant.sandbox.state.passwords))
    phone = next(
        (
            method["id"]
            for method in tenant.sandbox.state.auth_methods.get(global_admin, {}).values()
            if method["@odata.type"] == "#microsoft.graph.phoneAuthenticationMethod"
        ),
        None,
    ) or _registered_phone(tenant.sandbox, global_admin)
    with tenant.signed_in(role) as client:
        answers = {path: client.get(path) for path in _reads(global_admin, phone)}
    assert {path: a.status_code for path, a in answers.items()} == dict.fromkeys(answers, 200)
    listed = _listed_ids(answers[f"/users/{global_admin}/authentication/phoneMethods"].json())
    assert phone in listed


@pytest.mark.parametrize("role", [SECURITY_READER, SECURITY_ADMINISTRATOR, USER_ADMINISTRATOR])
def test_roles_the_pages_do_not_name_do_not_read_others_methods(tenant: Tenant, role: str) -> None:
    plain, _, _ = tenant.user()
    phone = _registered_phone(tenant.sandbox, plain)
    with tenant.signed_in(role) as client:
        answers = {path: client.get(path) for path in _reads(plain, phone)}
    refused = [path for path, answer in answers.items() if not _denied(answer)]
    assert refused == [], [answers[path].text for path in refused]


def test_per_user_mfa_state_of_others_is_read_by_global_reader(tenant: Tenant) -> None:
    """The beta page names Global Reader and Authentication Policy Administrator for reading
    another user's per-user MFA state; the methods' admin roles are not named there."""
    plain, _, _ = tenant.user()
    with tenant.sandbox.client() as admin:
        enforce = admin.patch(_requirements(tenant, plain), json={"perUserMfaState": "enforced"})
    assert enforce.status_code == 204, enforce.text
    answers = {}
    for role in (GLOBAL_READER, AUTHENTICATION_ADMINISTRATOR, SECURITY_READER):
        with tenant.signed_in(role) as client:
            answers[role] = client.get(_requirements(tenant, plain))
    assert answers[GLOBAL_READER].status_code == 200, answers[GLOBAL_READER].text
    assert answers[GLOBAL_READER].json()["perUserMfaState"] == "enforced"
    assert _denied(answers[AUTHENTICATION_ADMINISTRATOR])
    assert _denied(answers[SECURITY_READER])


def test_apps_with_the_read_permission_read_everyones_methods(tenant: Tenant) -> None:
    global_admin = next(iter(tenant.sandbox.state.passwords))
    plain, _, _ = tenant.user()
    phone = _registered_phone(tenant.sandbox, plain)
    for read_only in (False, True):
        with tenant.sandbox.client(read_only=read_only) as app:
            answers = {path: app.get(path) for path in _reads(plain, phone)}
            on_admin = app.get(f"/users/{global_admin}/authentication/methods")
        assert {p: a.status_code for p, a in answers.items()} == dict.fromkeys(answers, 200)
        assert on_admin.status_code == 200, on_admin.text
