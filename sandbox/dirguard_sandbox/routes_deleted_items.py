"""``/directory/deletedItems``: soft-deleted users, Microsoft 365 groups, applications, service
principals and administrative units, listed by type, read (also cast to their type), restored
(with what comes back with them: ``directory_recovery``) and deleted for good.

"List deletedItems" (https://learn.microsoft.com/graph/api/directory-deleteditems-list), "Get
deleted item" (https://learn.microsoft.com/graph/api/directory-deleteditems-get) and "Restore
deleted item" (https://learn.microsoft.com/graph/api/directory-deleteditems-restore). The type
cast answers on both its forms (``graph.user`` and ``microsoft.graph.user``) and the segment also
as ``deleteditems`` (``graph_routing.starlette_paths``).
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from dirguard_sandbox.application_records import (
    new_application_record,
    restore_application_side,
    restore_conflict,
)
from dirguard_sandbox.audit import record_audit, target
from dirguard_sandbox.directory_recovery import bring_back_assignments
from dirguard_sandbox.directory_state import Json
from dirguard_sandbox.errors import bad_request, insufficient_privileges, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.permissions_table import effective_permissions
from dirguard_sandbox.resource_rules import GROUP_PROPERTIES, USER_PROPERTIES
from dirguard_sandbox.routes_admin_units import UNIT_PROPERTIES
from dirguard_sandbox.routes_directory import collection_page, sp_properties


@dataclass(frozen=True, kw_only=True)
class DeletedKind:
    """How directory/deletedItems names and audits one kind of restorable object."""

    noun: str
    category: str
    audit_type: str


DELETED_KINDS = {
    "users": DeletedKind(noun="user", category="UserManagement", audit_type="User"),
    "groups": DeletedKind(noun="group", category="GroupManagement", audit_type="Group"),
    "applications": DeletedKind(
        noun="application", category="ApplicationManagement", audit_type="Application"
    ),
    "servicePrincipals": DeletedKind(
        noun="servicePrincipal", category="ApplicationManagement", audit_type="ServicePrincipal"
    ),
    "administrativeUnits": DeletedKind(
        noun="administrativeUnit", category="AdministrativeUnit", audit_type="AdministrativeUnit"
    ),
}
_APP_TEMPLATE = new_application_record(object_id="", app_id="", display_name="", created="")
"""Every property of an application, so ``$select`` works on an empty deleted list too."""
_ACTIVITY_NOUN = {
    "servicePrincipal": "service principal",
    "administrativeUnit": "administrative unit",
}
_WRITE_BY_KIND = {
    "users": "User.ReadWrite.All",
    "groups": "Group.ReadWrite.All",
    "applications": "Application.ReadWrite.All",
    "servicePrincipals": "Application.ReadWrite.All",
    "administrativeUnits": "AdministrativeUnit.ReadWrite.All",
}
"""The permission that restores or permanently deletes each kind (the endpoint admits any)."""


def _check_kind_permission(call: Call, kind: str, *, restore: bool) -> None:
    claims = call.claims
    granted = str(claims["scp"]).split() if "scp" in claims else claims.get("roles") or []
    allowed = {_WRITE_BY_KIND[kind], *(("Directory.ReadWrite.All",) if restore else ())}
    if not allowed & effective_permissions(str(value) for value in granted):
        raise insufficient_privileges()


def _deleted_of(call: Call, kind: str) -> list[Json]:
    call.state.expire_deleted()
    return [entry["record"] for entry in call.state.deleted.values() if entry["kind"] == kind]


def _known(call: Call, kind: str) -> frozenset[str]:
    """The properties ``$select`` may name on deleted objects of ``kind``."""
    if kind == "users":
        return USER_PROPERTIES
    if kind == "groups":
        return GROUP_PROPERTIES
    if kind == "applications":
        return frozenset(_APP_TEMPLATE)
    if kind == "servicePrincipals":
        return sp_properties(call)
    return UNIT_PROPERTIES


def _register_type_list(kind: str) -> None:
    """``deletedItems/graph.{type}``: the deleted objects of one type."""
    noun = DELETED_KINDS[kind].noun

    @handles("GET", f"/directory/deletedItems/graph.{noun}")
    async def deleted_of_type(call: Call) -> Response:
        return collection_page(
            call,
            _deleted_of(call, kind),
            "directoryObjects",
            _known(call, kind),
            noun,
            annotate=f"#microsoft.graph.{noun}",
        )


for _kind in DELETED_KINDS:
    _register_type_list(_kind)


def _deleted_entry(call: Call) -> Json:
    call.state.expire_deleted()
    object_id = call.param("directoryObject_id")
    entry = call.state.deleted.get(object_id)
    if entry is None:
        raise not_found(object_id)
    return entry


def _entity(call: Call, kind: str, record: Json) -> Response:
    return graph_json(
        {
            "@odata.context": f"{call.graph_base}/$metadata#directoryObjects/$entity",
            "@odata.type": f"#microsoft.graph.{DELETED_KINDS[kind].noun}",
            **record,
        }
    )


def _audit(call: Call, kind: str, verb: str, record: Json, operation_type: str) -> None:
    described = DELETED_KINDS[kind]
    entry = target(call.state, record["id"], record)
    entry["type"] = described.audit_type
    noun = _ACTIVITY_NOUN.get(described.noun, described.noun)
    record_audit(
        call.state,
        actor=call.actor,
        activity=f"{verb} {noun}",
        category=described.category,
        operation_type=operation_type,
        targets=[entry],
    )


@handles("GET", "/directory/deletedItems/{directoryObject-id}")
async def get_deleted_item(call: Call) -> Response:
    entry = _deleted_entry(call)
    return _entity(call, entry["kind"], entry["record"])


def _restore_conflict(call: Call, kind: str, record: Json) -> str | None:
    if kind == "users":
        upn = record["userPrincipalName"].lower()
        if any(user["userPrincipalName"].lower() == upn for user in call.state.users.values()):
            return (
                "Another object with the same value for property userPrincipalName already exists."
            )
        return None
    if kind in ("applications", "servicePrincipals"):
        return restore_conflict(call.state, kind, record)
    return None


@handles("POST", "/directory/deletedItems/{directoryObject-id}/restore")
async def restore_deleted_item(call: Call) -> Response:
    state = call.state
    entry = _deleted_entry(call)
    kind, record = entry["kind"], entry["record"]
    _check_kind_permission(call, kind, restore=True)
    conflict = _restore_conflict(call, kind, record)
    if conflict is not None:
        raise bad_request(conflict)
    links = dict(state.deleted_links.get(record["id"], {}))
    kind, restored = state.restore(record["id"])
    restore_application_side(state, kind, restored, links)
    bring_back_assignments(state, kind, links)
    _audit(call, kind, "Restore", restored, "Update")
    return _entity(call, kind, restored)


@handles("DELETE", "/directory/deletedItems/{directoryObject-id}")
async def purge_deleted_item(call: Call) -> Response:
    entry = _deleted_entry(call)
    _check_kind_permission(call, entry["kind"], restore=False)
    if entry["kind"] == "administrativeUnits":
        # "Recover from deletions": a deleted administrative unit "can be restored for 30 days,
        # but cannot be hard deleted during that time".
        raise bad_request(
            "A deleted administrative unit cannot be permanently deleted; it is removed "
            "automatically 30 days after its deletion."
        )
    record = call.state.purge(entry["record"]["id"])
    _audit(call, entry["kind"], "Hard delete", record, "Delete")
    return no_content()


def _register_item_cast(kind: str) -> None:
    """``deletedItems/{id}/graph.{type}``: the item when it is of that type, else 404."""
    noun = DELETED_KINDS[kind].noun

    @handles("GET", f"/directory/deletedItems/{{directoryObject-id}}/graph.{noun}")
    async def get_cast(call: Call) -> Response:
        entry = _deleted_entry(call)
        if entry["kind"] != kind:
            raise not_found(call.param("directoryObject_id"))
        return _entity(call, kind, entry["record"])


for _cast_kind in DELETED_KINDS:
    _register_item_cast(_cast_kind)
