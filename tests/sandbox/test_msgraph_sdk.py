"""Microsoft's own Graph SDK (``msgraph-sdk``) against the sandbox, as a program using it would
connect: azure-identity's ClientSecretCredential at the sandbox's authority (trusting its CA), the
SDK's request adapter with the sandbox's base URL and ``127.0.0.1`` as an allowed host. Listing
with paging, creating, patching and deleting users, groups and a conditional access policy, a
delta round, and a ``$batch`` — the SDK parses every answer with its own models."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from dirguard_sandbox.seed_data import SeedOptions, generate_tenant
from dirguard_sandbox.server import BackgroundSandbox
from tests.fixtures.graph_sandbox import RunningSandbox

msgraph = pytest.importorskip("msgraph", reason="msgraph-sdk is a test dependency ([test] extra)")

from tests.sandbox.sdk_client import Sdk  # noqa: E402 - only once msgraph is known to be there

# The SDK's generated modules warn of the SDK's own deprecated classes when imported.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.models.conditional_access_applications import (
        ConditionalAccessApplications,
    )
    from msgraph.generated.models.conditional_access_condition_set import (
        ConditionalAccessConditionSet,
    )
    from msgraph.generated.models.conditional_access_grant_control import (
        ConditionalAccessGrantControl,
    )
    from msgraph.generated.models.conditional_access_grant_controls import (
        ConditionalAccessGrantControls,
    )
    from msgraph.generated.models.conditional_access_policy import (
        ConditionalAccessPolicy,
    )
    from msgraph.generated.models.conditional_access_policy_state import (
        ConditionalAccessPolicyState,
    )
    from msgraph.generated.models.conditional_access_users import ConditionalAccessUsers
    from msgraph.generated.models.group import Group
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.models.password_profile import PasswordProfile
    from msgraph.generated.models.user import User
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder
    from msgraph_core.requests.batch_request_content import BatchRequestContent
    from msgraph_core.requests.batch_request_item import BatchRequestItem
    from msgraph_core.tasks.page_iterator import PageIterator

# The SDK's generated request builders use its own deprecated configuration class on every call.
pytestmark = pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning")
PASSWORD = "Sdk-Passw0rd!"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """A realistic tenant (conditional access in use, so security defaults are off), without
    throttling: the SDK would wait out conditional access's one-request-a-second limit."""
    state = generate_tenant(SeedOptions(users=30, seed=21, realistic=True))
    server = BackgroundSandbox(state, Path(tmp_path_factory.mktemp("sdk")), throttling=False)
    server.start()
    try:
        yield RunningSandbox(info=server.info, state=server.state)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sdk(sandbox: RunningSandbox) -> Iterator[Sdk]:
    made = Sdk(sandbox)
    try:
        yield made
    finally:
        made.close()


def _new_user(nickname: str, domain: str) -> User:
    return User(
        account_enabled=True,
        display_name=nickname.replace(".", " ").title(),
        mail_nickname=nickname,
        user_principal_name=f"{nickname}@{domain}",
        password_profile=PasswordProfile(
            password=PASSWORD, force_change_password_next_sign_in=True
        ),
    )


def _domain(sandbox: RunningSandbox) -> str:
    return next(name for name, d in sandbox.state.domains.items() if d["isDefault"])


def test_lists_every_user_page_by_page(sdk: Sdk, sandbox: RunningSandbox) -> None:
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        top=7, select=["id", "displayName", "userPrincipalName"]
    )
    first = sdk.run(sdk.client.users.get(RequestConfiguration(query_parameters=query)))
    assert first is not None and first.value is not None
    assert len(first.value) == 7 and first.odata_next_link
    seen: list[User] = []

    def collect(user: User) -> bool:
        seen.append(user)
        return True

    iterator = PageIterator(first, sdk.client.request_adapter)
    sdk.run(iterator.iterate(collect))
    assert sorted(user.id or "" for user in seen) == sorted(sandbox.state.users)
    assert all(user.user_principal_name and user.job_title is None for user in seen)


def test_creates_patches_and_deletes_a_user(sdk: Sdk, sandbox: RunningSandbox) -> None:
    created = sdk.run(sdk.client.users.post(_new_user("sdk.person", _domain(sandbox))))
    assert created is not None and created.id
    sdk.run(sdk.client.users.by_user_id(created.id).patch(User(job_title="SDK tester")))
    fetched = sdk.run(sdk.client.users.by_user_id(created.id).get())
    assert fetched is not None and fetched.job_title == "SDK tester"
    sdk.run(sdk.client.users.by_user_id(created.id).delete())
    with pytest.raises(ODataError) as gone:
        sdk.run(sdk.client.users.by_user_id(created.id).get())
    assert gone.value.response_status_code == 404
    assert gone.value.error is not None and gone.value.error.code == "Request_ResourceNotFound"


