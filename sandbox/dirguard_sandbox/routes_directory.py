"""Tenant-wide resources: organization, domains, service principals, directory/deletedItems and
auditLogs/directoryAudits."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.responses import Response

from dirguard_sandbox.application_records import (
    new_application_record,
    restore_application_side,
    restore_conflict,
)
from dirguard_sandbox.audit import modified_properties, record_audit, target
from dirguard_sandbox.audit_latency import visible_audits
from dirguard_sandbox.directory_recovery import bring_back_assignments
from dirguard_sandbox.directory_state import Json
from dirguard_sandbox.errors import bad_request, insufficient_privileges, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.identity_answers import ADVANCED_ORDERABLE, collection_answer
from dirguard_sandbox.odata_query import context_url, list_page, parse_query, project
from dirguard_sandbox.permissions_table import effective_permissions
from dirguard_sandbox.resource_rules import GROUP_PROPERTIES, USER_PROPERTIES, check_body
from dirguard_sandbox.routes_admin_units import UNIT_PROPERTIES

ORGANIZATION_WRITABLE: dict[str, type | tuple[type, ...]] = {
    "marketingNotificationEmails": list,
    "privacyProfile": dict,
    "securityComplianceNotificationMails": list,
    "securityComplianceNotificationPhones": list,
    "technicalNotificationMails": list,
}


def _collection(
    call: Call,
    records: list[Json],
    entity_set: str,
    known: frozenset[str],
    type_name: str,
    annotate: str | None = None,
) -> Response:
    options = parse_query(
        call.request.query_params, call.request.headers, known=known, type_name=type_name
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


def _single(
    call: Call, record: Json, entity_set: str, known: frozenset[str], type_name: str
) -> Response:
    options = parse_query(
        call.request.query_params, call.request.headers, known=known, type_name=type_name
    )
    return graph_json(
        {
            "@odata.context": context_url(call.graph_base, entity_set, options.select) + "/$entity",
            **project(record, options.select, None),
        }
    )


@handles("GET", "/organization")
async def list_organization(call: Call) -> Response:
    org = call.state.organization
    return _collection(call, [org], "organization", frozenset(org), "organization")


@handles("GET", "/organization/{organization-id}")
async def get_organization(call: Call) -> Response:
    org = call.state.organization
    if call.param("organization_id") != org["id"]:
        raise not_found(call.param("organization_id"))
    return _single(call, org, "organization", frozenset(org), "organization")


@handles("PATCH", "/organization/{organization-id}")
async def update_organization(call: Call) -> Response:
    state = call.state
    org = state.organization
    if call.param("organization_id") != org["id"]:
        raise not_found(call.param("organization_id"))
    accepted = check_body(
        await call.body(),
        writable=ORGANIZATION_WRITABLE,
        resource="Organization",
        known=frozenset(org),
    )
    before = dict(org)
    org.update(accepted)
    changes = modified_properties(before, org, sorted(accepted))
    entry = target(state, org["id"], org, changes)
    entry["type"] = "Company"
    record_audit(
        state,
        actor=call.actor,
        activity="Update company settings",
        category="DirectoryManagement",
        operation_type="Update",
        targets=[entry],
    )
    return no_content()


@handles("GET", "/domains")
async def list_domains(call: Call) -> Response:
    domains = list(call.state.domains.values())
    return _collection(call, domains, "domains", frozenset(domains[0]), "domain")


@handles("GET", "/domains/{domain-id}")
async def get_domain(call: Call) -> Response:
    domain = call.state.domains.get(call.param("domain_id").lower())
    if domain is None:
        raise not_found(call.param("domain_id"))
    return _single(call, domain, "domains", frozenset(domain), "domain")


def _sp_properties(call: Call) -> frozenset[str]:
    names: set[str] = set()
    for record in call.state.service_principals.values():
        names.update(record)
    return frozenset(names)


@handles("GET", "/servicePrincipals")
async def list_service_principals(call: Call) -> Response:
    records = list(call.state.service_principals.values())
    return collection_answer(
        call,
        records,
        "servicePrincipals",
        "servicePrincipal",
        advanced_orderable=ADVANCED_ORDERABLE,
    )


@handles("GET", "/servicePrincipals/{servicePrincipal-id}")
async def get_service_principal(call: Call) -> Response:
    record = call.state.service_principals.get(call.param("servicePrincipal_id"))
    if record is None:
        raise not_found(call.param("servicePrincipal_id"))
    return _single(call, record, "servicePrincipals", _sp_properties(call), "servicePrincipal")


@handles("GET", "/servicePrincipals/{servicePrincipal-id}/appRoleAssignments")
async def list_app_role_assignments(call: Call) -> Response:
    sp_id = call.param("servicePrincipal_id")
    if sp_id not in call.state.service_principals:
        raise not_found(sp_id)
    records = [
        assignment
        for assignment in call.state.app_role_assignments.values()
        if assignment["principalId"] == sp_id
    ]
    known = frozenset(records[0]) if records else frozenset({"id"})
    return _collection(
        call,
        records,
        f"servicePrincipals('{sp_id}')/appRoleAssignments",
        known,
        "appRoleAssignment",
    )


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


@handles("GET", "/directory/deletedItems/graph.user")
async def deleted_users(call: Call) -> Response:
    return _collection(
        call,
        _deleted_of(call, "users"),
        "directoryObjects",
        USER_PROPERTIES,
        "user",
        annotate="#microsoft.graph.user",
    )


@handles("GET", "/directory/deletedItems/graph.group")
async def deleted_groups(call: Call) -> Response:
    return _collection(
        call,
        _deleted_of(call, "groups"),
        "directoryObjects",
        GROUP_PROPERTIES,
        "group",
        annotate="#microsoft.graph.group",
    )


@handles("GET", "/directory/deletedItems/graph.application")
async def deleted_applications(call: Call) -> Response:
    return collection_answer(
        call,
        _deleted_of(call, "applications"),
        "directoryObjects",
        "application",
        _APP_TEMPLATE,
        annotate="#microsoft.graph.application",
    )


@handles("GET", "/directory/deletedItems/graph.servicePrincipal")
async def deleted_service_principals(call: Call) -> Response:
    return collection_answer(
        call,
        _deleted_of(call, "servicePrincipals"),
        "directoryObjects",
        "servicePrincipal",
        dict.fromkeys(_sp_properties(call)),
        annotate="#microsoft.graph.servicePrincipal",
    )


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


@handles("GET", "/directory/deletedItems/graph.administrativeUnit")
async def deleted_administrative_units(call: Call) -> Response:
    return _collection(
        call,
        _deleted_of(call, "administrativeUnits"),
        "directoryObjects",
        UNIT_PROPERTIES,
        "administrativeUnit",
        annotate="#microsoft.graph.administrativeUnit",
    )


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


_AUDIT_PROPERTIES = frozenset(
    {
        "id",
        "category",
        "correlationId",
        "result",
        "resultReason",
        "activityDisplayName",
        "activityDateTime",
        "loggedByService",
        "operationType",
        "initiatedBy",
        "targetResources",
        "additionalDetails",
    }
)


@handles("GET", "/auditLogs/directoryAudits")
async def list_directory_audits(call: Call) -> Response:
    newest_first = list(reversed(visible_audits(call.state)))
    return _collection(
        call, newest_first, "auditLogs/directoryAudits", _AUDIT_PROPERTIES, "directoryAudit"
    )


@handles("GET", "/auditLogs/directoryAudits/{directoryAudit-id}")
async def get_directory_audit(call: Call) -> Response:
    wanted = call.param("directoryAudit_id")
    for entry in visible_audits(call.state):
        if entry["id"] == wanted:
            return _single(
                call, entry, "auditLogs/directoryAudits", _AUDIT_PROPERTIES, "directoryAudit"
            )
    raise not_found(wanted)
