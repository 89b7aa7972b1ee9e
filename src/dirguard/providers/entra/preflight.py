"""What the live tenant says of an Entra plan before anyone applies it (reads only).

A plan is made from history; two things only the tenant knows change what applying it will do,
and an administrator wants them in the plan, not found out halfway:

- whether a deleted object is still in ``directory/deletedItems`` ("Get deleted item",
  https://learn.microsoft.com/graph/api/directory-deleteditems-get: 404 once it is purged, or
  30 days on): a purged user is created anew, with a new id, a new random password and its
  memberships, licences and roles given back by the plan's later steps;
- whether the licences a user created anew must get back have free seats ("List subscribedSkus",
  https://learn.microsoft.com/graph/api/subscribedsku-list: ``prepaidUnits.enabled`` less
  ``consumedUnits``). A restore with the same id needs none (the user kept its licences: "Recover
  from deletions"); a purged user's seat was freed, and someone else may have taken it.

Each finding is one warning sentence naming the object, the SKU and the seat counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from dirguard.core.plan import Step, ref_name
from dirguard.providers.entra.graph_client import GraphClient, GraphError

LICENSES = "assignedLicenses"


def _purged(graph: GraphClient, step: Step) -> bool:
    try:
        graph.get(f"directory/deletedItems/{step.target.external_id}", **{"$select": "id"})
    except GraphError as error:
        if error.status == 404:
            return True
        raise
    return False


def _gone_from_deleted_items(graph: GraphClient, steps: Sequence[Step]) -> dict[str, Step]:
    """The restore steps whose object Graph no longer holds in deleted items (and is not live
    either), by the id name they produce."""
    found: dict[str, Step] = {}
    for step in steps:
        if step.op != "restore" or step.skipped or step.produces is None:
            continue
        path = f"{step.payload['collection']}/{step.target.external_id}"
        try:
            graph.get(path, **{"$select": "id"})
            continue  # not deleted any more
        except GraphError as error:
            if error.status != 404:
                raise
        if _purged(graph, step):
            found[step.produces] = step
    return found


def _seats(graph: GraphClient) -> dict[str, tuple[str, int]]:
    """SKU id -> (part number, free seats)."""
    seats: dict[str, tuple[str, int]] = {}
    for sku in graph.pages("subscribedSkus"):
        enabled = int((sku.get("prepaidUnits") or {}).get("enabled") or 0)
        consumed = int(sku.get("consumedUnits") or 0)
        seats[str(sku.get("skuId")).lower()] = (str(sku.get("skuPartNumber")), enabled - consumed)
    return seats


def plan_warnings(graph: GraphClient, steps: Sequence[Step]) -> tuple[str, ...]:
    """The warnings the live tenant gives for ``steps`` (see the module docstring)."""
    purged = _gone_from_deleted_items(graph, steps)
    warnings = [
        f"{step.target.label} is no longer in deleted items (purged): it is created anew with "
        "a new id and a new random password (reset it before handing the account over); "
        "every reference to it is given the new id"
        for step in purged.values()
    ]
    wanted: Counter[str] = Counter()
    for step in steps:
        made = ref_name(step.target.external_id)
        if step.op == "write-apart" and step.attribute == LICENSES and made in purged:
            for value in step.payload.get("value") or ():
                wanted[str(value.get("skuId")).lower()] += 1
    if wanted:
        seats = _seats(graph)
        for sku, needed in sorted(wanted.items()):
            name, free = seats.get(sku, (sku, 0))
            if needed > free:
                warnings.append(
                    f"licence {name} ({sku}) cannot be re-assigned to {needed - max(free, 0)} of "
                    f"the {needed} user(s) created anew: {max(free, 0)} free seat(s); their "
                    "licence steps will fail until seats are freed or bought"
                )
    return tuple(warnings)
