"""Application and service principal records, and their credentials (client secrets and
certificates), as Graph shows them: a credential's secret or key is returned once, on creation,
and never again."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import hashlib
import secrets
from typing import Any

from cryptography import x509

from dirguard_sandbox.directory_state import Application, DirectoryState, Json, graph_time, new_id
from dirguard_sandbox.errors import bad_request

SECRET_LIFETIME = datetime.timedelta(days=730)
"""addPassword's default endDateTime: two years, as Entra sets it."""
_NO_INFO_URLS = dict.fromkeys(
    ("logoUrl", "marketingUrl", "privacyStatementUrl", "supportUrl", "termsOfServiceUrl")
)


def new_application_record(
    *, object_id: str, app_id: str, display_name: str, created: str, **extra: Any
) -> Json:
    record: Json = {
        "id": object_id,
        "appId": app_id,
        "createdDateTime": created,
        "deletedDateTime": None,
        "description": None,
        "displayName": display_name,
        "identifierUris": [],
        "notes": None,
        "publisherDomain": None,
        "signInAudience": "AzureADMyOrg",
        "tags": [],
        "appRoles": [],
        "keyCredentials": [],
        "passwordCredentials": [],
        "requiredResourceAccess": [],
        "isFallbackPublicClient": None,
        "publicClient": {"redirectUris": []},
        "web": {
            "homePageUrl": None,
            "logoutUrl": None,
            "redirectUris": [],
            "implicitGrantSettings": {
                "enableAccessTokenIssuance": False,
                "enableIdTokenIssuance": False,
            },
        },
        "addIns": [],
        "api": {
            "acceptMappedClaims": None,
            "knownClientApplications": [],
            "requestedAccessTokenVersion": None,
            "oauth2PermissionScopes": [],
            "preAuthorizedApplications": [],
        },
        "applicationTemplateId": None,
        "disabledByMicrosoftStatus": None,
        "groupMembershipClaims": None,
        "info": dict(_NO_INFO_URLS),
        "isDeviceOnlyAuthSupported": None,
        "optionalClaims": None,
        "parentalControlSettings": {"countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow"},
        "tokenEncryptionKeyId": None,
    }
    record.update(extra)
    return record


def new_service_principal_record(state: DirectoryState, app: Json) -> Json:
    return {
        "id": new_id(),
        "accountEnabled": True,
        "appDisplayName": app["displayName"],
        "appId": app["appId"],
        "appOwnerOrganizationId": state.tenant_id,
        "appRoleAssignmentRequired": False,
        "displayName": app["displayName"],
        "servicePrincipalNames": [app["appId"], *app.get("identifierUris", [])],
        "servicePrincipalType": "Application",
        "signInAudience": app.get("signInAudience", "AzureADMyOrg"),
        "tags": list(app.get("tags", [])),
        "appRoles": list(app.get("appRoles", [])),
        "keyCredentials": [],
        "passwordCredentials": [],
        "deletedDateTime": None,
        "addIns": [],
        "alternativeNames": [],
        "disabledByMicrosoftStatus": None,
        "homepage": None,
        "info": dict(_NO_INFO_URLS),
        "logoutUrl": None,
        "oauth2PermissionScopes": [],
        "replyUrls": [],
        "tokenEncryptionKeyId": None,
    }


def add_secret(
    state: DirectoryState,
    private: Application,
    record: Json,
    *,
    display_name: str | None,
    end: str | None = None,
    secret: str | None = None,
) -> Json:
    """Add a client secret; the answer (and only the answer) holds ``secretText``."""
    now = state.now()
    value = secret or secrets.token_urlsafe(30)
    credential: Json = {
        "customKeyIdentifier": None,
        "displayName": display_name,
        "endDateTime": end or graph_time(now + SECRET_LIFETIME),
        "hint": value[:3],
        "keyId": new_id(),
        "secretText": None,
        "startDateTime": graph_time(now),
    }
    record["passwordCredentials"].append(credential)
    private.secrets.append(value)
    private.secret_key_ids[credential["keyId"]] = value
    return {**credential, "secretText": value}


def remove_secret(private: Application, record: Json, key_id: str) -> Json:
    for credential in record["passwordCredentials"]:
        if credential["keyId"] == key_id:
            record["passwordCredentials"].remove(credential)
            value = private.secret_key_ids.pop(key_id, None)
            if value in private.secrets:
                private.secrets.remove(value)
            removed: Json = credential
            return removed
    raise bad_request(f"No password credential found with keyId '{key_id}'.")


def certificate_thumbprints(der: bytes) -> tuple[str, str]:
    """The base64url SHA-1 and SHA-256 thumbprints (``x5t``, ``x5t#S256``) of a certificate."""
    sha1 = hashlib.sha1(der, usedforsecurity=False).digest()
    sha256 = hashlib.sha256(der).digest()
    return (
        base64.urlsafe_b64encode(sha1).rstrip(b"=").decode(),
        base64.urlsafe_b64encode(sha256).rstrip(b"=").decode(),
    )


