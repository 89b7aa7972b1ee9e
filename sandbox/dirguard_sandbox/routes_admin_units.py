"""``/directory/administrativeUnits`` (Graph v1.0's path for them): CRUD, members (list, ``$ref``
add and remove) and delta; plus the delta functions of applications, service principals and
directory roles, which read the same change sequence.

A deleted administrative unit goes to directory/deletedItems for 30 days with its members and can
be restored ("Recover from deletions",
https://learn.microsoft.com/entra/architecture/recover-from-deletions: administrative units are
soft deleted, keep all their properties and cannot be hard deleted in those 30 days); delta
reports it ``@removed`` with reason ``changed`` (restorable), as for users and groups.
"""

from __future__ import annotations

import json

from starlette.responses import Response

from dirguard_sandbox.audit import modified_properties, target
from dirguard_sandbox.delta import delta_response
from dirguard_sandbox.directory_state import DirectoryState, Json, new_id
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.identity_answers import (
    audit_change,
    directory_object,
    entity_answer,
    known_properties,
)
from dirguard_sandbox.object_lists import object_list_answer
from dirguard_sandbox.odata_query import list_page, parse_query
from dirguard_sandbox.resource_rules import check_body
from dirguard_sandbox.seed_licensing_and_logs import new_unit_record

_UNITS = "/directory/administrativeUnits"
_UNIT = f"{_UNITS}/{{administrativeUnit-id}}"
UNIT_WRITABLE: dict[str, type | tuple[type, ...]] = {
    "description": str,
    "displayName": str,
    "isMemberManagementRestricted": bool,
    "membershipRule": str,
    "membershipRuleProcessingState": str,
    "membershipType": str,
    "visibility": str,
}


UNIT_PROPERTIES = frozenset(new_unit_record(object_id="", display_name=""))


def _unit(call: Call) -> Json:
    unit_id = call.param("administrativeUnit_id")
    record = call.state.administrative_units.get(unit_id)
    if record is None:
        raise not_found(unit_id)
    return record


def _audit(call: Call, activity: str, operation: str, record: Json, changes: list[Json]) -> None:
    audit_change(
        call,
        activity=activity,
        category="AdministrativeUnit",
        operation_type=operation,
        object_type="AdministrativeUnit",
        record=record,
        modified=changes,
    )


@handles("GET", _UNITS)
async def list_units(call: Call) -> Response:
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=UNIT_PROPERTIES,
        type_name="administrativeUnit",
        orderable=frozenset({"displayName"}),
    )
    body = list_page(
        list(call.state.administrative_units.values()),
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set="directory/administrativeUnits",
        default_select=None,
    )
    return graph_json(body)


def _entity(call: Call, record: Json, status: int = 200) -> Response:
    return entity_answer(
        call,
        record,
        "directory/administrativeUnits",
        status,
        known=UNIT_PROPERTIES,
        type_name="administrativeUnit",
    )


@handles("GET", _UNIT)
async def get_unit(call: Call) -> Response:
    return _entity(call, _unit(call))


def _check_values(accepted: Json) -> None:
    if accepted.get("membershipType") not in (None, "Assigned", "Dynamic"):
        raise bad_request("'membershipType' must be Assigned or Dynamic.")
    if accepted.get("visibility") not in (None, "Public", "HiddenMembership"):
        raise bad_request("'visibility' must be Public or HiddenMembership.")
    if accepted.get("membershipType") == "Dynamic" and not accepted.get("membershipRule"):
        raise bad_request("A Dynamic administrative unit needs a 'membershipRule'.")


@handles("POST", _UNITS)
async def create_unit(call: Call) -> Response:
    state = call.state
    accepted = check_body(
        await call.body(),
        writable=UNIT_WRITABLE,
        resource="AdministrativeUnit",
        required=("displayName",),
        known=UNIT_PROPERTIES,
    )
    _check_values(accepted)
    record = new_unit_record(object_id=new_id(), display_name=accepted["displayName"])
    record.update(accepted)
    if record["membershipType"] == "Dynamic":
        record["membershipRuleProcessingState"] = record["membershipRuleProcessingState"] or "On"
    state.administrative_units[record["id"]] = record
    state.unit_members[record["id"]] = []
    state.bump(record["id"])
    changes = modified_properties({}, record, sorted(accepted))
    _audit(call, "Add administrative unit", "Add", record, changes)
    return _entity(call, record, 201)


