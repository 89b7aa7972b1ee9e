"""Paths of issue 18's list that had no test through Microsoft's own SDK, called the way
``msgraph-sdk`` builds them, each answer parsed by its models:

- PIM: an eligibility requested with ``adminAssign`` ("Create roleEligibilityScheduleRequests",
  https://learn.microsoft.com/graph/api/rbacapplication-post-roleeligibilityschedulerequests)
  is then one schedule, one instance and one request, each also got by its id ("Get
  unifiedRoleEligibilitySchedule", "Get unifiedRoleEligibilityScheduleInstance", "Get
  unifiedRoleEligibilityScheduleRequest"); ``adminRemove`` ends the schedule;
- an application's ``federatedIdentityCredentials`` ("List federatedIdentityCredentials",
  https://learn.microsoft.com/graph/api/application-list-federatedidentitycredentials);
- one app role assignment of a resource by its id (``appRoleAssignedTo/{id}``);
- a contact's ``manager`` (404 when it has none, "orgContact: Get manager");
- terms of use agreements refused to an application token, as Microsoft's page says
  ("Application: Not supported", https://learn.microsoft.com/graph/api/agreement-get).
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from tests.fixtures.graph_sandbox import RunningSandbox

pytest.importorskip("msgraph", reason="msgraph-sdk is a test dependency ([test] extra)")

from tests.sandbox.sdk_client import Sdk, sdk

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from kiota_abstractions.api_error import APIError
    from msgraph.generated.models.expiration_pattern import ExpirationPattern
    from msgraph.generated.models.expiration_pattern_type import ExpirationPatternType
    from msgraph.generated.models.request_schedule import RequestSchedule
    from msgraph.generated.models.unified_role_eligibility_schedule_request import (
        UnifiedRoleEligibilityScheduleRequest,
    )
    from msgraph.generated.models.unified_role_schedule_request_actions import (
        UnifiedRoleScheduleRequestActions,
    )

__all__ = ["sdk"]  # the module's SDK client fixture
pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]

USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"


def _request(action: UnifiedRoleScheduleRequestActions, principal: str) -> Any:
    return UnifiedRoleEligibilityScheduleRequest(
        action=action,
        principal_id=principal,
        role_definition_id=USER_ADMINISTRATOR,
        directory_scope_id="/",
        justification="SDK path check",
        schedule_info=RequestSchedule(
            expiration=ExpirationPattern(type=ExpirationPatternType.NoExpiration)
        ),
    )


def test_an_eligibility_is_a_schedule_an_instance_and_a_request_each_by_id(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    directory = sdk.client.role_management.directory
    user_id = next(iter(graph_sandbox.state.users))
    made = sdk.run(
        directory.role_eligibility_schedule_requests.post(
            _request(UnifiedRoleScheduleRequestActions.AdminAssign, user_id)
        )
    )
    assert made is not None and made.id and made.principal_id == user_id
    request = sdk.run(
        directory.role_eligibility_schedule_requests.by_unified_role_eligibility_schedule_request_id(
            made.id
        ).get()
    )
    assert request is not None and request.action is UnifiedRoleScheduleRequestActions.AdminAssign
    schedules = sdk.run(directory.role_eligibility_schedules.get())
    assert schedules is not None and schedules.value is not None
    [schedule] = [s for s in schedules.value if s.principal_id == user_id]
    assert schedule.id is not None
    one = sdk.run(
        directory.role_eligibility_schedules.by_unified_role_eligibility_schedule_id(
            schedule.id
        ).get()
    )
    assert one is not None and one.role_definition_id == USER_ADMINISTRATOR
    instances = sdk.run(directory.role_eligibility_schedule_instances.get())
    assert instances is not None and instances.value is not None
    [instance] = [i for i in instances.value if i.principal_id == user_id]
    assert instance.id is not None
    got = sdk.run(
        directory.role_eligibility_schedule_instances.by_unified_role_eligibility_schedule_instance_id(
            instance.id
        ).get()
    )
    assert got is not None and got.role_definition_id == USER_ADMINISTRATOR
    sdk.run(
        directory.role_eligibility_schedule_requests.post(
            _request(UnifiedRoleScheduleRequestActions.AdminRemove, user_id)
        )
    )
    after = sdk.run(directory.role_eligibility_schedules.get())
    assert after is not None and after.value is not None
    assert not [s for s in after.value if s.principal_id == user_id]


def test_federated_credentials_assigned_to_by_id_and_a_contacts_manager(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    state = graph_sandbox.state
    app_id = next(iter(state.application_objects))
    credentials = sdk.run(
        sdk.client.applications.by_application_id(app_id).federated_identity_credentials.get()
    )
    assert credentials is not None and credentials.value is not None
    assignment = next(iter(state.app_role_assignments.values()))
    assigned = sdk.client.service_principals.by_service_principal_id(assignment["resourceId"])
    one = sdk.run(assigned.app_role_assigned_to.by_app_role_assignment_id(assignment["id"]).get())
    assert one is not None and str(one.principal_id) == assignment["principalId"]
    contact_id = next(iter(state.contacts))
    with pytest.raises(APIError) as missing:
        sdk.run(sdk.client.contacts.by_org_contact_id(contact_id).manager.get())
    assert missing.value.response_status_code == 404
    state.managers[contact_id] = next(iter(state.users))  # set by sync: Graph has no write
    manager = sdk.run(sdk.client.contacts.by_org_contact_id(contact_id).manager.get())
    assert manager is not None and manager.id == state.managers[contact_id]


def test_agreements_are_refused_to_an_application(sdk: Sdk) -> None:
    with pytest.raises(APIError) as refused:
        sdk.run(sdk.client.identity_governance.terms_of_use.agreements.get())
    assert refused.value.response_status_code == 403