def key_credential(state: DirectoryState, private: Application, given: Json) -> Json:
    """A keyCredential from a request's ``{type, usage, key, displayName}``; keeps the cert."""
    key = given.get("key")
    if not isinstance(key, str) or not key:
        raise bad_request("keyCredential.key must hold the base64-encoded X.509 certificate.")
    if given.get("type") not in ("AsymmetricX509Cert", "X509CertAndPassword"):
        raise bad_request(
            f"keyCredential.type '{given.get('type')}' is not valid; use 'AsymmetricX509Cert'."
        )
    if given.get("usage") not in ("Verify", "Sign"):
        raise bad_request(f"keyCredential.usage '{given.get('usage')}' is not valid; use 'Verify'.")
    try:
        der = base64.b64decode(key, validate=True)
        certificate = x509.load_der_x509_certificate(der)
    except ValueError as error:
        raise bad_request("keyCredential.key is not a base64-encoded X.509 certificate.") from error
    sha1 = hashlib.sha1(der, usedforsecurity=False).digest()
    key_id = str(given.get("keyId") or new_id())
    private.certificates[key_id] = key
    return {
        "customKeyIdentifier": base64.b64encode(sha1).decode(),
        "displayName": given.get("displayName") or certificate.subject.rfc4514_string(),
        "endDateTime": graph_time(certificate.not_valid_after_utc),
        "key": None,
        "keyId": key_id,
        "startDateTime": graph_time(certificate.not_valid_before_utc),
        "type": "AsymmetricX509Cert",
        "usage": str(given["usage"]),
    }


def replace_key_credentials(
    state: DirectoryState, private: Application, record: Json, given: list[Any]
) -> None:
    """PATCH keyCredentials: the list replaces the old one; an entry may keep a key by keyId."""
    kept: list[Json] = []
    old = {credential["keyId"]: credential for credential in record["keyCredentials"]}
    certificates = dict(private.certificates)
    private.certificates.clear()
    for entry in given:
        if not isinstance(entry, dict):
            raise bad_request("keyCredentials must be a list of keyCredential objects.")
        key_id = str(entry.get("keyId"))
        if not entry.get("key") and key_id in old:
            kept.append(old[key_id])
            private.certificates[key_id] = certificates[key_id]
            continue
        kept.append(key_credential(state, private, entry))
    record["keyCredentials"] = kept


def soft_delete_application(state: DirectoryState, record: Json) -> None:
    """Move an application to directory/deletedItems; its secrets and certificates go with it
    (no token is issued for it until it is restored)."""
    state.soft_delete("applications", record["id"])
    private = state.applications.pop(record["appId"], None)
    if private is not None:
        state.deleted_links[record["id"]]["application"] = dataclasses.asdict(private)


def soft_delete_service_principal(state: DirectoryState, record: Json) -> None:
    """Move a service principal to directory/deletedItems with its app role assignments and
    delegated grants (both ends), which come back when it is restored."""
    sp_id = record["id"]
    state.soft_delete("servicePrincipals", sp_id)
    assignments = [
        state.app_role_assignments.pop(assignment_id)
        for assignment_id, assignment in list(state.app_role_assignments.items())
        if sp_id in (assignment["principalId"], assignment["resourceId"])
    ]
    grants = [
        state.oauth2_grants.pop(grant_id)
        for grant_id, grant in list(state.oauth2_grants.items())
        if sp_id in (grant["clientId"], grant["resourceId"])
    ]
    links = state.deleted_links[sp_id]
    links["appRoleAssignments"] = assignments
    links["oauth2PermissionGrants"] = grants
    private = state.applications.get(record["appId"])
    if private is not None and private.service_principal_id == sp_id:
        private.service_principal_id = ""


def restore_conflict(state: DirectoryState, kind: str, record: Json) -> str | None:
    """Why an application or service principal cannot be restored now, or None."""
    live = state.collection(kind).values()
    if any(other["appId"] == record["appId"] for other in live):
        noun = "application" if kind == "applications" else "service principal"
        return f"Another {noun} with the appId '{record['appId']}' already exists."
    return None


def restore_application_side(state: DirectoryState, kind: str, record: Json, links: Json) -> None:
    """After ``state.restore``: the private side of a restored application, or the assignments
    and grants of a restored service principal whose other end still exists."""
    if kind == "applications" and "application" in links:
        private = Application(**links["application"])
        sp = next(
            (s for s in state.service_principals.values() if s["appId"] == record["appId"]), None
        )
        private.service_principal_id = sp["id"] if sp is not None else ""
        state.applications[record["appId"]] = private
    if kind != "servicePrincipals":
        return
    for assignment in links.get("appRoleAssignments", []):
        if state.lookup(assignment["principalId"]) and state.lookup(assignment["resourceId"]):
            state.app_role_assignments[assignment["id"]] = assignment
    for grant in links.get("oauth2PermissionGrants", []):
        if grant["clientId"] in state.service_principals and (
            grant["resourceId"] in state.service_principals
        ):
            state.oauth2_grants[grant["id"]] = grant
    owner = state.applications.get(record["appId"])
    if owner is not None:
        owner.service_principal_id = record["id"]
