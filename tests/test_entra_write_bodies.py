"""The per-type write rules that need more than a field class (pure, on the catalog's rows):
what a synchronized object's directory sync owns is refused, a dynamic group's members are not
written, a client secret added since is removed while one removed cannot be given back,
certificates and passwords are never written, licenses go through ``assignLicense``, a schedule
is removed by an ``adminRemove`` request, and a singleton cannot be created or deleted."""

from __future__ import annotations

import pytest

from dirguard.providers.entra.create_bodies import create_request, remove_request
from dirguard.providers.entra.write_bodies import SYNCED, patch_plan
from dirguard.providers.registry import RESOURCE_TYPES

USER = RESOURCE_TYPES["entra.user"]
GROUP = RESOURCE_TYPES["entra.group"]
APPLICATION = RESOURCE_TYPES["entra.application"]
SKU = "c42b9cae-ea4f-4ab7-9717-81576235ccac"


def test_a_synchronized_users_directory_owned_fields_are_refused_others_written() -> None:
    current = {
        "id": "u1",
        "onPremisesSyncEnabled": True,
        "jobTitle": "Clerk",
        "usageLocation": "FR",
    }
    target = {**current, "jobTitle": "Auditor", "usageLocation": "DE"}
    plan = patch_plan(USER, target, current)
    assert [(r.method, r.body) for r in plan.requests] == [("PATCH", {"usageLocation": "DE"})]
    assert [(r.field, r.reason) for r in plan.refused] == [("jobTitle", SYNCED)]


def test_licenses_go_through_assign_license_and_passwords_are_never_written() -> None:
    current = {"id": "u1", "assignedLicenses": []}
    target = {
        "id": "u1",
        "assignedLicenses": [{"skuId": SKU, "disabledPlans": []}],
        "passwordProfile": {"password": "x"},
    }
    plan = patch_plan(USER, target, current)
    assert [(r.method, r.path, r.body) for r in plan.requests] == [
        (
            "POST",
            "users/u1/assignLicense",
            {"addLicenses": [{"skuId": SKU, "disabledPlans": []}], "removeLicenses": []},
        )
    ]
    assert [r.field for r in plan.refused] == ["passwordProfile"]


def test_a_dynamic_groups_members_are_not_written() -> None:
    current = {"id": "g1", "groupTypes": ["DynamicMembership"], "members": ["a", "b"]}
    plan = patch_plan(GROUP, {**current, "members": ["a"]}, current)
    assert plan.requests == ()
    assert [r.field for r in plan.refused] == ["members"]
    static = {"id": "g2", "groupTypes": [], "members": ["a", "b"]}
    paths = [r.path for r in patch_plan(GROUP, {**static, "members": ["a"]}, static).requests]
    assert paths == ["groups/g2/members/b/$ref"]


def test_a_secret_added_since_is_removed_one_removed_cannot_be_given_back() -> None:
    kept = {"keyId": "k1", "displayName": "old"}
    added = {"keyId": "k2", "displayName": "rogue"}
    current = {"id": "a1", "passwordCredentials": [kept, added], "keyCredentials": [{"keyId": "c"}]}
    target = {"id": "a1", "passwordCredentials": [], "keyCredentials": []}
    plan = patch_plan(APPLICATION, target, current)
    assert [(r.path, r.body) for r in plan.requests] == [
        ("applications/a1/removePassword", {"keyId": "k1"}),
        ("applications/a1/removePassword", {"keyId": "k2"}),
    ]
    assert [r.field for r in plan.refused] == ["keyCredentials"]
    back = patch_plan(APPLICATION, {"id": "a1", "passwordCredentials": [kept]}, {"id": "a1"})
    assert back.requests == ()
    assert "cannot be given back" in back.refused[0].reason


def test_schedules_are_removed_by_request_and_singletons_are_never_created() -> None:
    schedule = RESOURCE_TYPES["entra.pim_active_schedule"]
    removal = remove_request(
        schedule,
        {"id": "s1", "principalId": "u1", "roleDefinitionId": "r1", "directoryScopeId": "/"},
    )
    assert removal.method == "POST"
    assert removal.path == "roleManagement/directory/roleAssignmentScheduleRequests"
    assert removal.body is not None and removal.body["action"] == "adminRemove"
    policy = RESOURCE_TYPES["entra.authorization_policy"]
    with pytest.raises(ValueError, match="cannot be created anew"):
        create_request(policy, {"id": "authorizationPolicy"})
    with pytest.raises(ValueError, match="cannot be deleted"):
        remove_request(policy, {"id": "authorizationPolicy"})
