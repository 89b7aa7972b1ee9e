"""``/users``: list, get, create, update, delete (to directory/deletedItems), delta (memberOf:
``routes_relationships``)."""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.audit import modified_properties, record_audit, target
from dirguard_sandbox.delta import delta_response
from dirguard_sandbox.directory_recovery import set_aside_assignments
from dirguard_sandbox.directory_state import DirectoryState, Json, graph_time, new_id
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.odata_expand import USER_EXPANDABLE, USER_ORDERABLE, expansion
from dirguard_sandbox.odata_query import QueryOptions, context_url, list_page, parse_query, project
from dirguard_sandbox.resource_rules import (
    USER_DEFAULT_SELECT,
    USER_PROPERTIES,
    USER_REQUIRED,
    USER_WRITABLE,
    check_body,
)
from dirguard_sandbox.seed_data import new_user_record
from dirguard_sandbox.sign_in_activity import add_sign_in_activity


def find_user(state: DirectoryState, key: str) -> Json:
    """A user by object id or userPrincipalName (case-insensitive), or a 404."""
    user = state.users.get(key)
    if user is not None:
        return user
    lowered = key.lower()
    for candidate in state.users.values():
        if candidate["userPrincipalName"].lower() == lowered:
            return candidate
    raise not_found(key)


def _check_upn(state: DirectoryState, upn: str, *, exclude: str | None = None) -> None:
    _, _, domain = upn.partition("@")
    if domain.lower() not in state.domains:
        raise bad_request(
            "The domain portion of the userPrincipalName property is invalid. You must use one "
            "of the verified domain names in your organization."
        )
    for user_id, user in state.users.items():
        if user_id != exclude and user["userPrincipalName"].lower() == upn.lower():
            raise bad_request(
                "Another object with the same value for property userPrincipalName already exists."
            )


def _user_query(call: Call) -> QueryOptions:
    return parse_query(
        call.request.query_params,
        call.request.headers,
        known=USER_PROPERTIES,
        type_name="user",
        orderable=USER_ORDERABLE,
        expandable=USER_EXPANDABLE,
    )


@handles("GET", "/users")
async def list_users(call: Call) -> Response:
    options = _user_query(call)
    body = list_page(
        list(call.state.users.values()),
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set="users",
        default_select=USER_DEFAULT_SELECT,
        decorate=add_sign_in_activity(
            call.state, call.claims, options.select, expansion(call.state, options.expand)
        ),
    )
    return graph_json(body)


@handles("GET", "/users/{user-id}")
async def get_user(call: Call) -> Response:
    options = _user_query(call)
    user = find_user(call.state, call.param("user_id"))
    body = {
        "@odata.context": context_url(call.graph_base, "users", options.select) + "/$entity",
        **project(user, options.select, USER_DEFAULT_SELECT),
    }
    decorate = add_sign_in_activity(
        call.state, call.claims, options.select, expansion(call.state, options.expand)
    )
    if decorate is not None:
        decorate(user, body)
    return graph_json(body)


@handles("POST", "/users")
async def create_user(call: Call) -> Response:
    body = await call.body()
    accepted = check_body(
        body,
        writable=USER_WRITABLE,
        resource="User",
        required=USER_REQUIRED,
        known=USER_PROPERTIES,
    )
    password = accepted.pop("passwordProfile").get("password")
    if not isinstance(password, str) or not password:
        raise bad_request("A value is required for property 'passwordProfile.password'.")
    state = call.state
    _check_upn(state, accepted["userPrincipalName"])
    user_id = new_id()
    record = new_user_record(
        object_id=user_id,
        display_name=accepted["displayName"],
        upn=accepted["userPrincipalName"],
        created=graph_time(state.now()),
    )
    record["mail"] = None
    record.update(accepted)
    state.users[user_id] = record
    state.passwords[user_id] = password
    state.bump(user_id)
    changes = modified_properties({}, record, sorted(accepted))
    record_audit(
        state,
        actor=call.actor,
        activity="Add user",
        category="UserManagement",
        operation_type="Add",
        targets=[target(state, user_id, record, changes)],
    )
    answer = {
        "@odata.context": context_url(call.graph_base, "users", None) + "/$entity",
        **project(record, None, USER_DEFAULT_SELECT),
    }
    return graph_json(answer, 201)


@handles("PATCH", "/users/{user-id}")
async def update_user(call: Call) -> Response:
    state = call.state
    user = find_user(state, call.param("user_id"))
    accepted = check_body(
        await call.body(), writable=USER_WRITABLE, resource="User", known=USER_PROPERTIES
    )
    profile = accepted.pop("passwordProfile", None)
    if "userPrincipalName" in accepted:
        _check_upn(state, accepted["userPrincipalName"], exclude=user["id"])
    before = dict(user)
    user.update(accepted)
    if profile and isinstance(profile.get("password"), str):
        state.passwords[user["id"]] = profile["password"]
    state.bump(user["id"])
    changes = modified_properties(before, user, sorted(accepted))
    record_audit(
        state,
        actor=call.actor,
        activity="Update user",
        category="UserManagement",
        operation_type="Update",
        targets=[target(state, user["id"], user, changes)],
    )
    return no_content()


@handles("DELETE", "/users/{user-id}")
async def delete_user(call: Call) -> Response:
    state = call.state
    user = find_user(state, call.param("user_id"))
    record = state.soft_delete("users", user["id"])
    set_aside_assignments(state, record["id"])
    record_audit(
        state,
        actor=call.actor,
        activity="Delete user",
        category="UserManagement",
        operation_type="Delete",
        targets=[target(state, record["id"], record)],
    )
    return no_content()


@handles("GET", "/users/delta()")
async def users_delta(call: Call) -> Response:
    return graph_json(
        delta_response(call, "users", known=USER_PROPERTIES, default_select=USER_DEFAULT_SELECT)
    )
