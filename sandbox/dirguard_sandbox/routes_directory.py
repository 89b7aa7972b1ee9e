"""Tenant-wide resources: organization, domains, service principals and auditLogs/directoryAudits
(directory/deletedItems: ``routes_deleted_items``)."""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.audit import modified_properties, record_audit, target
from dirguard_sandbox.audit_latency import visible_audits
from dirguard_sandbox.directory_state import Json
from dirguard_sandbox.errors import not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.identity_answers import ADVANCED_ORDERABLE, collection_answer
from dirguard_sandbox.odata_query import context_url, list_page, parse_query, project
from dirguard_sandbox.resource_rules import check_body

ORGANIZATION_WRITABLE: dict[str, type | tuple[type, ...]] = {
    "marketingNotificationEmails": list,
    "privacyProfile": dict,
    "securityComplianceNotificationMails": list,
    "securityComplianceNotificationPhones": list,
    "technicalNotificationMails": list,
}


def collection_page(
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
    return collection_page(call, [org], "organization", frozenset(org), "organization")


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
    return collection_page(call, domains, "domains", frozenset(domains[0]), "domain")


@handles("GET", "/domains/{domain-id}")
async def get_domain(call: Call) -> Response:
    domain = call.state.domains.get(call.param("domain_id").lower())
    if domain is None:
        raise not_found(call.param("domain_id"))
    return _single(call, domain, "domains", frozenset(domain), "domain")


def sp_properties(call: Call) -> frozenset[str]:
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
    return _single(call, record, "servicePrincipals", sp_properties(call), "servicePrincipal")


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
    return collection_page(
        call,
        records,
        f"servicePrincipals('{sp_id}')/appRoleAssignments",
        known,
        "appRoleAssignment",
    )


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
    return collection_page(
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
