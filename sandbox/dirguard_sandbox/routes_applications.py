"""Applications and service principals: create, read, update, delete (to directory/deletedItems,
restorable 30 days; deleting an application deletes its service principal too), client secrets
and certificates (addPassword, removePassword, addKey, removeKey), and lookup by appId.

Each application keeps a private side (``DirectoryState.applications``: secrets, certificates)
that the token endpoint reads; Graph answers never show a secret or key after creation.
"""

from __future__ import annotations

import base64
from typing import Any

import jwt
from cryptography import x509
from starlette.responses import Response

from dirguard_sandbox.application_records import (
    add_secret,
    key_credential,
    new_application_record,
    new_service_principal_record,
    remove_secret,
    replace_key_credentials,
    soft_delete_application,
    soft_delete_service_principal,
)
from dirguard_sandbox.audit import modified_properties
from dirguard_sandbox.directory_state import Application, Json, graph_time, new_id
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, handles, no_content
from dirguard_sandbox.identity_answers import (
    ADVANCED_ORDERABLE,
    audit_change,
    collection_answer,
    entity_answer,
    require,
    required_fields,
)
from dirguard_sandbox.resource_rules import check_body

APPLICATION_WRITABLE: dict[str, type | tuple[type, ...]] = {
    "displayName": str,
    "description": str,
    "notes": str,
    "signInAudience": str,
    "identifierUris": list,
    "tags": list,
    "appRoles": list,
    "requiredResourceAccess": list,
    "keyCredentials": list,
    "isFallbackPublicClient": bool,
    "publicClient": dict,
    "web": dict,
    "groupMembershipClaims": (str, type(None)),
}
"""``groupMembershipClaims`` is writable: "Configures the groups claim issued in a user or OAuth
2.0 access token that the application expects" (application resource type,
https://learn.microsoft.com/graph/api/resources/application#properties), one of
:data:`GROUP_MEMBERSHIP_CLAIMS`; id_token_claims.py issues what it asks for."""
GROUP_MEMBERSHIP_CLAIMS = ("None", "SecurityGroup", "All", "ApplicationGroup", "DirectoryRole")
SERVICE_PRINCIPAL_WRITABLE: dict[str, type | tuple[type, ...]] = {
    "appId": str,
    "accountEnabled": bool,
    "appRoleAssignmentRequired": bool,
    "displayName": str,
    "tags": list,
}
_PROOF_AUDIENCE = "00000002-0000-0000-c000-000000000000"
_APP_TEMPLATE = new_application_record(object_id="", app_id="", display_name="", created="")


def _private(call: Call, record: Json) -> Application:
    return call.state.applications[record["appId"]]


def _application(call: Call) -> Json:
    return require(call.state.application_objects, call.param("application_id"))


def _by_app_id(table: dict[str, Json], app_id: str) -> Json:
    for record in table.values():
        if record["appId"] == app_id:
            return record
    raise not_found(app_id)


@handles("GET", "/applications")
async def list_applications(call: Call) -> Response:
    records = list(call.state.application_objects.values())
    return collection_answer(
        call,
        records,
        "applications",
        "application",
        _APP_TEMPLATE,
        advanced_orderable=ADVANCED_ORDERABLE,
    )


@handles("GET", "/applications/{application-id}")
async def get_application(call: Call) -> Response:
    return entity_answer(call, _application(call), "applications")


@handles("GET", "/applications(appId='{appId}')")
async def get_application_by_app_id(call: Call) -> Response:
    record = _by_app_id(call.state.application_objects, call.param("appId"))
    return entity_answer(call, record, "applications")


def _check_group_claims(body: dict[str, object]) -> None:
    value = body.get("groupMembershipClaims")
    if value is not None and value not in GROUP_MEMBERSHIP_CLAIMS:
        raise bad_request(
            f"Invalid value specified for property 'groupMembershipClaims' of resource"
            f" 'Application'. Use one of {', '.join(GROUP_MEMBERSHIP_CLAIMS)}."
        )


@handles("POST", "/applications")
async def create_application(call: Call) -> Response:
    state = call.state
    body = check_body(
        await call.body(),
        writable=APPLICATION_WRITABLE,
        resource="Application",
        known=frozenset(_APP_TEMPLATE),
    )
    required_fields(body, ("displayName",), "application")
    _check_group_claims(body)
    app_id = new_id()
    record = new_application_record(
        object_id=new_id(),
        app_id=app_id,
        display_name=body["displayName"],
        created=graph_time(state.now()),
    )
    private = Application(
        app_id=app_id,
        object_id=record["id"],
        service_principal_id="",
        display_name=record["displayName"],
        secrets=[],
        granted=[],
    )
    keys = body.pop("keyCredentials", [])
    record.update(body)
    replace_key_credentials(state, private, record, keys)
    state.applications[app_id] = private
    state.application_objects[record["id"]] = record
    state.bump(record["id"])
    audit_change(
        call,
        activity="Add application",
        category="ApplicationManagement",
        operation_type="Add",
        object_type="Application",
        record=record,
        modified=modified_properties({}, record, sorted(body)),
    )
    return entity_answer(call, record, "applications", 201)


