"""The keep-members plan and its guard (pure), and the rule file's checks of the action."""

from __future__ import annotations

import pytest

from dirguard.core.delegation import Scope, ScopeKind, Target, member_key
from dirguard.core.membership_sync import plan_membership
from dirguard.core.rules import RuleError, parse_rule


def _members(*names: str) -> dict[str, str]:
    return {n: n.upper() for n in names}


def test_adds_what_matches_and_removes_what_no_longer_does() -> None:
    plan = plan_membership(_members("a", "b", "c", "d", "e"), _members("a", "b", "c", "d", "f"))
    assert plan.adds == (("f", "F"),) and plan.removes == (("e", "E"),)
    assert plan.held is None
    assert plan.counts() == {"members": 5, "desired": 5, "add": 1, "remove": 1}


def test_equal_sets_change_nothing() -> None:
    assert plan_membership(_members("a", "b"), _members("b", "a")).changes_nothing


def test_more_removals_than_the_percentage_are_held_unless_forced() -> None:
    current = _members(*"abcdefghij")
    plan = plan_membership(current, _members(*"abcdefg"), max_remove_percent=20)
    assert plan.held is not None and "3 of 10" in plan.held and "30%" in plan.held
    assert plan.removes == (("h", "H"), ("i", "I"), ("j", "J"))  # still shown
    assert plan_membership(current, _members(*"abcdefgh"), max_remove_percent=20).held is None
    forced = plan_membership(current, _members(*"abcdefg"), max_remove_percent=20, force=True)
    assert forced.held is None and len(forced.removes) == 3


def test_one_leaver_of_a_small_group_is_never_held() -> None:
    assert plan_membership(_members("a", "b"), _members("a")).held is None


def test_a_scope_that_finds_nothing_never_empties_a_group_without_force() -> None:
    plan = plan_membership(_members("a"), {}, max_remove_percent=100)
    assert plan.held is not None and "empty the group" in plan.held
    assert plan_membership(_members("a"), {}, force=True).held is None


def test_a_triggered_run_removes_only_the_objects_it_was_told_about() -> None:
    plan = plan_membership(_members("a", "b", "c"), _members("a"), removable=frozenset({"b"}))
    assert plan.removes == (("b", "B"),)


def test_a_managed_unit_contains_its_stored_members_only() -> None:
    dn = "CN=Bob,OU=Sales,DC=corp,DC=example,DC=com"
    key = member_key("ad", "cn=bob, ou=SALES,dc=corp,dc=example,dc=com")
    unit = Scope(name="u", kind=ScopeKind.MANAGED, members=frozenset({("ad:corp", key)}))
    bob = Target(source="ad:corp", directory="ad", object_kind="user", path=dn)
    assert unit.contains(bob)
    other = Target(source="ad:other", directory="ad", object_kind="user", path=dn)
    assert not unit.contains(other)


def _rule(**action: object) -> dict[str, object]:
    return {
        "name": "r",
        "scope": {"directory": "entra", "source": "contoso"},
        "actions": [{"do": "keep-members", **action}],
    }


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ({}, "needs either 'group' or 'unit'"),
        ({"group": "g", "unit": "u"}, "needs either 'group' or 'unit'"),
        ({"group": "g", "max_remove_percent": 150}, "from 0 to 100"),
        ({"group": "g", "max_remove_percent": True}, "from 0 to 100"),
        ({"unit": "u", "in": "entra:contoso"}, "'in' is for a group"),
        ({"group": "g", "in": "ad:corp"}, "an Entra group for an AD scope"),
        ({"group": "g", "members": "x"}, "unknown field(s) 'members'"),
    ],
)
def test_bad_keep_members_actions_are_named(action: dict[str, object], message: str) -> None:
    with pytest.raises(RuleError, match="action 1") as raised:
        parse_rule(_rule(**action))
    assert message in str(raised.value)


def test_a_managed_unit_takes_no_query() -> None:
    from dirguard.core.delegation import DelegationError, ObjectQuery

    with pytest.raises(DelegationError, match="managed unit"):
        Scope(name="u", kind=ScopeKind.MANAGED, query=ObjectQuery())
