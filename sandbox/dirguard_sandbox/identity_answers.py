"""Shared pieces of the application, consent and role routes: collection and entity answers,
audit targets for non-user objects, and the tenant's Microsoft Graph service principal."""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.audit import record_audit
from dirguard_sandbox.directory_state import DirectoryState, Json
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, graph_json
from dirguard_sandbox.odata_query import context_url, list_page, parse_query, project
from dirguard_sandbox.permissions_table import GRAPH_APP_ID


def known_properties(records: list[Json], template: Json | None = None) -> frozenset[str]:
    names: set[str] = set(template or {"id": None})
    for record in records:
        names.update(record)
    return frozenset(names)


ADVANCED_ORDERABLE = frozenset({"displayName"})
"""What applications and service principals sort by, only as an advanced query (``$count=true``
with ``ConsistencyLevel: eventual``), as Graph allows it."""


def _advanced(call: Call) -> bool:
    params = call.request.query_params
    eventual = call.request.headers.get("consistencylevel", "").lower() == "eventual"
    return eventual and params.get("$count", "").lower() == "true"


def collection_answer(
    call: Call,
    records: list[Json],
    entity_set: str,
    type_name: str,
    template: Json | None = None,
    *,
    annotate: str | None = None,
    advanced_orderable: frozenset[str] = frozenset(),
) -> Response:
    """One page of ``records``; ``advanced_orderable`` names what ``$orderby`` may sort by in an
    advanced query (anything else, or without one, is 400 Request_UnsupportedQuery)."""
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=known_properties(records, template),
        type_name=type_name,
        orderable=advanced_orderable if _advanced(call) else frozenset(),
    )
    body = list_page(
        records,
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set=entity_set,
        default_select=None,
        annotate_type=annotate,
    )
    return graph_json(body)


def entity_answer(
    call: Call,
    record: Json,
    entity_set: str,
    status: int = 200,
    *,
    known: frozenset[str] | None = None,
    type_name: str | None = None,
) -> Response:
    """One entity with its ``@odata.context``, ``$select`` applied (``known``: the properties
    ``$select`` may name, by default the record's own; ``type_name`` for error messages)."""
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=frozenset(record) if known is None else known,
        type_name=type_name or entity_set,
    )
    return graph_json(
        {
            "@odata.context": context_url(call.graph_base, entity_set, options.select) + "/$entity",
            **project(record, options.select, None),
        },
        status,
    )


def require(table: dict[str, Json], object_id: str) -> Json:
    record = table.get(object_id)
    if record is None:
        raise not_found(object_id)
    return record


def required_fields(body: Json, names: tuple[str, ...], resource: str) -> None:
    missing = [name for name in names if body.get(name) in (None, "")]
    if missing:
        raise bad_request(
            f"Property '{missing[0]}' is required when creating the {resource} "
            f"(missing: {', '.join(missing)})."
        )


def audit_change(
    call: Call,
    *,
    activity: str,
    category: str,
    operation_type: str,
    object_type: str,
    record: Json,
    modified: list[Json] | None = None,
    extra_targets: list[Json] | None = None,
) -> None:
    """A directoryAudit naming the changed object, as Core Directory logs app and role changes."""
    targets = [
        {
            "id": record.get("id"),
            "displayName": record.get("displayName") or record.get("principalDisplayName"),
            "type": object_type,
            "userPrincipalName": None,
            "groupType": None,
            "modifiedProperties": modified or [],
        },
        *(extra_targets or []),
    ]
    record_audit(
        call.state,
        actor=call.actor,
        activity=activity,
        category=category,
        operation_type=operation_type,
        targets=targets,
    )


def graph_service_principal(state: DirectoryState) -> Json:
    for record in state.service_principals.values():
        if record["appId"] == GRAPH_APP_ID:
            return record
    raise LookupError("the tenant has no Microsoft Graph service principal")


def directory_object(state: DirectoryState, object_id: str) -> Json | None:
    """A live user, group or service principal with its ``@odata.type``, or None."""
    record = state.lookup(object_id)
    object_type = state.object_type(object_id)
    if record is None or object_type is None:
        return None
    return {"@odata.type": object_type, **record}