@handles("PATCH", "/applications/{application-id}")
async def update_application(call: Call) -> Response:
    record = _application(call)
    body = check_body(
        await call.body(),
        writable=APPLICATION_WRITABLE,
        resource="Application",
        known=frozenset(_APP_TEMPLATE),
    )
    _check_group_claims(body)
    before = {name: record.get(name) for name in body}
    private = _private(call, record)
    if "keyCredentials" in body:
        replace_key_credentials(call.state, private, record, body.pop("keyCredentials"))
    record.update(body)
    if "displayName" in body:
        private.display_name = record["displayName"]
    call.state.bump(record["id"])
    audit_change(
        call,
        activity="Update application",
        category="ApplicationManagement",
        operation_type="Update",
        object_type="Application",
        record=record,
        modified=modified_properties(before, record, sorted(before)),
    )
    return no_content()


@handles("DELETE", "/applications/{application-id}")
async def delete_application(call: Call) -> Response:
    state = call.state
    record = _application(call)
    private = state.applications.get(record["appId"])
    principal = state.service_principals.get(private.service_principal_id if private else "")
    soft_delete_application(state, record)
    audit_change(
        call,
        activity="Delete application",
        category="ApplicationManagement",
        operation_type="Delete",
        object_type="Application",
        record=record,
    )
    if principal is not None:
        # Entra deletes the app's service principal with it; restoring the application does not
        # bring the service principal back (it is restored on its own).
        soft_delete_service_principal(state, principal)
        _principal_removed(call, principal)
    return no_content()


def _credential_audit(call: Call, record: Json, before: Json, name: str) -> None:
    """Audit a credential change and mark the object changed: its ``keyCredentials`` /
    ``passwordCredentials`` are properties of the ``application`` (and ``servicePrincipal``)
    resource, so the next delta round returns the object ("application: delta", Microsoft
    Graph v1.0: the response holds the entities changed since the last round)."""
    call.state.bump(record["id"])
    audit_change(
        call,
        activity="Update application – Certificates and secrets management ",
        category="ApplicationManagement",
        operation_type="Update",
        object_type="Application",
        record=record,
        modified=modified_properties(before, record, [name]),
    )


@handles("POST", "/applications/{application-id}/addPassword")
async def add_password(call: Call) -> Response:
    record = _application(call)
    body = await call.body()
    given = body.get("passwordCredential") or {}
    if not isinstance(given, dict):
        raise bad_request("passwordCredential must be a JSON object.")
    before = {"passwordCredentials": list(record["passwordCredentials"])}
    answer = add_secret(
        call.state,
        _private(call, record),
        record,
        display_name=given.get("displayName"),
        end=given.get("endDateTime"),
    )
    _credential_audit(call, record, before, "passwordCredentials")
    return entity_answer(call, answer, "microsoft.graph.passwordCredential")


@handles("POST", "/applications/{application-id}/removePassword")
async def remove_password(call: Call) -> Response:
    record = _application(call)
    key_id = (await call.body()).get("keyId")
    if not isinstance(key_id, str):
        raise bad_request("removePassword needs the keyId of the password credential.")
    before = {"passwordCredentials": list(record["passwordCredentials"])}
    remove_secret(_private(call, record), record, key_id)
    _credential_audit(call, record, before, "passwordCredentials")
    return no_content()


def _check_proof(call: Call, record: Json, proof: Any) -> None:
    """addKey/removeKey need a JWT signed with one of the application's current certificates."""
    private = _private(call, record)
    if not isinstance(proof, str) or not private.certificates:
        raise bad_request(
            "A proof of possession of an existing certificate is required; an application "
            "without a certificate gets its first one by updating keyCredentials.",
            code="Request_BadRequest",
        )
    for encoded in private.certificates.values():
        certificate = x509.load_der_x509_certificate(base64.b64decode(encoded))
        try:
            jwt.decode(
                proof,
                certificate.public_key(),  # type: ignore[arg-type]
                algorithms=["RS256", "PS256"],
                audience=_PROOF_AUDIENCE,
                issuer=record["id"],
                options={"require": ["exp", "nbf", "aud", "iss"]},
            )
        except jwt.PyJWTError:
            continue
        return
    raise bad_request("Proof of possession is not valid for any of the application's keys.")


