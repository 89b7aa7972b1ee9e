"""``/groups``: CRUD, members and owners (list, ``$ref`` add and remove), delta.

Deleting a Microsoft 365 group moves it to directory/deletedItems (restorable 30 days); deleting
a security group removes it for good, as Entra does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import overload

from starlette.responses import Response

from dirguard_sandbox.audit import group_link_audit, modified_properties, record_audit, target
from dirguard_sandbox.delta import delta_response
from dirguard_sandbox.directory_recovery import set_aside_assignments
from dirguard_sandbox.directory_state import DirectoryState, Json, graph_time, new_id
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.group_licensing import refresh_members
from dirguard_sandbox.hidden_membership import (
    check_may_list_members,
    check_visibility_on_create,
    check_visibility_on_update,
)
from dirguard_sandbox.odata_expand import GROUP_EXPANDABLE, GROUP_ORDERABLE, expansion
from dirguard_sandbox.odata_query import (
    QueryOptions,
    context_url,
    list_page,
    parse_query,
    project,
)
from dirguard_sandbox.resource_rules import (
    GROUP_CREATE_ONLY,
    GROUP_PROPERTIES,
    GROUP_REQUIRED,
    GROUP_WRITABLE,
    USER_DEFAULT_SELECT,
    USER_PROPERTIES,
    check_body,
)
from dirguard_sandbox.seed_data import new_group_record

_BINDS = ("members@odata.bind", "owners@odata.bind")


def find_group(state: DirectoryState, group_id: str) -> Json:
    group = state.groups.get(group_id)
    if group is None:
        raise not_found(group_id)
    return group


def _referenced_id(state: DirectoryState, reference: object) -> str:
    """The object id at the end of an ``@odata.id`` URL, which must name a live object."""
    if not isinstance(reference, str) or "/" not in reference:
        raise bad_request("Invalid object identifier: give an @odata.id URL of a directory object.")
    object_id = reference.rstrip("/").rsplit("/", 1)[1]
    if state.lookup(object_id) is None:
        raise not_found(object_id)
    return object_id


def _query(call: Call, known: frozenset[str], type_name: str) -> QueryOptions:
    return parse_query(
        call.request.query_params, call.request.headers, known=known, type_name=type_name
    )


@handles("GET", "/groups")
async def list_groups(call: Call) -> Response:
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=GROUP_PROPERTIES,
        type_name="group",
        orderable=GROUP_ORDERABLE,
        expandable=GROUP_EXPANDABLE,
    )
    body = list_page(
        list(call.state.groups.values()),
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set="groups",
        default_select=None,
        decorate=expansion(call.state, options.expand),
    )
    return graph_json(body)


@handles("GET", "/groups/{group-id}")
async def get_group(call: Call) -> Response:
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=GROUP_PROPERTIES,
        type_name="group",
        expandable=GROUP_EXPANDABLE,
    )
    group = find_group(call.state, call.param("group_id"))
    body = {
        "@odata.context": context_url(call.graph_base, "groups", options.select) + "/$entity",
        **project(group, options.select, None),
    }
    decorate = expansion(call.state, options.expand)
    if decorate is not None:
        decorate(group, body)
    return graph_json(body)


@handles("POST", "/groups")
async def create_group(call: Call) -> Response:
    state = call.state
    body = await call.body()
    accepted = check_body(
        body,
        writable=GROUP_WRITABLE,
        resource="Group",
        required=GROUP_REQUIRED,
        known=GROUP_PROPERTIES,
        extra_allowed=_BINDS,
    )
    links = {name: body.get(name) or [] for name in _BINDS}
    for name, references in links.items():
        if not isinstance(references, list):
            raise bad_request(f"'{name}' must be a list of @odata.id URLs.")
    member_ids = [_referenced_id(state, ref) for ref in links["members@odata.bind"]]
    owner_ids = [_referenced_id(state, ref) for ref in links["owners@odata.bind"]]
    group_id = new_id()
    record = new_group_record(
        object_id=group_id, display_name=accepted["displayName"], created=graph_time(state.now())
    )
    record.update(accepted)
    check_visibility_on_create(record)
    if "Unified" in (record["groupTypes"] or []):
        default = next(name for name, domain in state.domains.items() if domain["isDefault"])
        record["mail"] = f"{record['mailNickname']}@{default}"
        record["proxyAddresses"] = [f"SMTP:{record['mail']}"]
    state.groups[group_id] = record
    state.members[group_id] = []
    state.owners[group_id] = []
    state.bump(group_id)
    for member_id in member_ids:
        state.add_link(state.members, group_id, member_id)
    for owner_id in owner_ids:
        state.add_link(state.owners, group_id, owner_id)
    changes = modified_properties({}, record, sorted(accepted))
    record_audit(
        state,
        actor=call.actor,
        activity="Add group",
        category="GroupManagement",
        operation_type="Add",
        targets=[target(state, group_id, record, changes)],
    )
    answer = {
        "@odata.context": context_url(call.graph_base, "groups", None) + "/$entity",
        **record,
    }
    return graph_json(answer, 201)


@handles("PATCH", "/groups/{group-id}")
async def update_group(call: Call) -> Response:
    state = call.state
    group = find_group(state, call.param("group_id"))
    body = await call.body()
    accepted = check_body(
        body,
        writable=GROUP_WRITABLE,
        resource="Group",
        known=GROUP_PROPERTIES,
        extra_allowed=_BINDS[:1],
    )
    for name in GROUP_CREATE_ONLY:
        if name in accepted and accepted[name] != group.get(name):
            raise bad_request(f"Property '{name}' can only be set when the group is created.")
    references = body.get(_BINDS[0]) or []
    if not isinstance(references, list) or len(references) > 20:
        raise bad_request(f"'{_BINDS[0]}' must be a list of at most 20 @odata.id URLs.")
    member_ids = [_referenced_id(state, ref) for ref in references]
    check_visibility_on_update(group, accepted)
    before = dict(group)
    group.update(accepted)
    state.bump(group["id"])
    for member_id in member_ids:
        state.add_link(state.members, group["id"], member_id)
    changes = modified_properties(before, group, sorted(accepted))
    record_audit(
        state,
        actor=call.actor,
        activity="Update group",
        category="GroupManagement",
        operation_type="Update",
        targets=[target(state, group["id"], group, changes)],
    )
    return no_content()


@handles("DELETE", "/groups/{group-id}")
async def delete_group(call: Call) -> Response:
    state = call.state
    group = find_group(state, call.param("group_id"))
    record = state.soft_delete("groups", group["id"])
    refresh_members(state, state.deleted_links[record["id"]]["members"])
    set_aside_assignments(state, record["id"])
    if "Unified" not in (record.get("groupTypes") or []):
        state.purge(group["id"])
    record_audit(
        state,
        actor=call.actor,
        activity="Delete group",
        category="GroupManagement",
        operation_type="Delete",
        targets=[target(state, record["id"], record)],
    )
    return no_content()


class _LinkedRecords(Sequence[Json]):
    """A group's linked objects that still exist, each record looked up when read: a page of
    999 of 50,000 members resolves its 999, not all 50,000 again for each of the 51 pages."""

    def __init__(self, state: DirectoryState, ids: list[str]) -> None:
        self._state = state
        self._ids = ids

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> Json: ...
    @overload
    def __getitem__(self, index: slice) -> list[Json]: ...
    def __getitem__(self, index: int | slice) -> Json | list[Json]:
        lookup = self._state.lookup
        if isinstance(index, slice):
            return [record for i in self._ids[index] if (record := lookup(i)) is not None]
        record = lookup(self._ids[index])
        if record is None:  # pragma: no cover - the ids are of live objects
            raise IndexError(index)
        return record


def _list_links(call: Call, table: dict[str, list[str]]) -> Response:
    state = call.state
    group = find_group(state, call.param("group_id"))
    options = _query(call, USER_PROPERTIES | GROUP_PROPERTIES, "directoryObject")
    alive = [i for i in table.get(group["id"], []) if state.lookup(i) is not None]
    body = list_page(
        _LinkedRecords(state, alive),
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set="directoryObjects",
        default_select=None,
    )
    rendered = []
    for item in body["value"]:
        kind, default = "", None
        if "id" in item:
            kind = state.object_type(item["id"]) or "#microsoft.graph.directoryObject"
            default = USER_DEFAULT_SELECT if kind == "#microsoft.graph.user" else None
        if options.select is None and default is not None:
            item = {name: item.get(name) for name in default}
        rendered.append({"@odata.type": kind, **item})
    body["value"] = rendered
    return graph_json(body)


@handles("GET", "/groups/{group-id}/members")
async def list_members(call: Call) -> Response:
    check_may_list_members(find_group(call.state, call.param("group_id")), call.claims)
    return _list_links(call, call.state.members)


@handles("GET", "/groups/{group-id}/owners")
async def list_owners(call: Call) -> Response:
    return _list_links(call, call.state.owners)


def _link_audit(call: Call, activity: str, group: Json, object_id: str) -> None:
    group_link_audit(call.state, call.actor, activity, group, object_id)


async def _add_link(call: Call, table_name: str, activity: str) -> Response:
    state = call.state
    group = find_group(state, call.param("group_id"))
    body = await call.body()
    object_id = _referenced_id(state, body.get("@odata.id"))
    table = state.members if table_name == "members" else state.owners
    if not state.add_link(table, group["id"], object_id):
        raise bad_request(
            "One or more added object references already exist for the following modified "
            f"properties: '{table_name}'."
        )
    if table is state.owners:
        state.bump(group["id"])
    _link_audit(call, activity, group, object_id)
    return no_content()


async def _remove_link(call: Call, table_name: str, activity: str) -> Response:
    state = call.state
    group = find_group(state, call.param("group_id"))
    object_id = call.param("directoryObject_id")
    table = state.members if table_name == "members" else state.owners
    if not state.remove_link(table, group["id"], object_id):
        raise not_found(object_id)
    if table is state.owners:
        state.bump(group["id"])
    _link_audit(call, activity, group, object_id)
    return no_content()


@handles("POST", "/groups/{group-id}/members/$ref")
async def add_member(call: Call) -> Response:
    return await _add_link(call, "members", "Add member to group")


@handles("DELETE", "/groups/{group-id}/members/{directoryObject-id}/$ref")
async def remove_member(call: Call) -> Response:
    return await _remove_link(call, "members", "Remove member from group")


@handles("POST", "/groups/{group-id}/owners/$ref")
async def add_owner(call: Call) -> Response:
    return await _add_link(call, "owners", "Add owner to group")


@handles("DELETE", "/groups/{group-id}/owners/{directoryObject-id}/$ref")
async def remove_owner(call: Call) -> Response:
    return await _remove_link(call, "owners", "Remove owner from group")


@handles("GET", "/groups/delta()")
async def groups_delta(call: Call) -> Response:
    return graph_json(delta_response(call, "groups", known=GROUP_PROPERTIES, default_select=None))
