"""The pure planner on recorded facts: order (parents before children, objects before their
links, created objects deleted children first), read-only and volatile attributes never written,
conflicts named and skipped unless forced, and planning errors that say what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.plan.restore_plan import (
    HistoryEvent,
    ObjectFacts,
    PlanningError,
    StepKind,
)
from dirguard.providers.ad.plan.undo_planner import plan_events, plan_point_in_time, plan_undelete
from dirguard.providers.ad.values import Content
from dirguard.providers.registry import RESOURCE_TYPES

BASE = "DC=corp,DC=example"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def _facts(guid: str, dn: str, kind: str = "ad.user", **content: list[str | bytes]) -> ObjectFacts:
    current: Content = {"distinguishedName": [dn], **content}
    return ObjectFacts(
        guid=guid, resource_type=RESOURCE_TYPES[kind], dn=dn, deleted=False, current=current
    )


def _event(
    n: int, guid: str, op: ChangeOp, attribute: str | None, old: object, new: object
) -> HistoryEvent:
    return HistoryEvent(
        id=n, sequence=n, object_guid=guid, op=op, attribute=attribute, old=old, new=new, when=WHEN
    )


def test_steps_are_ordered_moves_parents_first_links_after_objects_deletes_children_first() -> None:
    ou, child, user, group = (
        _facts("ou", f"OU=New,{BASE}", "ad.organizational_unit"),
        _facts("child", f"OU=Sub,OU=New,{BASE}", "ad.organizational_unit"),
        _facts("user", f"CN=jo,OU=B,OU=A,{BASE}", description=["later"]),
        _facts("group", f"CN=Sales,{BASE}", "ad.group", member=[f"CN=jo,OU=B,OU=A,{BASE}"]),
    )
    facts = {f.guid: f for f in (ou, child, user, group)}
    events = [
        _event(1, "group", ChangeOp.ADD_VALUE, "member", None, f"CN=jo,OU=B,OU=A,{BASE}"),
        _event(2, "ou", ChangeOp.CREATE, None, None, {}),
        _event(3, "child", ChangeOp.CREATE, None, None, {}),
        _event(4, "user", ChangeOp.MODIFY, "description", "before", "later"),
        _event(5, "user", ChangeOp.MOVE, "distinguishedName", f"CN=jo,{BASE}", user.dn),
    ]
    steps = plan_events(events, facts).steps
    assert [(s.kind, s.object_guid) for s in steps] == [
        (StepKind.MOVE, "user"),
        (StepKind.SET, "user"),
        (StepKind.REMOVE_VALUE, "group"),
        (StepKind.DELETE, "child"),
        (StepKind.DELETE, "ou"),
    ]
    assert steps[0].description == f"Move {user.dn} back to {BASE}"
    assert steps[2].description == f"Remove CN=jo from group {group.dn}"


def test_read_only_and_volatile_attributes_are_never_written() -> None:
    user = _facts("u", f"CN=jo,{BASE}", whenChanged=["2"], objectSid=[b"\x01"], title=["b"])
    target: Content = {
        "distinguishedName": [user.dn],
        "whenChanged": ["1"],
        "objectSid": [b"\x02"],
        "title": ["a"],
    }
    steps = plan_point_in_time(user, target).steps
    assert [(s.attribute, s.values) for s in steps] == [("title", ("a",))]
    events = [_event(1, "u", ChangeOp.MODIFY, "uSNChanged", "1", "2")]
    assert plan_events(events, {"u": user}).steps == ()


def test_a_value_changed_again_is_a_conflict_skipped_unless_forced() -> None:
    user = _facts("u", f"CN=jo,{BASE}", description=["third"])
    events = [_event(1, "u", ChangeOp.MODIFY, "description", "first", "second")]
    [skipped] = plan_events(events, {"u": user}).steps
    assert (
        skipped.skipped
        and skipped.conflict == "changed again since: it is now 'third', not 'second'"
    )
    draft = plan_events(events, {"u": user}, force=True)
    assert not draft.steps[0].skipped
    assert draft.warnings == (
        f"{skipped.description}: {skipped.conflict}; applied anyway (--force)",
    )


def test_planning_errors_name_the_problem() -> None:
    user = _facts("u", f"CN=jo,{BASE}")
    with pytest.raises(PlanningError, match="holds no change events"):
        plan_events([], {})
    with pytest.raises(PlanningError, match="not in dirguard's store"):
        plan_events([_event(1, "x", ChangeOp.MODIFY, "title", "a", "b")], {"u": user})
    with pytest.raises(PlanningError, match="is not deleted"):
        plan_undelete(user, [])


def _deleted_user(flags: int) -> ObjectFacts:
    dn = "CN=jdoe,OU=Sales,DC=corp,DC=example"
    live: Content = {
        "distinguishedName": [dn],
        "sAMAccountName": ["jdoe"],
        "userAccountControl": [str(flags)],
        "description": ["kept"],
    }
    tombstone: Content = {
        "distinguishedName": ["CN=jdoe\\0ADEL:1,CN=Deleted Objects,DC=corp,DC=example"],
        "userAccountControl": [str(flags)],
        "isDeleted": ["TRUE"],
    }
    return ObjectFacts(
        guid="u",
        resource_type=RESOURCE_TYPES["ad.user"],
        dn=str(tombstone["distinguishedName"][0]),
        deleted=True,
        current=tombstone,
        last_live=live,
    )


def test_an_undeleted_account_is_told_its_password_is_not_back() -> None:
    steps = plan_undelete(_deleted_user(0x200), []).steps
    [reanimate] = [s for s in steps if s.kind is StepKind.REANIMATE]
    assert "its password is not restored" in reanimate.description
    assert not [s for s in steps if s.attribute == "userAccountControl"], "enabled as it was"


def test_an_account_that_needs_no_password_comes_back_disabled() -> None:
    steps = plan_undelete(_deleted_user(0x200 | 0x20), []).steps
    [reanimate] = [s for s in steps if s.kind is StepKind.REANIMATE]
    assert "comes back disabled" in reanimate.description
    [uac] = [s for s in steps if s.attribute == "userAccountControl"]
    assert uac.values == (str(0x200 | 0x20 | 0x2),)
