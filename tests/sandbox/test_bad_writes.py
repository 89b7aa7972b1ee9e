"""Bad property values are refused as Graph refuses them (400, Graph's error body, the property
named), through Microsoft's SDK and plain httpx against the running sandbox.

- "iPv4CidrRange resource type" (https://learn.microsoft.com/graph/api/resources/ipv4cidrrange)
  and "iPv6CidrRange resource type" (https://learn.microsoft.com/graph/api/resources/ipv6cidrrange):
  ``cidrAddress`` is an address in CIDR notation of that family.
- "expirationPattern resource type" (https://learn.microsoft.com/graph/api/resources/expirationpattern):
  ``duration`` is an ISO 8601 duration (``PT3H``); with ``afterDuration`` there is no
  ``endDateTime``.
"""

from __future__ import annotations

import datetime
import warnings
from typing import Any

import pytest

from tests.fixtures.graph_sandbox import RunningSandbox

pytest.importorskip("msgraph", reason="msgraph-sdk is a test dependency ([test] extra)")

from tests.sandbox.sdk_client import Sdk, sdk

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from msgraph.generated.models.expiration_pattern import ExpirationPattern
    from msgraph.generated.models.expiration_pattern_type import ExpirationPatternType
    from msgraph.generated.models.i_pv4_cidr_range import IPv4CidrRange
    from msgraph.generated.models.ip_named_location import IpNamedLocation
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.models.request_schedule import RequestSchedule
    from msgraph.generated.models.unified_role_assignment_schedule_request import (
        UnifiedRoleAssignmentScheduleRequest,
    )
    from msgraph.generated.models.unified_role_schedule_request_actions import (
        UnifiedRoleScheduleRequestActions,
    )

__all__ = ["sdk"]  # the module's SDK client fixture

pytestmark = [
    pytest.mark.filterwarnings("ignore:This class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:GetQueryParameters is deprecated:DeprecationWarning"),
]
LOCATIONS = "/identity/conditionalAccess/namedLocations"
REQUESTS = "/roleManagement/directory/roleAssignmentScheduleRequests"
HELPDESK = "729827e3-9c14-49f7-bb1b-9608f156bbb8"


def _location(*ranges: dict[str, str]) -> dict[str, Any]:
    return {
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "displayName": "Checked ranges",
        "ipRanges": list(ranges),
    }


@pytest.mark.parametrize(
    "cidr", ["10.0.0.0/33", "10.0.0.0", "300.1.2.0/24", "fe80::/129", "office/24", "10.0.0.0/"]
)
def test_an_invalid_cidr_is_refused_naming_it(graph_sandbox: RunningSandbox, cidr: str) -> None:
    before = len(graph_sandbox.state.policies.get("namedLocations", {}))
    with graph_sandbox.client() as client:
        answer = client.post(LOCATIONS, json=_location({"cidrAddress": cidr}))
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "BadRequest"
    assert f"'{cidr}'" in error["message"] and "cidrAddress" in error["message"]
    assert len(graph_sandbox.state.policies.get("namedLocations", {})) == before


def test_a_range_of_the_wrong_family_is_refused(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as client:
        answer = client.post(
            LOCATIONS,
            json=_location(
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "2001:db8::/48"}
            ),
        )
        good = client.post(LOCATIONS, json=_location({"cidrAddress": "2001:db8::/48"}))
        assert good.status_code == 201
        assert good.json()["ipRanges"][0]["@odata.type"] == "#microsoft.graph.iPv6CidrRange"
        assert client.delete(f"{LOCATIONS}/{good.json()['id']}").status_code == 204
    assert answer.status_code == 400
    assert "#microsoft.graph.iPv6CidrRange" in answer.json()["error"]["message"]


def test_sdk_named_location_with_a_bad_cidr_gets_graphs_error(sdk: Sdk) -> None:
    body = IpNamedLocation(
        display_name="SDK office",
        is_trusted=False,
        ip_ranges=[IPv4CidrRange(cidr_address="192.0.2.0/40")],
    )
    with pytest.raises(ODataError) as refused:
        sdk.run(sdk.client.identity.conditional_access.named_locations.post(body))
    assert refused.value.response_status_code == 400
    assert refused.value.error is not None and "192.0.2.0/40" in str(refused.value.error.message)


