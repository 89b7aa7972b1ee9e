"""Policies: ``/identity/conditionalAccess/policies`` and ``/namedLocations`` (CRUD), and the
policy singletons under ``/policies`` (GET and PATCH as Graph allows): authorizationPolicy,
authenticationFlowsPolicy, authenticationMethodsPolicy with its method configurations,
identitySecurityDefaultsEnforcementPolicy and crossTenantAccessPolicy (default and partners).

As in Entra, security defaults and enabled conditional access policies exclude each other, and a
named location a policy uses cannot be deleted. Every write leaves a directoryAudit (category
``Policy``; conditional access writes are logged by the ``Conditional Access`` service).
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.responses import Response

from dirguard_sandbox.audit import modified_properties, whole_value_change
from dirguard_sandbox.directory_state import Json, graph_time, new_id
from dirguard_sandbox.errors import GraphError, bad_request, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.identity_answers import entity_answer
from dirguard_sandbox.policy_deleted_items import (
    CA_AUDIT_NAME,
    LOCATION_AUDIT_NAME,
    SECURITY_DEFAULTS_ON,
    policy_audit,
    security_defaults_on,
    soft_delete_policy,
)
from dirguard_sandbox.policy_records import (
    CONDITIONAL_ACCESS,
    METHOD_CONFIGURATIONS,
    NAMED_LOCATIONS,
    PARTNERS,
    conditional_access_record,
    named_location_record,
    new_partner,
    policies_of,
)

_CA = "/identity/conditionalAccess"
_AMP = "/policies/authenticationMethodsPolicy"
_XTAP = "/policies/crossTenantAccessPolicy"


def _merge(record: Json, body: Json, writable: frozenset[str], resource: str) -> list[str]:
    """Apply a PATCH body (one level of complex values merged); the names changed."""
    for name in body:
        if name.startswith("@"):
            continue
        if name not in writable:
            raise bad_request(
                f"Property '{name}' of resource '{resource}' is read-only or does not exist."
            )
    names = [name for name in body if not name.startswith("@")]
    for name in names:
        value = body[name]
        if isinstance(value, dict) and isinstance(record.get(name), dict):
            record[name] = {**record[name], **value}
        else:
            record[name] = value
    return names


def _entity(call: Call, context: str, record: Json) -> Response:
    """One entity of ``context``; ``$select`` keeps only what it names ("Use query
    parameters", https://learn.microsoft.com/graph/query-parameters#select)."""
    return entity_answer(call, record, context, type_name=_TYPES[context])


def _collection(call: Call, context: str, records: list[Json]) -> Response:
    # The whole collection, its query options not applied (``$select`` and ``$filter`` on these
    # lists are not modelled: dirguard reads them whole).
    return graph_json(
        {"@odata.context": f"{call.graph_base}/$metadata#{context}", "value": records}
    )


_TYPES = {
    "identity/conditionalAccess/policies": "conditionalAccessPolicy",
    "identity/conditionalAccess/namedLocations": "namedLocation",
    "policies/authenticationMethodsPolicy/authenticationMethodConfigurations": (
        "authenticationMethodConfiguration"
    ),
    "policies/crossTenantAccessPolicy/partners": "crossTenantAccessPolicyConfigurationPartner",
}
"""The Graph type of each entity set read one at a time here (named in a refused ``$select``)."""


# ------------------------------------------------------------------- conditional access
@handles("GET", f"{_CA}/policies")
async def list_ca_policies(call: Call) -> Response:
    records = list(policies_of(call.state)[CONDITIONAL_ACCESS].values())
    return _collection(call, "identity/conditionalAccess/policies", records)


@handles("POST", f"{_CA}/policies")
async def create_ca_policy(call: Call) -> Response:
    now = graph_time(call.state.now())
    record = conditional_access_record(await call.body(), policy_id=new_id(), now=now)
    if record["state"] == "enabled" and security_defaults_on(call.state):
        raise bad_request(SECURITY_DEFAULTS_ON, code="BadRequest")
    locations = policies_of(call.state)[NAMED_LOCATIONS]
    for location_id in (record["conditions"]["locations"] or {}).get("includeLocations", []):
        if location_id not in locations and location_id not in {"All", "AllTrusted"}:
            raise bad_request(f"Named location '{location_id}' does not exist.")
    policies_of(call.state)[CONDITIONAL_ACCESS][record["id"]] = record
    changes = whole_value_change(CA_AUDIT_NAME, None, record)
    policy_audit(call, "Add conditional access policy", record, changes, conditional=True)
    return graph_json(
        {
            "@odata.context": f"{call.graph_base}/$metadata#identity/conditionalAccess/policies/"
            "$entity",
            **record,
        },
        201,
    )


def _ca_policy(call: Call) -> Json:
    policy_id = call.param("conditionalAccessPolicy_id")
    record: Json | None = policies_of(call.state)[CONDITIONAL_ACCESS].get(policy_id)
    if record is None:
        raise not_found(policy_id)
    return record


@handles("GET", f"{_CA}/policies/{{conditionalAccessPolicy-id}}")
async def get_ca_policy(call: Call) -> Response:
    return _entity(call, "identity/conditionalAccess/policies", _ca_policy(call))


_CA_WRITABLE = frozenset(
    {"displayName", "description", "state", "conditions", "grantControls", "sessionControls"}
)


@handles("PATCH", f"{_CA}/policies/{{conditionalAccessPolicy-id}}")
async def update_ca_policy(call: Call) -> Response:
    record = _ca_policy(call)
    body = await call.body()
    if body.get("state") == "enabled" and security_defaults_on(call.state):
        raise bad_request(SECURITY_DEFAULTS_ON, code="BadRequest")
    before = copy.deepcopy(record)
    trial = copy.deepcopy(record)
    _merge(trial, body, _CA_WRITABLE, "ConditionalAccessPolicy")
    # The changed policy must be one a create would accept (the same value checks).
    conditional_access_record(trial, policy_id=record["id"], now=record["createdDateTime"])
    _merge(record, body, _CA_WRITABLE, "ConditionalAccessPolicy")
    record["modifiedDateTime"] = graph_time(call.state.now())
    changes = whole_value_change(CA_AUDIT_NAME, before, record)
    policy_audit(call, "Update conditional access policy", record, changes, conditional=True)
    return no_content()


@handles("DELETE", f"{_CA}/policies/{{conditionalAccessPolicy-id}}")
async def delete_ca_policy(call: Call) -> Response:
    record = _ca_policy(call)
    soft_delete_policy(call.state, CONDITIONAL_ACCESS, record["id"])
    changes = whole_value_change(CA_AUDIT_NAME, record, None)
    policy_audit(call, "Delete conditional access policy", record, changes, conditional=True)
    return no_content()


# ---------------------------------------------------------------------- named locations
@handles("GET", f"{_CA}/namedLocations")
async def list_named_locations(call: Call) -> Response:
    records = list(policies_of(call.state)[NAMED_LOCATIONS].values())
    return _collection(call, "identity/conditionalAccess/namedLocations", records)


@handles("POST", f"{_CA}/namedLocations")
async def create_named_location(call: Call) -> Response:
    now = graph_time(call.state.now())
    record = named_location_record(await call.body(), location_id=new_id(), now=now)
    policies_of(call.state)[NAMED_LOCATIONS][record["id"]] = record
    changes = whole_value_change(LOCATION_AUDIT_NAME, None, record)
    policy_audit(call, "Add named location", record, changes, conditional=True)
    return graph_json(
        {
            "@odata.context": f"{call.graph_base}/$metadata#identity/conditionalAccess/"
            "namedLocations/$entity",
            **record,
        },
        201,
    )


def _named_location(call: Call) -> Json:
    location_id = call.param("namedLocation_id")
    record: Json | None = policies_of(call.state)[NAMED_LOCATIONS].get(location_id)
    if record is None:
        raise not_found(location_id)
    return record


@handles("GET", f"{_CA}/namedLocations/{{namedLocation-id}}")
async def get_named_location(call: Call) -> Response:
    return _entity(call, "identity/conditionalAccess/namedLocations", _named_location(call))


@handles("PATCH", f"{_CA}/namedLocations/{{namedLocation-id}}")
async def update_named_location(call: Call) -> Response:
    record = _named_location(call)
    body = await call.body()
    if body.get("@odata.type", record["@odata.type"]) != record["@odata.type"]:
        raise bad_request("The '@odata.type' of a named location cannot change.")
    writable = {"displayName"} | (
        {"ipRanges", "isTrusted"}
        if record["@odata.type"].endswith("ipNamedLocation")
        else {"countriesAndRegions", "includeUnknownCountriesAndRegions", "countryLookupMethod"}
    )
    before = copy.deepcopy(record)
    candidate = {**record, **{k: v for k, v in body.items() if not k.startswith("@")}}
    named_location_record(candidate, location_id=record["id"], now=record["createdDateTime"])
    _merge(record, body, frozenset(writable), "NamedLocation")
    record["modifiedDateTime"] = graph_time(call.state.now())
    changes = whole_value_change(LOCATION_AUDIT_NAME, before, record)
    policy_audit(call, "Update named location", record, changes, conditional=True)
    return no_content()


@handles("DELETE", f"{_CA}/namedLocations/{{namedLocation-id}}")
async def delete_named_location(call: Call) -> Response:
    record = _named_location(call)
    for policy in policies_of(call.state)[CONDITIONAL_ACCESS].values():
        locations = policy["conditions"].get("locations") or {}
        used = locations.get("includeLocations", []) + locations.get("excludeLocations", [])
        if record["id"] in used:
            raise bad_request(
                f"Named location '{record['id']}' is used by conditional access policy "
                f"'{policy['displayName']}'; remove it from the policy first."
            )
    soft_delete_policy(call.state, NAMED_LOCATIONS, record["id"])
    changes = whole_value_change(LOCATION_AUDIT_NAME, record, None)
    policy_audit(call, "Delete named location", record, changes, conditional=True)
    return no_content()


# ------------------------------------------------------------------------ singletons
_SINGLETONS: dict[str, tuple[str, frozenset[str], str]] = {
    "/policies/authorizationPolicy": (
        "authorizationPolicy",
        frozenset(
            {
                "displayName",
                "description",
                "allowInvitesFrom",
                "allowedToSignUpEmailBasedSubscriptions",
                "allowedToUseSSPR",
                "allowEmailVerifiedUsersToJoinOrganization",
                "allowUserConsentForRiskyApps",
                "blockMsolPowerShell",
                "defaultUserRolePermissions",
                "guestUserRoleId",
            }
        ),
        "Update authorization policy",
    ),
    "/policies/authenticationFlowsPolicy": (
        "authenticationFlowsPolicy",
        frozenset({"selfServiceSignUp"}),
        "Update authentication flows policy",
    ),
    _AMP: (
        "authenticationMethodsPolicy",
        frozenset({"registrationEnforcement", "policyMigrationState", "reconfirmationInDays"}),
        "Update authentication methods policy",
    ),
    "/policies/identitySecurityDefaultsEnforcementPolicy": (
        "identitySecurityDefaultsEnforcementPolicy",
        frozenset({"isEnabled"}),
        "Update policy",
    ),
    _XTAP: (
        "crossTenantAccessPolicy",
        frozenset({"displayName", "allowedCloudEndpoints"}),
        "Update cross-tenant access policy",
    ),
    f"{_XTAP}/default": (
        "crossTenantAccessPolicyDefault",
        frozenset(
            {
                "inboundTrust",
                "b2bCollaborationOutbound",
                "b2bCollaborationInbound",
                "b2bDirectConnectOutbound",
                "b2bDirectConnectInbound",
                "automaticUserConsentSettings",
            }
        ),
        "Update cross-tenant access default settings",
    ),
}


_TYPE_NAMES = {"crossTenantAccessPolicyDefault": "crossTenantAccessPolicyConfigurationDefault"}
"""The Graph type of a singleton whose record key is not its type's name."""


def _singleton(template: str) -> None:
    key, writable, activity = _SINGLETONS[template]
    context = template.removeprefix("/")

    async def read(call: Call) -> Response:
        record = policies_of(call.state)[key]
        if key == "authenticationMethodsPolicy":
            # "Get authenticationMethodsPolicy"
            # (https://learn.microsoft.com/graph/api/authenticationmethodspolicy-get) answers the
            # method configurations inline; ``$select`` leaves out what it does not name ("Use
            # query parameters", https://learn.microsoft.com/graph/query-parameters#select).
            configurations = list(policies_of(call.state)[METHOD_CONFIGURATIONS].values())
            record = {**record, "authenticationMethodConfigurations": configurations}
        # Every singleton applies ``$select`` the same way ("Use query parameters",
        # https://learn.microsoft.com/graph/query-parameters#select): only what it names.
        return entity_answer(call, record, context, type_name=_TYPE_NAMES.get(key, key))

    async def write(call: Call) -> Response:
        record = policies_of(call.state)[key]
        body = await call.body()
        if key == "identitySecurityDefaultsEnforcementPolicy" and body.get("isEnabled") is True:
            enabled = [
                policy["displayName"]
                for policy in policies_of(call.state)[CONDITIONAL_ACCESS].values()
                if policy["state"] == "enabled"
            ]
            if enabled:
                raise bad_request(
                    "Security defaults cannot be enabled while conditional access policies are "
                    f"enabled: {', '.join(sorted(enabled))}.",
                    code="BadRequest",
                )
        before = dict(record)
        names = _merge(record, body, writable, key[:1].upper() + key[1:])
        if "lastModifiedDateTime" in record:
            record["lastModifiedDateTime"] = graph_time(call.state.now())
        policy_audit(
            call,
            activity,
            {"id": record.get("id", key), **record},
            modified_properties(before, record, names),
        )
        return no_content()

    handles("GET", template)(read)
    handles("PATCH", template)(write)


for _template in _SINGLETONS:
    _singleton(_template)


# ------------------------------------------------------ authentication method configurations
@handles("GET", f"{_AMP}/authenticationMethodConfigurations")
async def list_method_configurations(call: Call) -> Response:
    records = list(policies_of(call.state)[METHOD_CONFIGURATIONS].values())
    return _collection(
        call, "policies/authenticationMethodsPolicy/authenticationMethodConfigurations", records
    )


def _method_configuration(call: Call) -> Json:
    method_id = call.param("authenticationMethodConfiguration_id")
    for key, record in policies_of(call.state)[METHOD_CONFIGURATIONS].items():
        if key.lower() == method_id.lower():
            found: Json = record
            return found
    raise not_found(method_id)


_METHOD = f"{_AMP}/authenticationMethodConfigurations/{{authenticationMethodConfiguration-id}}"


@handles("GET", _METHOD)
async def get_method_configuration(call: Call) -> Response:
    return _entity(
        call,
        "policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
        _method_configuration(call),
    )


@handles("PATCH", _METHOD)
async def update_method_configuration(call: Call) -> Response:
    record = _method_configuration(call)
    body = await call.body()
    if body.get("@odata.type", record["@odata.type"]) != record["@odata.type"]:
        raise bad_request(f"'@odata.type' must stay {record['@odata.type']}.")
    if "state" in body and body["state"] not in {"enabled", "disabled"}:
        raise bad_request("'state' must be enabled or disabled.")
    writable = frozenset(set(record) - {"id", "@odata.type"})
    before = dict(record)
    names = _merge(record, body, writable, record["@odata.type"].rsplit(".", 1)[1])
    policy_audit(
        call,
        "Update authentication method configuration",
        record,
        modified_properties(before, record, names),
    )
    return no_content()


# ------------------------------------------------------------ cross-tenant access partners
@handles("GET", f"{_XTAP}/partners")
async def list_partners(call: Call) -> Response:
    records = list(policies_of(call.state)[PARTNERS].values())
    return _collection(call, "policies/crossTenantAccessPolicy/partners", records)


@handles("POST", f"{_XTAP}/partners")
async def create_partner(call: Call) -> Response:
    body: Any = await call.body()
    tenant_id = body.get("tenantId")
    if not isinstance(tenant_id, str) or not tenant_id:
        raise bad_request("A value is required for property 'tenantId'.")
    partners = policies_of(call.state)[PARTNERS]
    if tenant_id in partners:
        raise GraphError(
            409,
            "Request_MultipleObjectsWithSameKeyValue",
            f"A partner configuration for tenant '{tenant_id}' already exists.",
        )
    record = new_partner(tenant_id)
    _merge(
        record,
        {k: v for k, v in body.items() if k != "tenantId"},
        frozenset(set(record) - {"tenantId"}),
        "CrossTenantAccessPolicyConfigurationPartner",
    )
    partners[tenant_id] = record
    policy_audit(
        call,
        "Add a partner to cross-tenant access setting",
        record,
        modified_properties({}, record, ["tenantId"]),
    )
    return graph_json(
        {
            "@odata.context": f"{call.graph_base}/$metadata#policies/crossTenantAccessPolicy/"
            "partners/$entity",
            **record,
        },
        201,
    )


_PARTNER = f"{_XTAP}/partners/{{crossTenantAccessPolicyConfigurationPartner-tenantId}}"


def _partner(call: Call) -> Json:
    tenant_id = call.param("crossTenantAccessPolicyConfigurationPartner_tenantId")
    record: Json | None = policies_of(call.state)[PARTNERS].get(tenant_id)
    if record is None:
        raise not_found(tenant_id)
    return record


@handles("GET", _PARTNER)
async def get_partner(call: Call) -> Response:
    return _entity(call, "policies/crossTenantAccessPolicy/partners", _partner(call))


@handles("PATCH", _PARTNER)
async def update_partner(call: Call) -> Response:
    record = _partner(call)
    before = dict(record)
    names = _merge(
        record,
        await call.body(),
        frozenset(set(record) - {"tenantId"}),
        "CrossTenantAccessPolicyConfigurationPartner",
    )
    policy_audit(
        call,
        "Update a partner cross-tenant access setting",
        record,
        modified_properties(before, record, names),
    )
    return no_content()


@handles("DELETE", _PARTNER)
async def delete_partner(call: Call) -> Response:
    record = _partner(call)
    del policies_of(call.state)[PARTNERS][record["tenantId"]]
    policy_audit(call, "Delete partner specific cross-tenant access setting", record, [])
    return no_content()
