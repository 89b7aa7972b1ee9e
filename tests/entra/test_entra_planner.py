"""The Entra planner on recorded history (pure): conflicts named and skipped unless forced, the
id map of re-created objects in dependency order, undo of a create, an object back to a
moment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from dirguard.core.plan import check_shape, ref
from dirguard.providers.base import RecordedChange, RecordedObject
from dirguard.providers.entra.plan import EntraPlanningError, plan_changes, plan_state
from dirguard.providers.registry import RESOURCE_TYPES

WHEN = datetime(2026, 5, 1, 12, tzinfo=UTC)


def _obj(key: str, external_id: str, content: dict[str, list[Any]], **more: Any) -> RecordedObject:
    return RecordedObject(
        external_id=external_id,
        resource_type=RESOURCE_TYPES[key],
        label=str(
            (
                content.get("displayName")
                or more.get("last_live", {}).get("displayName")
                or [external_id]
            )[0]
        ),
        deleted=more.pop("deleted", False),
        current=content,
        **more,
    )


def _change(seq: int, external_id: str, op: str, attribute: str | None = None, **v: Any) -> Any:
    return RecordedChange(
        id=seq,
        sequence=seq,
        external_id=external_id,
        op=op,
        attribute=attribute,
        old=v.get("old"),
        new=v.get("new"),
        when=WHEN,
    )


def test_a_value_changed_again_since_is_a_named_conflict_skipped_unless_forced() -> None:
    user = _obj("entra.user", "u1", {"displayName": ["Ada"], "jobTitle": ["Boss"]})
    changes = [_change(1, "u1", "modify", "jobTitle", old="Engineer", new="Intruder")]
    plan = plan_changes(changes, {"u1": user}, force=False)
    [step] = plan.steps
    assert step.conflict == "jobTitle was changed again since (now 'Boss')"
    assert step.skipped and "--force" in plan.warnings[0]
    forced = plan_changes(changes, {"u1": user}, force=True)
    assert not forced.steps[0].skipped and forced.steps[0].payload["body"] == {
        "jobTitle": "Engineer"
    }
    assert forced.warnings == ()


def test_recreated_objects_come_in_dependency_order_and_references_get_the_new_id() -> None:
    location = _obj(
        "entra.named_location",
        "loc1",
        {},
        deleted=True,
        last_live={"displayName": ["Office"], "@odata.type": ["#microsoft.graph.ipNamedLocation"]},
    )
    conditions = {"users": {"excludeGroups": ["g1"]}, "locations": {"includeLocations": ["loc1"]}}
    policy = _obj(
        "entra.conditional_access_policy",
        "pol1",
        {},
        deleted=True,
        last_live={
            "displayName": ["Block"],
            "state": ["disabled"],
            "conditions": [conditions],
            "id": ["pol1"],
        },
    )
    group = _obj(
        "entra.group", "g1", {}, deleted=True, last_live={"displayName": ["Tier 0"], "members": []}
    )
    changes = [  # the policy was deleted first: a location in use cannot be deleted
        _change(1, "pol1", "delete"),
        _change(2, "loc1", "delete"),
        _change(3, "g1", "delete"),
    ]
    objects = {o.external_id: o for o in (location, policy, group)}
    plan = plan_changes(changes, objects, force=False)
    check_shape(plan.steps)
    ops = [(s.op, s.target.label) for s in plan.steps]
    assert ops == [("restore", "Tier 0"), ("create", "Office"), ("create", "Block")]
    made_policy = plan.steps[2]
    request = made_policy.payload["create"]["request"]
    assert (request["method"], request["path"]) == ("POST", "identity/conditionalAccess/policies")
    assert "id" not in request["body"]
    assert request["body"]["conditions"]["locations"]["includeLocations"] == ["loc1"]
    assert made_policy.payload["renames"] == {"g1": ref("id:g1"), "loc1": ref("id:loc1")}
    assert made_policy.depends_on == (1, 2), "the recorded ids are swapped for the new ones"
    location_body = plan.steps[1].payload["create"]["request"]["body"]
    assert location_body["@odata.type"] == "#microsoft.graph.ipNamedLocation"


def test_a_created_object_is_deleted_and_its_later_changes_are_not_replayed() -> None:
    app = _obj("entra.application", "a1", {"displayName": ["Shadow app"]})
    changes = [
        _change(1, "a1", "create", new={"displayName": "Shadow app"}),
        _change(2, "a1", "modify", "displayName", old="Shadow app", new="Shadow"),
    ]
    [step] = plan_changes(changes, {"a1": app}, force=False).steps
    assert (step.op, step.payload["collection"]) == ("delete", "applications")


def test_an_object_goes_back_to_its_state_at_a_moment() -> None:
    group = _obj(
        "entra.group",
        "g1",
        {"displayName": ["Renamed"], "members": ["m2", "m3"], "description": ["x"]},
    )
    then = {"displayName": ["Tier 0"], "members": ["m1", "m2"], "description": ["x"]}
    steps = plan_state(group, then).steps
    assert [
        (s.op, s.attribute, s.payload.get("member") or s.payload.get("body")) for s in steps
    ] == [
        ("patch", "displayName", {"displayName": "Tier 0"}),
        ("add-link", "members", "m1"),
        ("remove-link", "members", "m3"),
    ]


def test_nothing_selected_is_said() -> None:
    with pytest.raises(EntraPlanningError, match="nothing to undo"):
        plan_changes([], {}, force=False)


def _schedule(external_id: str, end: str) -> RecordedObject:
    state = {
        "id": [external_id],
        "principalId": ["u1"],
        "roleDefinitionId": ["194ae4cb-b126-40b2-bd5b-6091b380977d"],
        "directoryScopeId": ["/"],
        "scheduleInfo": [
            {
                "startDateTime": "2026-01-05T08:00:00Z",
                "recurrence": None,
                "expiration": {"type": "afterDateTime", "endDateTime": end, "duration": None},
            }
        ],
    }
    return _obj(
        "entra.pim_eligible_schedule",
        external_id,
        {"isDeleted": [True]},
        deleted=True,
        last_live=state,
    )


def test_a_pim_schedule_requested_anew_keeps_its_start_and_end_unless_the_end_has_passed() -> None:
    future, past = _schedule("s1", "2999-01-05T08:00:00Z"), _schedule("s2", "2020-01-05T08:00:00Z")
    changes = [_change(1, "s1", "delete", "id"), _change(2, "s2", "delete", "id")]
    plan = plan_changes(changes, {"s1": future, "s2": past}, force=False)
    kept, refused = plan.steps
    body = kept.payload["create"]["request"]["body"]
    assert body["action"] == "adminAssign" and not kept.skipped
    assert body["scheduleInfo"]["startDateTime"] == "2026-01-05T08:00:00Z"
    assert body["scheduleInfo"]["expiration"]["endDateTime"] == "2999-01-05T08:00:00Z"
    assert refused.skipped
    assert "recorded end (2020-01-05T08:00:00Z) has passed" in refused.description
