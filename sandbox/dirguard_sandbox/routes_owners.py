"""Owners of applications and service principals: list, ``$ref`` add and remove, each audited.

"List owners of an application" / "Add owner" / "Remove owner"
(https://learn.microsoft.com/graph/api/application-list-owners,
https://learn.microsoft.com/graph/api/application-post-owners,
https://learn.microsoft.com/graph/api/application-delete-owners) and the same three pages for
service principals: an owner is a user or a service principal, added with
``{"@odata.id": ".../directoryObjects/{id}"}`` (204), removed with ``DELETE .../owners/{id}/$ref``
(204); adding one twice is a 400. Core Directory logs "Add owner to application" / "Remove owner
from application" (and "... service principal"), category ApplicationManagement, as the "Microsoft
Entra audit log activity reference"
(https://learn.microsoft.com/entra/identity/monitoring-health/reference-audit-activities) names
them. Owners live in ``DirectoryState.owners`` keyed by the owned object's id, as group owners do.
"""

from __future__ import annotations

import json

from starlette.responses import Response

from dirguard_sandbox.audit import record_audit, target
from dirguard_sandbox.directory_state import DirectoryState, Json
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, handles, no_content
from dirguard_sandbox.identity_answers import directory_object, require
from dirguard_sandbox.object_lists import object_list_answer

_KINDS = {
    # path segment: (path parameter, audit noun, audit target type and property prefix)
    "applications": ("application_id", "application", "Application"),
    "servicePrincipals": ("servicePrincipal_id", "service principal", "ServicePrincipal"),
}


def _owned(call: Call, collection: str) -> Json:
    parameter = _KINDS[collection][0]
    table = (
        call.state.application_objects
        if collection == "applications"
        else call.state.service_principals
    )
    return require(table, call.param(parameter))


def _owner_id(state: DirectoryState, reference: object) -> str:
    if not isinstance(reference, str) or "/" not in reference:
        raise bad_request("Invalid object identifier: give an @odata.id URL of a directory object.")
    object_id = reference.rstrip("/").rsplit("/", 1)[1]
    if object_id not in state.users and object_id not in state.service_principals:
        raise bad_request(
            f"'{object_id}' is not a user or service principal: only those can own an app."
        )
    return object_id


def _audit(call: Call, collection: str, owned: Json, owner_id: str, *, added: bool) -> None:
    state = call.state
    _, noun, kind = _KINDS[collection]
    owner = state.lookup(owner_id) or {"id": owner_id, "displayName": None}
    properties: list[Json] = [
        {"displayName": f"{kind}.ObjectID", "oldValue": None, "newValue": json.dumps(owned["id"])},
        {
            "displayName": f"{kind}.DisplayName",
            "oldValue": None,
            "newValue": json.dumps(owned.get("displayName")),
        },
    ]
    if not added:
        for entry in properties:
            entry["oldValue"], entry["newValue"] = entry["newValue"], None
    owner_target = target(state, owner_id, owner, properties)
    if owner_id in state.service_principals:
        owner_target["type"] = "ServicePrincipal"
    owned_target = {**target(state, owned["id"], owned), "type": kind}
    record_audit(
        state,
        actor=call.actor,
        activity=f"Add owner to {noun}" if added else f"Remove owner from {noun}",
        category="ApplicationManagement",
        operation_type="Assign" if added else "Unassign",
        targets=[owner_target, owned_target],
    )


def _register(collection: str) -> None:
    parameter = _KINDS[collection][0]
    base = f"/{collection}/{{{parameter.replace('_', '-')}}}/owners"

    @handles("GET", base)
    async def list_owners(call: Call) -> Response:
        state = call.state
        owned = _owned(call, collection)
        owners = [
            found
            for owner_id in state.owners.get(owned["id"], [])
            if (found := directory_object(state, owner_id)) is not None
        ]
        return object_list_answer(call, owners)

    @handles("POST", f"{base}/$ref")
    async def add_owner(call: Call) -> Response:
        state = call.state
        owned = _owned(call, collection)
        owner_id = _owner_id(state, (await call.body()).get("@odata.id"))
        if not state.add_link(state.owners, owned["id"], owner_id):
            raise bad_request(
                "One or more added object references already exist for the following modified "
                "properties: 'owners'."
            )
        state.bump(owned["id"])
        _audit(call, collection, owned, owner_id, added=True)
        return no_content()

    @handles("DELETE", f"{base}/{{directoryObject-id}}/$ref")
    async def remove_owner(call: Call) -> Response:
        state = call.state
        owned = _owned(call, collection)
        owner_id = call.param("directoryObject_id")
        if not state.remove_link(state.owners, owned["id"], owner_id):
            raise not_found(owner_id)
        state.bump(owned["id"])
        _audit(call, collection, owned, owner_id, added=False)
        return no_content()


for _collection in _KINDS:
    _register(_collection)
