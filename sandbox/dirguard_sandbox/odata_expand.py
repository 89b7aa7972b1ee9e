"""``$expand`` on users (``manager``, ``directReports``) and groups (``members``, ``owners``).

Graph answers an expanded single-valued navigation property as an object with its
``@odata.type`` (left out when there is none: a user without a manager has no ``manager`` key),
and expands at most 20 objects of a collection.
"""

from __future__ import annotations

from collections.abc import Callable

from dirguard_sandbox.directory_state import DirectoryState, Json
from dirguard_sandbox.odata_query import project
from dirguard_sandbox.resource_rules import USER_DEFAULT_SELECT

EXPANDED_LIMIT = 20
USER_EXPANDABLE = frozenset({"manager", "directReports"})
GROUP_EXPANDABLE = frozenset({"members", "owners"})
USER_ORDERABLE = frozenset({"displayName", "userPrincipalName"})
GROUP_ORDERABLE = frozenset({"displayName"})

Decorate = Callable[[Json, Json], None]


def directory_object(state: DirectoryState, object_id: str) -> Json | None:
    """A live object as Graph shows it inside a directoryObject collection."""
    record = state.lookup(object_id)
    object_type = state.object_type(object_id)
    if record is None or object_type is None:
        return None
    default = USER_DEFAULT_SELECT if object_type == "#microsoft.graph.user" else None
    return {"@odata.type": object_type, **project(record, None, default)}


def direct_reports(state: DirectoryState, manager_id: str) -> list[str]:
    return [user for user, manager in state.managers.items() if manager == manager_id]


def _objects(state: DirectoryState, ids: list[str]) -> list[Json]:
    found = (directory_object(state, object_id) for object_id in ids)
    return [item for item in found if item is not None][:EXPANDED_LIMIT]


def expansion(state: DirectoryState, expand: str | None) -> Decorate | None:
    """What adds ``expand`` to each answered item, or None when nothing was asked."""
    if expand is None:
        return None

    def decorate(record: Json, item: Json) -> None:
        object_id = record["id"]
        if expand == "manager":
            manager = directory_object(state, state.managers.get(object_id, ""))
            if manager is not None:
                item["manager"] = manager
        elif expand == "directReports":
            item["directReports"] = _objects(state, direct_reports(state, object_id))
        elif expand == "members":
            item["members"] = _objects(state, state.members.get(object_id, []))
        elif expand == "owners":
            item["owners"] = _objects(state, state.owners.get(object_id, []))

    return decorate