def test_creates_patches_and_deletes_a_group(sdk: Sdk) -> None:
    group = Group(
        display_name="SDK group",
        mail_nickname="sdkgroup",
        mail_enabled=False,
        security_enabled=True,
        group_types=[],
    )
    created = sdk.run(sdk.client.groups.post(group))
    assert created is not None and created.id and created.security_enabled is True
    sdk.run(sdk.client.groups.by_group_id(created.id).patch(Group(description="Patched")))
    fetched = sdk.run(sdk.client.groups.by_group_id(created.id).get())
    assert fetched is not None and fetched.description == "Patched"
    sdk.run(sdk.client.groups.by_group_id(created.id).delete())
    with pytest.raises(ODataError) as gone:
        sdk.run(sdk.client.groups.by_group_id(created.id).get())
    assert gone.value.response_status_code == 404


def test_creates_patches_and_deletes_a_conditional_access_policy(sdk: Sdk) -> None:
    policies = sdk.client.identity.conditional_access.policies
    listed = sdk.run(policies.get())
    assert listed is not None and listed.value, "the realistic tenant holds policies"
    body = ConditionalAccessPolicy(
        display_name="SDK: MFA for everyone",
        state=ConditionalAccessPolicyState.EnabledForReportingButNotEnforced,
        conditions=ConditionalAccessConditionSet(
            applications=ConditionalAccessApplications(include_applications=["All"]),
            users=ConditionalAccessUsers(include_users=["All"]),
        ),
        grant_controls=ConditionalAccessGrantControls(
            operator="OR", built_in_controls=[ConditionalAccessGrantControl.Mfa]
        ),
    )
    created = sdk.run(policies.post(body))
    assert created is not None and created.id
    assert created.grant_controls is not None
    assert created.grant_controls.built_in_controls == [ConditionalAccessGrantControl.Mfa]
    patch = ConditionalAccessPolicy(state=ConditionalAccessPolicyState.Disabled)
    sdk.run(policies.by_conditional_access_policy_id(created.id).patch(patch))
    fetched = sdk.run(policies.by_conditional_access_policy_id(created.id).get())
    assert fetched is not None and fetched.state == ConditionalAccessPolicyState.Disabled
    sdk.run(policies.by_conditional_access_policy_id(created.id).delete())
    after = sdk.run(policies.get())
    assert after is not None and after.value is not None
    assert created.id not in {policy.id for policy in after.value}
    assert len(after.value) == len(listed.value)


def _delta_round(sdk: Sdk, link: str | None) -> tuple[list[User], str]:
    """Every page of one delta round; the round's items and its deltaLink."""
    builder = sdk.client.users.delta
    page = sdk.run(builder.get() if link is None else builder.with_url(link).get())
    items: list[User] = []
    while True:
        assert page is not None
        items += page.value or []
        if page.odata_delta_link:
            return items, page.odata_delta_link
        assert page.odata_next_link, "a delta page ends with a nextLink or a deltaLink"
        page = sdk.run(builder.with_url(page.odata_next_link).get())


def test_delta_round_sees_exactly_the_changes_made_between_rounds(
    sdk: Sdk, sandbox: RunningSandbox
) -> None:
    everyone, link = _delta_round(sdk, None)
    assert {user.id for user in everyone} == set(sandbox.state.users)
    quiet, link = _delta_round(sdk, link)
    assert quiet == []
    live = list(sandbox.state.users)
    changed_id, removed_id = live[5], live[6]
    created = sdk.run(sdk.client.users.post(_new_user("sdk.delta", _domain(sandbox))))
    assert created is not None and created.id
    sdk.run(sdk.client.users.by_user_id(changed_id).patch(User(job_title="Delta check")))
    sdk.run(sdk.client.users.by_user_id(removed_id).delete())
    changes, _ = _delta_round(sdk, link)
    by_id = {user.id: user for user in changes}
    assert set(by_id) == {created.id, changed_id, removed_id}
    assert by_id[changed_id].job_title == "Delta check"
    assert by_id[created.id].user_principal_name == f"sdk.delta@{_domain(sandbox)}"
    assert "@removed" in by_id[removed_id].additional_data
    assert "@removed" not in by_id[changed_id].additional_data


def test_batch_answers_each_request_with_its_own_status(sdk: Sdk, sandbox: RunningSandbox) -> None:
    user_id = list(sandbox.state.users)[2]
    batch = BatchRequestContent()
    found = BatchRequestItem(
        request_information=sdk.client.users.by_user_id(user_id).to_get_request_information()
    )
    missing = BatchRequestItem(
        request_information=sdk.client.users.by_user_id(
            "00000000-0000-0000-0000-000000000000"
        ).to_get_request_information()
    )
    organization = BatchRequestItem(
        request_information=sdk.client.organization.to_get_request_information()
    )
    for item in (found, missing, organization):
        batch.add_request(item.id, item)
    answer = sdk.run(sdk.client.batch.post(batch))
    statuses = answer.get_response_status_codes()  # type: ignore[union-attr]
    assert statuses == {found.id: 200, missing.id: 404, organization.id: 200}
    responses = answer.responses  # type: ignore[union-attr]
    assert responses is not None and set(responses) == {found.id, missing.id, organization.id}
