"""Group-based licensing: a group's ``assignedLicenses`` are inherited by its user members.

Sources (Microsoft):

- "group: assignLicense" (https://learn.microsoft.com/graph/api/group-assignlicense): licenses
  added to or removed from a group are assigned to all users in the group; ``addLicenses``
  (``skuId``, ``disabledPlans``) and ``removeLicenses`` are both required (possibly empty); the
  answer is ``202 Accepted`` with the group.
- "licenseAssignmentState resource type"
  (https://learn.microsoft.com/graph/api/resources/licenseassignmentstate): one entry per
  assignment of a user; ``assignedByGroup`` is null for a direct assignment and the group's id
  for an inherited one; ``state`` Active / ActiveWithError / Disabled / Error; ``error`` null
  when assigned, ``CountViolation`` when there are not enough licenses.
- "What is group-based licensing" and "Scenarios, limitations, and known issues using groups to
  manage licensing" (https://learn.microsoft.com/entra/identity/users/licensing-group-advanced):
  a user can hold the same product directly and from one or more groups and consumes one
  license for it; only direct user members inherit (nested groups are not supported); a user
  without a free license gets the assignment in error instead of the group change failing.

The user's ``assignedLicenses`` are what its active assignments give: one entry per SKU, a
service plan disabled only when every assignment of the SKU disables it.
"""

from __future__ import annotations

from dirguard_sandbox.directory_state import DirectoryState, Json, graph_time
from dirguard_sandbox.license_catalog import SKUS_BY_ID, consumed_units, subscribed_sku_of


def assignment_states(user: Json) -> list[Json]:
    """The user's licenseAssignmentStates; a record that never had any (seeded with
    assignedLicenses only) holds its assignedLicenses directly."""
    states = user.get("licenseAssignmentStates")
    if states:
        return list(states)
    return [
        direct_state(assigned, state="Active", when=None)
        for assigned in user.get("assignedLicenses") or []
    ]


def direct_state(assigned: Json, *, state: str, when: str | None) -> Json:
    return {
        "assignedByGroup": None,
        "disabledPlans": list(assigned.get("disabledPlans") or []),
        "error": None,
        "lastUpdatedDateTime": when,
        "skuId": assigned["skuId"],
        "state": state,
    }


def _effective(states: list[Json]) -> list[Json]:
    """assignedLicenses from the active assignments, in the order the SKUs first appear."""
    disabled: dict[str, set[str]] = {}
    for entry in states:
        if entry["state"] not in ("Active", "ActiveWithError"):
            continue
        plans = set(entry.get("disabledPlans") or [])
        held = disabled.get(entry["skuId"])
        disabled[entry["skuId"]] = plans if held is None else held & plans
    assigned = []
    for sku_id, off in disabled.items():
        sku = SKUS_BY_ID.get(sku_id)
        order = [plan for plan, _ in sku.service_plans] if sku else sorted(off)
        assigned.append({"disabledPlans": [p for p in order if p in off], "skuId": sku_id})
    return assigned


def _licensing_groups(state: DirectoryState, user_id: str) -> list[Json]:
    return [
        group
        for group_id, group in state.groups.items()
        if group.get("assignedLicenses") and user_id in state.members.get(group_id, [])
    ]


def refresh_user(state: DirectoryState, user_id: str, direct: list[Json] | None = None) -> bool:
    """Recompute a live user's inherited assignments from the groups it is a direct member of
    (and its direct ones from ``direct`` when given); True when its assignedLicenses changed."""
    user = state.users.get(user_id)
    if user is None:
        return False
    now = graph_time(state.now())
    old = assignment_states(user)
    kept = direct if direct is not None else [s for s in old if s["assignedByGroup"] is None]
    previous = {(s["assignedByGroup"], s["skuId"]): s for s in old if s["assignedByGroup"]}
    states = list(kept)
    for group in _licensing_groups(state, user_id):
        for assigned in group["assignedLicenses"]:
            key = (group["id"], assigned["skuId"])
            before = previous.get(key)
            if before is not None and before["disabledPlans"] == assigned["disabledPlans"]:
                states.append(before)
                continue
            states.append(_inherited(state, user, states, group["id"], assigned, now))
    before_licenses = user.get("assignedLicenses") or []
    user["licenseAssignmentStates"] = states
    user["assignedLicenses"] = _effective(states)
    changed = sorted(map(str, before_licenses)) != sorted(map(str, user["assignedLicenses"]))
    if changed or states != old:
        state.bump(user_id)
    return changed


def _inherited(
    state: DirectoryState, user: Json, states: list[Json], group_id: str, assigned: Json, now: str
) -> Json:
    sku_id = assigned["skuId"]
    holds = any(s["skuId"] == sku_id and s["state"] == "Active" for s in states) or any(
        a["skuId"] == sku_id for a in user.get("assignedLicenses") or []
    )
    subscribed = subscribed_sku_of(state, sku_id)
    free = subscribed is not None and (
        consumed_units(state, sku_id) < subscribed["prepaidUnits"]["enabled"]
    )
    ok = holds or free
    return {
        "assignedByGroup": group_id,
        "disabledPlans": list(assigned.get("disabledPlans") or []),
        "error": None if ok else "CountViolation",
        "lastUpdatedDateTime": now,
        "skuId": sku_id,
        "state": "Active" if ok else "Error",
    }


def refresh_members(state: DirectoryState, member_ids: list[str]) -> None:
    for member_id in member_ids:
        refresh_user(state, member_id)
