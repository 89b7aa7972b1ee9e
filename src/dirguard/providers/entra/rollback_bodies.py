"""The rollback's view of Graph write bodies (pure), with no rules of its own: every value's
shape and every writable field come from the row's declaration through
:mod:`dirguard.providers.entra.write_bodies` (``graph_json``, ``patch_plan``), the one body
builder snapshot-restore, re-creation and the rollback share.

dirguard stores every property as a list of values; Graph wants a collection property
(``source.collections``, from Microsoft's CSDL) or a multi-valued link as an array and anything
else as its one value. Fields a row writes by calls of their own (``GraphWrites.separate``:
credentials through ``addPassword``/``removePassword``) are not PATCHed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dirguard.catalog.graph_rules import SeparateWrite
from dirguard.catalog.resource_type import ResourceType
from dirguard.providers.entra.write_bodies import graph_json, graph_source, patch_plan


def stored(values: Any) -> list[Any]:
    """An event's value (a list of values, one value, or ``None``) in the store's form."""
    return list(values) if isinstance(values, list) else [] if values is None else [values]


def graph_value(row: ResourceType, attribute: str, values: Any) -> Any:
    """A stored value as Graph writes ``attribute`` of ``row``."""
    return graph_json(row, {attribute: stored(values)}).get(attribute)


def collection_path(row: ResourceType) -> str:
    return graph_source(row).collection


def written_apart(row: ResourceType) -> frozenset[str]:
    """Fields written by calls of their own, never by a PATCH."""
    writes = row.writes
    return frozenset(s.field for s in writes.separate) if writes is not None else frozenset()


def restored_apart(row: ResourceType) -> dict[str, SeparateWrite]:
    """Fields written apart that a brought-back object may get from history by a step of
    their own (a user's licences through ``assignLicense``): those with a call and a builder."""
    writes = row.writes
    if writes is None:
        return {}
    return {s.field: s for s in writes.separate if s.build is not None and s.call}


def patch_of(
    row: ResourceType, attribute: str, before: Any, current: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, str | None]:
    """The PATCH body that writes ``attribute`` back to ``before`` over ``current`` (the
    object's stored state now) by the row's write rules (``patch_plan``: ``@odata.type`` where
    Graph wants it), or why it is not written (read-only, set only at creation, owned by
    on-premises AD, an immutable type)."""
    simple = {attribute: graph_value(row, attribute, before)}
    target = graph_json(row, {**current, attribute: stored(before)})
    try:
        plan = patch_plan(row, target, graph_json(row, current))
    except ValueError:  # a state without its id (the path is the step's, not the plan's)
        return simple, None
    refused = next((r.reason for r in plan.refused if r.field == attribute), None)
    if refused is not None:
        return None, refused
    for request in plan.requests:
        if request.method == "PATCH" and request.body and attribute in request.body:
            return dict(request.body), None
    return simple, None