@handles("PATCH", _UNIT)
async def update_unit(call: Call) -> Response:
    state = call.state
    record = _unit(call)
    accepted = check_body(
        await call.body(),
        writable=UNIT_WRITABLE,
        resource="AdministrativeUnit",
        known=UNIT_PROPERTIES,
    )
    if "isMemberManagementRestricted" in accepted and accepted[
        "isMemberManagementRestricted"
    ] != record.get("isMemberManagementRestricted"):
        raise bad_request(
            "Property 'isMemberManagementRestricted' can only be set when the administrative "
            "unit is created."
        )
    _check_values({**record, **accepted})
    before = dict(record)
    record.update(accepted)
    state.bump(record["id"])
    changes = modified_properties(before, record, sorted(accepted))
    _audit(call, "Update administrative unit", "Update", record, changes)
    return no_content()


@handles("DELETE", _UNIT)
async def delete_unit(call: Call) -> Response:
    state = call.state
    record = _unit(call)
    state.soft_delete("administrativeUnits", record["id"])
    _audit(call, "Delete administrative unit", "Delete", record, [])
    return no_content()


@handles("GET", f"{_UNIT}/members")
async def list_unit_members(call: Call) -> Response:
    state = call.state
    unit = _unit(call)
    members = [
        found
        for member_id in state.unit_members.get(unit["id"], [])
        if (found := directory_object(state, member_id)) is not None
    ]
    return object_list_answer(call, members)


def _member_audit(call: Call, unit: Json, object_id: str, *, added: bool) -> None:
    state: DirectoryState = call.state
    member = state.lookup(object_id) or {"id": object_id, "displayName": None}
    properties: list[Json] = [
        {
            "displayName": "AdministrativeUnit.ObjectID",
            "oldValue": None,
            "newValue": json.dumps(unit["id"]),
        },
        {
            "displayName": "AdministrativeUnit.DisplayName",
            "oldValue": None,
            "newValue": json.dumps(unit["displayName"]),
        },
    ]
    if not added:
        for entry in properties:
            entry["oldValue"], entry["newValue"] = entry["newValue"], None
    audit_change(
        call,
        activity=f"{'Add member to' if added else 'Remove member from'} administrative unit",
        category="AdministrativeUnit",
        operation_type="Assign" if added else "Unassign",
        object_type="AdministrativeUnit",
        record=unit,
        extra_targets=[target(state, object_id, member, properties)],
    )


@handles("POST", f"{_UNIT}/members/$ref")
async def add_unit_member(call: Call) -> Response:
    state = call.state
    unit = _unit(call)
    reference = (await call.body()).get("@odata.id")
    if not isinstance(reference, str) or "/" not in reference:
        raise bad_request("Invalid object identifier: give an @odata.id URL of a directory object.")
    object_id = reference.rstrip("/").rsplit("/", 1)[1]
    if object_id not in state.users and object_id not in state.groups:
        raise not_found(object_id)
    if unit["membershipType"] == "Dynamic":
        raise bad_request("Members of a Dynamic administrative unit are set by its rule.")
    if not state.add_link(state.unit_members, unit["id"], object_id):
        raise bad_request(
            "One or more added object references already exist for the following modified "
            "properties: 'members'."
        )
    _member_audit(call, unit, object_id, added=True)
    return no_content()


@handles("DELETE", f"{_UNIT}/members/{{directoryObject-id}}/$ref")
async def remove_unit_member(call: Call) -> Response:
    state = call.state
    unit = _unit(call)
    object_id = call.param("directoryObject_id")
    if not state.remove_link(state.unit_members, unit["id"], object_id):
        raise not_found(object_id)
    _member_audit(call, unit, object_id, added=False)
    return no_content()


@handles("GET", f"{_UNITS}/delta()")
async def units_delta(call: Call) -> Response:
    body = delta_response(
        call,
        "administrativeUnits",
        known=UNIT_PROPERTIES,
        default_select=None,
        entity_set="directory/administrativeUnits",
    )
    return graph_json(body)


def _known(state: DirectoryState, kind: str) -> frozenset[str]:
    return known_properties(list(state.collection(kind).values()))


@handles("GET", "/applications/delta()")
async def applications_delta(call: Call) -> Response:
    known = _known(call.state, "applications")
    return graph_json(delta_response(call, "applications", known=known, default_select=None))


@handles("GET", "/servicePrincipals/delta()")
async def service_principals_delta(call: Call) -> Response:
    known = _known(call.state, "servicePrincipals")
    return graph_json(delta_response(call, "servicePrincipals", known=known, default_select=None))


@handles("GET", "/directoryRoles/delta()")
async def directory_roles_delta(call: Call) -> Response:
    known = _known(call.state, "directoryRoles")
    return graph_json(delta_response(call, "directoryRoles", known=known, default_select=None))