def _activation(principal_id: str, expiration: dict[str, Any]) -> dict[str, Any]:
    return {
        "action": "adminAssign",
        "principalId": principal_id,
        "roleDefinitionId": HELPDESK,
        "directoryScopeId": "/",
        "scheduleInfo": {"startDateTime": "2026-03-02T09:00:00Z", "expiration": expiration},
    }


def test_sdk_timedelta_duration_is_refused_as_not_iso_8601(
    sdk: Sdk, graph_sandbox: RunningSandbox
) -> None:
    """msgraph-sdk writes a ``timedelta`` as ``str(timedelta)`` ("8:00:00"); Graph wants PT8H."""
    principal = list(graph_sandbox.state.users)[7]
    request = UnifiedRoleAssignmentScheduleRequest(
        action=UnifiedRoleScheduleRequestActions.AdminAssign,
        principal_id=principal,
        role_definition_id=HELPDESK,
        directory_scope_id="/",
        schedule_info=RequestSchedule(
            start_date_time=datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC),
            expiration=ExpirationPattern(
                type=ExpirationPatternType.AfterDuration, duration=datetime.timedelta(hours=8)
            ),
        ),
    )
    schedules = sdk.client.role_management.directory.role_assignment_schedule_requests
    with pytest.raises(ODataError) as refused:
        sdk.run(schedules.post(request))
    assert refused.value.response_status_code == 400
    message = str(refused.value.error.message)  # type: ignore[union-attr]
    assert "'8:00:00'" in message and "scheduleInfo.expiration.duration" in message
    assert principal not in {
        a["principalId"] for a in graph_sandbox.state.role_assignments.values()
    }


def test_an_iso_duration_sets_the_schedules_end(graph_sandbox: RunningSandbox) -> None:
    principal = list(graph_sandbox.state.users)[8]
    with graph_sandbox.client() as client:
        made = client.post(
            REQUESTS, json=_activation(principal, {"type": "afterDuration", "duration": "PT8H"})
        )
        assert made.status_code == 201, made.text
        schedule_id = made.json()["targetScheduleId"]
        schedule = client.get(f"/roleManagement/directory/roleAssignmentSchedules/{schedule_id}")
        removed = client.post(
            REQUESTS,
            json={**_activation(principal, {"type": "noExpiration"}), "action": "adminRemove"},
        )
        assert removed.status_code == 201, removed.text
    assert schedule.json()["scheduleInfo"]["expiration"] == {
        "type": "afterDuration",
        "endDateTime": "2026-03-02T17:00:00Z",
        "duration": "PT8H",
    }


@pytest.mark.parametrize(
    ("expiration", "named"),
    [
        ({"type": "afterDuration", "duration": "8:00:00"}, "'8:00:00'"),
        ({"type": "afterDuration", "duration": "P1H"}, "'P1H'"),
        ({"type": "afterDuration"}, "needs scheduleInfo.expiration.duration"),
        (
            {"type": "afterDuration", "duration": "PT1H", "endDateTime": "2026-03-03T00:00:00Z"},
            "no endDateTime",
        ),
        ({"type": "afterDateTime"}, "needs scheduleInfo.expiration.endDateTime"),
        ({"type": "afterDateTime", "endDateTime": "tomorrow"}, "'tomorrow'"),
        ({"type": "afterDateTime", "endDateTime": "2026-03-01T00:00:00Z"}, "after startDateTime"),
    ],
)
def test_bad_expirations_are_refused_naming_what_is_wrong(
    graph_sandbox: RunningSandbox, expiration: dict[str, Any], named: str
) -> None:
    principal = list(graph_sandbox.state.users)[9]
    with graph_sandbox.client() as client:
        answer = client.post(REQUESTS, json=_activation(principal, expiration))
    assert answer.status_code == 400
    assert named in answer.json()["error"]["message"]
    assert principal not in {
        a["principalId"] for a in graph_sandbox.state.role_assignments.values()
    }