@handles("POST", "/applications/{application-id}/addKey")
async def add_key(call: Call) -> Response:
    record = _application(call)
    body = await call.body()
    _check_proof(call, record, body.get("proof"))
    given = body.get("keyCredential")
    if not isinstance(given, dict):
        raise bad_request("addKey needs a keyCredential object.")
    before = {"keyCredentials": list(record["keyCredentials"])}
    credential = key_credential(call.state, _private(call, record), given)
    record["keyCredentials"].append(credential)
    _credential_audit(call, record, before, "keyCredentials")
    return entity_answer(call, credential, "microsoft.graph.keyCredential")


@handles("POST", "/applications/{application-id}/removeKey")
async def remove_key(call: Call) -> Response:
    record = _application(call)
    body = await call.body()
    _check_proof(call, record, body.get("proof"))
    key_id = body.get("keyId")
    before = {"keyCredentials": list(record["keyCredentials"])}
    remaining = [c for c in record["keyCredentials"] if c["keyId"] != key_id]
    if len(remaining) == len(record["keyCredentials"]):
        raise bad_request(f"No key credential found with keyId '{key_id}'.")
    record["keyCredentials"] = remaining
    _private(call, record).certificates.pop(str(key_id), None)
    _credential_audit(call, record, before, "keyCredentials")
    return no_content()


# ------------------------------------------------------------------ service principals
@handles("GET", "/servicePrincipals(appId='{appId}')")
async def get_service_principal_by_app_id(call: Call) -> Response:
    record = _by_app_id(call.state.service_principals, call.param("appId"))
    return entity_answer(call, record, "servicePrincipals")


@handles("POST", "/servicePrincipals")
async def create_service_principal(call: Call) -> Response:
    state = call.state
    body = check_body(
        await call.body(),
        writable=SERVICE_PRINCIPAL_WRITABLE,
        resource="ServicePrincipal",
        known=frozenset(SERVICE_PRINCIPAL_WRITABLE),
    )
    required_fields(body, ("appId",), "service principal")
    app = next((a for a in state.application_objects.values() if a["appId"] == body["appId"]), None)
    if app is None:
        raise bad_request(
            f"The appId '{body['appId']}' of the service principal does not reference a valid "
            "application object.",
            code="Request_BadRequest",
        )
    if any(sp["appId"] == app["appId"] for sp in state.service_principals.values()):
        raise bad_request(
            "The service principal cannot be created, updated, or restored because the service "
            "principal name "
            f"{app['appId']} is already in use.",
            code="Request_MultipleObjectsWithSameKeyValue",
        )
    record = new_service_principal_record(state, app)
    record.update({k: v for k, v in body.items() if k != "appId"})
    state.service_principals[record["id"]] = record
    state.applications[app["appId"]].service_principal_id = record["id"]
    state.bump(record["id"])
    audit_change(
        call,
        activity="Add service principal",
        category="ApplicationManagement",
        operation_type="Add",
        object_type="ServicePrincipal",
        record=record,
    )
    return entity_answer(call, record, "servicePrincipals", 201)


@handles("PATCH", "/servicePrincipals/{servicePrincipal-id}")
async def update_service_principal(call: Call) -> Response:
    record = require(call.state.service_principals, call.param("servicePrincipal_id"))
    writable = {k: v for k, v in SERVICE_PRINCIPAL_WRITABLE.items() if k != "appId"}
    body = check_body(
        await call.body(), writable=writable, resource="ServicePrincipal", known=frozenset(record)
    )
    before = {name: record.get(name) for name in body}
    record.update(body)
    call.state.bump(record["id"])
    audit_change(
        call,
        activity="Update service principal",
        category="ApplicationManagement",
        operation_type="Update",
        object_type="ServicePrincipal",
        record=record,
        modified=modified_properties(before, record, sorted(before)),
    )
    return no_content()


@handles("DELETE", "/servicePrincipals/{servicePrincipal-id}")
async def delete_service_principal(call: Call) -> Response:
    state = call.state
    record = require(state.service_principals, call.param("servicePrincipal_id"))
    soft_delete_service_principal(state, record)
    _principal_removed(call, record)
    return no_content()


def _principal_removed(call: Call, record: Json) -> None:
    audit_change(
        call,
        activity="Remove service principal",
        category="ApplicationManagement",
        operation_type="Delete",
        object_type="ServicePrincipal",
        record=record,
    )
