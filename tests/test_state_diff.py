"""Comparing two states of one object follows its row: volatile fields left out, unordered
fields as sets of values added and removed, everything else as a whole value."""

from __future__ import annotations

from dirguard.core.state_diff import Presence, compare_states
from dirguard.providers.registry import RESOURCE_TYPES

GROUP = RESOURCE_TYPES["ad.group"]


def test_volatile_fields_and_member_order_do_not_count() -> None:
    before = {"member": ["CN=a", "CN=b"], "whenChanged": ["20260101"], "description": ["x"]}
    after = {"member": ["CN=b", "CN=a"], "whenChanged": ["20261203"], "description": ["x"]}
    assert compare_states(GROUP, before, after).presence is Presence.SAME


def test_members_added_and_removed_and_a_changed_value() -> None:
    before = {"member": ["CN=a", "CN=b"], "description": ["x"]}
    after = {"member": ["CN=b", "CN=c"], "description": ["y"], "info": ["new"]}
    found = compare_states(GROUP, before, after)
    assert found.presence is Presence.CHANGED
    by_field = {f.field: f for f in found.fields}
    assert (by_field["member"].added, by_field["member"].removed) == (("CN=c",), ("CN=a",))
    assert (by_field["description"].before, by_field["description"].after) == (["x"], ["y"])
    assert (by_field["info"].before, by_field["info"].after) == (None, ["new"])


def test_an_object_only_on_one_side() -> None:
    assert compare_states(GROUP, None, {"cn": ["g"]}).presence is Presence.ADDED
    assert compare_states(GROUP, {"cn": ["g"]}, None).presence is Presence.REMOVED
