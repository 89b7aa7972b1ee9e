"""A user's manager (``GET /users/{id}/manager``, ``PUT`` and ``DELETE .../manager/$ref``), their
direct reports, and ``/users/$count`` and ``/groups/$count`` (plain text; ``ConsistencyLevel:
eventual`` required, as Graph requires it)."""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.audit import record_audit
from dirguard_sandbox.directory_state import Json
from dirguard_sandbox.errors import GraphError, bad_request, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.odata_expand import direct_reports, directory_object
from dirguard_sandbox.odata_filter import parse_filter
from dirguard_sandbox.odata_query import context_url, list_page, parse_query
from dirguard_sandbox.resource_rules import GROUP_PROPERTIES, USER_PROPERTIES
from dirguard_sandbox.routes_users import find_user


def _manager_audit(call: Call, activity: str, user: Json, manager: Json) -> None:
    record_audit(
        call.state,
        actor=call.actor,
        activity=activity,
        category="UserManagement",
        operation_type="Assign" if activity.startswith("Set") else "Unassign",
        targets=[
            {
                "id": user["id"],
                "displayName": user.get("displayName"),
                "type": "User",
                "userPrincipalName": user.get("userPrincipalName"),
                "groupType": None,
                "modifiedProperties": [],
            },
            {
                "id": manager["id"],
                "displayName": manager.get("displayName"),
                "type": "User",
                "userPrincipalName": manager.get("userPrincipalName"),
                "groupType": None,
                "modifiedProperties": [],
            },
        ],
    )


@handles("GET", "/users/{user-id}/manager")
async def get_manager(call: Call) -> Response:
    user = find_user(call.state, call.param("user_id"))
    manager = directory_object(call.state, call.state.managers.get(user["id"], ""))
    if manager is None:
        raise not_found("manager")
    return graph_json(
        {"@odata.context": f"{call.graph_base}/$metadata#directoryObjects/$entity", **manager}
    )


@handles("GET", "/contacts/{orgContact-id}/manager")
async def get_contact_manager(call: Call) -> Response:
    """A contact's manager ("orgContact: Get manager",
    https://learn.microsoft.com/graph/api/orgcontact-get-manager): 404 when it has none."""
    contact_id = call.param("orgContact_id")
    if contact_id not in call.state.contacts:
        raise not_found(contact_id)
    manager = directory_object(call.state, call.state.managers.get(contact_id, ""))
    if manager is None:
        raise not_found("manager")
    return graph_json(
        {"@odata.context": f"{call.graph_base}/$metadata#directoryObjects/$entity", **manager}
    )


@handles("PUT", "/users/{user-id}/manager/$ref")
async def set_manager(call: Call) -> Response:
    state = call.state
    user = find_user(state, call.param("user_id"))
    reference = (await call.body()).get("@odata.id")
    if not isinstance(reference, str) or "/" not in reference:
        raise bad_request(
            'Give the manager as {"@odata.id": "https://graph.microsoft.com/v1.0/users/{id}"}.'
        )
    manager = find_user(state, reference.rstrip("/").rsplit("/", 1)[1])
    if manager["id"] == user["id"]:
        raise bad_request("A user cannot be their own manager.")
    chain, cursor = {user["id"]}, manager["id"]
    while cursor in state.managers:
        if cursor in chain:
            break
        chain.add(cursor)
        cursor = state.managers[cursor]
    if cursor == user["id"] or user["id"] in chain - {user["id"]}:
        raise bad_request("Setting this manager would make a reporting loop.")
    state.managers[user["id"]] = manager["id"]
    state.bump(user["id"])
    _manager_audit(call, "Set user manager", user, manager)
    return no_content()


@handles("DELETE", "/users/{user-id}/manager/$ref")
async def remove_manager(call: Call) -> Response:
    state = call.state
    user = find_user(state, call.param("user_id"))
    manager_id = state.managers.pop(user["id"], None)
    if manager_id is None:
        raise not_found("manager")
    state.bump(user["id"])
    manager = state.users.get(manager_id, {"id": manager_id})
    _manager_audit(call, "Remove user manager", user, manager)
    return no_content()


@handles("GET", "/users/{user-id}/directReports")
async def list_direct_reports(call: Call) -> Response:
    user = find_user(call.state, call.param("user_id"))
    options = parse_query(
        call.request.query_params, call.request.headers, known=USER_PROPERTIES, type_name="user"
    )
    reports = [directory_object(call.state, uid) for uid in direct_reports(call.state, user["id"])]
    records = [report for report in reports if report is not None]
    body = list_page(
        records,
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set="directoryObjects",
        default_select=None,
    )
    if options.select is not None:
        body["value"] = [
            {"@odata.type": record["@odata.type"], **item}
            for record, item in zip(records[options.offset :], body["value"], strict=False)
        ]
    body["@odata.context"] = context_url(call.graph_base, "directoryObjects", options.select)
    return graph_json(body)


def _count(call: Call, records: list[Json], known: frozenset[str], type_name: str) -> Response:
    if call.request.headers.get("consistencylevel", "").lower() != "eventual":
        raise GraphError(
            400,
            "Request_BadRequest",
            "$count is not currently supported without the ConsistencyLevel header set to "
            "eventual.",
        )
    text = call.request.query_params.get("$filter")
    if text is not None:
        predicate = parse_filter(text, known=known, type_name=type_name).predicate
        records = [record for record in records if predicate(record)]
    return Response(str(len(records)), media_type="text/plain;charset=utf-8")


@handles("GET", "/users/$count")
async def count_users(call: Call) -> Response:
    return _count(call, list(call.state.users.values()), USER_PROPERTIES, "user")


@handles("GET", "/groups/$count")
async def count_groups(call: Call) -> Response:
    return _count(call, list(call.state.groups.values()), GROUP_PROPERTIES, "group")
