"""directoryObject collections (members, memberOf, owners, ...) answered as Graph answers them:
each object with its ``@odata.type``, a user without ``$select`` with only its default
properties."""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.directory_state import Json
from dirguard_sandbox.graph_routing import Call, graph_json
from dirguard_sandbox.identity_answers import known_properties
from dirguard_sandbox.odata_query import list_page, parse_query
from dirguard_sandbox.resource_rules import USER_DEFAULT_SELECT


def object_list_answer(call: Call, objects: list[Json]) -> Response:
    """A page of a directoryObject collection (members, memberOf, owners, ...): each object
    with its ``@odata.type``; a user without ``$select`` shows only its default properties."""
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=known_properties(objects),
        type_name="directoryObject",
    )
    body = list_page(
        objects,
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set="directoryObjects",
        default_select=None,
    )
    types = {item["id"]: item["@odata.type"] for item in objects}
    rendered = []
    for item in body["value"]:
        kind = types.get(item.get("id", ""), "#microsoft.graph.directoryObject")
        if options.select is None and kind == "#microsoft.graph.user":
            item = {name: item.get(name) for name in USER_DEFAULT_SELECT}
        rendered.append(
            {"@odata.type": kind, **{k: v for k, v in item.items() if k != "@odata.type"}}
        )
    body["value"] = rendered
    return graph_json(body)
