"""The pure planner on recorded facts, for a bad hour's tangles: an OU renamed and a child
deleted inside it comes back under the old name after the rename; a parent moved after its
child is moved back first and the child is expected where that leaves it; a link value names
the member where it will be; created accounts disabled by policy, other created objects deleted
with a warning; an OU deleted with its children is reanimated first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dirguard.core.change_op import ChangeOp
from dirguard.providers.ad.plan.restore_plan import HistoryEvent, ObjectFacts, StepKind
from dirguard.providers.ad.plan.undo_planner import plan_events
from dirguard.providers.ad.values import Content
from dirguard.providers.registry import RESOURCE_TYPES

BASE = "DC=corp,DC=example"
WHEN = datetime(2026, 1, 1, tzinfo=UTC)
TOMB = "\\0ADEL:{0},CN=Deleted Objects," + BASE


def _facts(
    guid: str, dn: str, kind: str = "ad.user", live: Content | None = None, **content: list[str]
) -> ObjectFacts:
    current: Content = {"distinguishedName": [dn], **content}
    return ObjectFacts(
        guid=guid,
        resource_type=RESOURCE_TYPES[kind],
        dn=dn,
        deleted=live is not None,
        current=current,
        last_live=live,
    )


def _event(n: int, guid: str, op: ChangeOp, old: object, new: object, attribute: str = "") -> Any:
    return HistoryEvent(
        id=n,
        sequence=n,
        object_guid=guid,
        op=op,
        attribute=attribute or "distinguishedName",
        old=old,
        new=new,
        when=WHEN,
    )


def test_a_child_deleted_inside_a_renamed_ou_comes_back_under_the_old_name() -> None:
    old_ou, new_ou = f"OU=Sales,{BASE}", f"OU=Gone,{BASE}"
    kid_live = {"distinguishedName": [f"CN=kid,{new_ou}"], "description": ["kept"]}
    tomb = "CN=kid" + TOMB.format("k")
    facts = {
        "ou": _facts("ou", new_ou, "ad.organizational_unit"),
        "kid": _facts("kid", tomb, live=kid_live),
    }
    events = [
        _event(1, "ou", ChangeOp.RENAME, old_ou, new_ou),
        _event(2, "kid", ChangeOp.DELETE, f"CN=kid,{new_ou}", tomb),
    ]
    steps = plan_events(events, facts).steps
    assert [(s.kind, s.object_guid, s.values[:1]) for s in steps[:2]] == [
        (StepKind.MOVE, "ou", (old_ou,)),
        (StepKind.REANIMATE, "kid", (f"CN=kid,{old_ou}",)),
    ]
    assert steps[0].description == f"Rename {new_ou} back to OU=Sales"


def test_a_parent_moved_after_its_child_goes_back_first_and_the_child_follows() -> None:
    home, a_then = f"OU=Home,{BASE}", f"OU=A,{BASE}"
    a_now = f"OU=A,OU=B,{BASE}"
    child_now = f"CN=c,{a_now}"
    facts = {
        "a": _facts("a", a_now, "ad.organizational_unit"),
        "c": _facts("c", child_now),
    }
    events = [
        _event(1, "c", ChangeOp.MOVE, f"CN=c,{home}", f"CN=c,{a_then}"),
        _event(2, "a", ChangeOp.MOVE, a_then, a_now),
    ]
    draft = plan_events(events, facts)
    assert draft.warnings == (), "the child's new DN is explained by its parent's move"
    first, second = draft.steps
    assert (first.object_guid, first.expected, first.values) == ("a", (a_now,), (a_then,))
    assert (second.object_guid, second.expected, second.values) == (
        "c",
        (f"CN=c,{a_then}",),
        (f"CN=c,{home}",),
    ), "the child is expected where its parent's move back leaves it"
    assert not second.skipped


def test_a_member_removed_after_a_move_is_added_back_where_it_will_be() -> None:
    home, away = f"CN=u,OU=Home,{BASE}", f"CN=u,OU=Away,{BASE}"
    group = f"CN=g,{BASE}"
    facts = {"u": _facts("u", away), "g": _facts("g", group, "ad.group")}
    events = [
        _event(1, "u", ChangeOp.MOVE, home, away),
        _event(2, "g", ChangeOp.REMOVE_VALUE, away, None, "member"),
    ]
    steps = plan_events(events, facts).steps
    assert [(s.kind, s.values) for s in steps] == [
        (StepKind.MOVE, (home,)),
        (StepKind.ADD_VALUE, (home,)),
    ]


def test_created_accounts_are_disabled_by_policy_and_other_objects_deleted() -> None:
    user_dn, ou_dn = f"CN=new,OU=T,{BASE}", f"OU=T,{BASE}"
    facts = {
        "user": _facts("user", user_dn, userAccountControl=["512"]),
        "ou": _facts("ou", ou_dn, "ad.organizational_unit"),
    }
    events = [
        _event(1, "ou", ChangeOp.CREATE, None, {}),
        _event(2, "user", ChangeOp.CREATE, None, {}),
    ]
    deleted = plan_events(events, facts)
    assert [(s.kind, s.object_guid) for s in deleted.steps] == [
        (StepKind.DELETE, "user"),
        (StepKind.DELETE, "ou"),
    ], "children of a created OU are deleted before it"
    disabled = plan_events(events, facts, disable_instead=True)
    assert [(s.kind, s.object_guid, s.attribute, s.values, s.expected) for s in disabled.steps] == [
        (StepKind.SET, "user", "userAccountControl", ("514",), ("512",)),
        (StepKind.DELETE, "ou", None, (), None),
    ]
    assert disabled.steps[0].description.startswith(f"Disable {user_dn}")
    assert disabled.warnings == (
        f"{ou_dn} was created by the selection and is not an account that can be disabled; "
        "it is deleted",
    )


def test_an_ou_deleted_with_its_children_is_reanimated_parent_first_links_after() -> None:
    ou, user, group = f"OU=P,{BASE}", f"CN=carl,OU=P,{BASE}", f"CN=proj,OU=P,{BASE}"
    tombs = {g: f"CN={g}" + TOMB.format(g) for g in ("ou", "user", "group")}
    facts = {
        "ou": _facts("ou", tombs["ou"], "ad.organizational_unit", live={"distinguishedName": [ou]}),
        "user": _facts("user", tombs["user"], live={"distinguishedName": [user]}),
        "group": _facts(
            "group",
            tombs["group"],
            "ad.group",
            live={"distinguishedName": [group], "member": [user]},
            member=[user],  # a recorded tombstone may still show links it lost
        ),
    }
    events = [
        _event(1, "user", ChangeOp.DELETE, user, tombs["user"]),
        _event(2, "group", ChangeOp.DELETE, group, tombs["group"]),
        _event(3, "ou", ChangeOp.DELETE, ou, tombs["ou"]),
    ]
    steps = plan_events(events, facts).steps
    reanimated = [s.object_guid for s in steps if s.kind is StepKind.REANIMATE]
    assert reanimated == ["ou", "user", "group"]
    assert steps[-1].kind is StepKind.ADD_VALUE and steps[-1].values == (user,)
    cleared = {(s.object_guid, s.attribute) for s in steps if s.kind is StepKind.SET}
    assert cleared == {
        (guid, name) for guid in ("user", "group") for name in ("adminCount", "operatorCount")
    }, "Samba's reanimation adds these to security principals; the OU gets none"