def test_a_start_that_is_not_a_date_time_is_refused(graph_sandbox: RunningSandbox) -> None:
    body = _activation(list(graph_sandbox.state.users)[9], {"type": "noExpiration"})
    body["scheduleInfo"]["startDateTime"] = "2026-03-02 09:00"
    with graph_sandbox.client() as client:
        answer = client.post(REQUESTS, json=body)
    assert answer.status_code == 400
    assert "scheduleInfo.startDateTime" in answer.json()["error"]["message"]


def test_unchanged_good_ranges_still_work(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client() as client:
        made = client.post(
            LOCATIONS,
            json=_location({"cidrAddress": "203.0.113.0/24"}, {"cidrAddress": "198.51.100.7/32"}),
        )
        assert made.status_code == 201, made.text
        assert [r["cidrAddress"] for r in made.json()["ipRanges"]] == [
            "203.0.113.0/24",
            "198.51.100.7/32",
        ]
        assert client.delete(f"{LOCATIONS}/{made.json()['id']}").status_code == 204


POLICIES = "/identity/conditionalAccess/policies"


def _policy(**grant: object) -> dict[str, Any]:
    return {
        "displayName": "Checked values",
        "state": "disabled",
        "conditions": {
            "users": {"includeUsers": ["All"]},
            "applications": {"includeApplications": ["All"]},
            "clientAppTypes": ["browser"],
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"], **grant},
    }


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"grantControls": {"operator": "OR", "builtInControls": ["mfaa"]}}, "'mfaa'"),
        ({"grantControls": {"operator": "XOR", "builtInControls": ["mfa"]}}, "'XOR'"),
        ({"conditions": {"clientAppTypes": ["legacy"]}}, "'legacy'"),
        ({"conditions": {"userRiskLevels": ["severe"]}}, "'severe'"),
    ],
)
def test_conditional_access_enumerations_are_checked_on_create_and_update(
    graph_sandbox: RunningSandbox, change: dict[str, Any], named: str
) -> None:
    """The CSDL's enumerations (conditionalAccessGrantControl, conditionalAccessClientApp,
    riskLevel) and the AND/OR operator of "conditionalAccessGrantControls resource type"
    (https://learn.microsoft.com/graph/api/resources/conditionalaccessgrantcontrols)."""
    body = _policy()
    for key, value in change.items():
        body[key] = {**body[key], **value}
    with graph_sandbox.client() as client:
        refused = client.post(POLICIES, json=body)
        made = client.post(POLICIES, json=_policy())
        assert made.status_code == 201, made.text
        policy_id = made.json()["id"]
        patched = client.patch(f"{POLICIES}/{policy_id}", json=change)
        after = client.get(f"{POLICIES}/{policy_id}").json()
        assert client.delete(f"{POLICIES}/{policy_id}").status_code == 204
    for answer in (refused, patched):
        assert answer.status_code == 400
        assert named in answer.json()["error"]["message"]
    assert after["grantControls"]["builtInControls"] == ["mfa"]
    assert after["conditions"]["clientAppTypes"] == ["browser"]


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("countriesAndRegions", ["Germany"], "'Germany'"),
        ("countriesAndRegions", ["de"], "'de'"),
        ("countryLookupMethod", "gps", "'gps'"),
    ],
)
def test_country_locations_take_two_letter_codes_and_a_known_lookup(
    graph_sandbox: RunningSandbox, field: str, value: object, named: str
) -> None:
    body: dict[str, Any] = {
        "@odata.type": "#microsoft.graph.countryNamedLocation",
        "displayName": "Checked countries",
        "countriesAndRegions": ["DE", "FR"],
        field: value,
    }
    with graph_sandbox.client() as client:
        answer = client.post(LOCATIONS, json=body)
    assert answer.status_code == 400
    assert named in answer.json()["error"]["message"]
