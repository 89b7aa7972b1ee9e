"""Tenant settings and lists the guardian reads that a fresh tenant fills with Microsoft's
built-ins or leaves empty:

- ``identity/conditionalAccess/authenticationStrength/policies``: the three built-in strengths,
  as "List authenticationStrengthPolicies"
  (https://learn.microsoft.com/graph/api/authenticationstrengthroot-list-policies) shows them
  (ids ``00000000-0000-0000-0000-00000000000{2,3,4}``, their allowed combinations);
- ``identity/conditionalAccess/templates`` ("List conditionalAccessTemplates",
  https://learn.microsoft.com/graph/api/conditionalaccessroot-list-templates): the template the
  page shows whole, "Require multifactor authentication for admins" (Graph holds more; their
  details are not on the page);
- ``identity/conditionalAccess/authenticationContextClassReferences``
  (https://learn.microsoft.com/graph/api/conditionalaccessroot-list-authenticationcontextclassreferences):
  none until an administrator defines one;
- ``policies/permissionGrantPolicies`` ("List permissionGrantPolicies",
  https://learn.microsoft.com/graph/api/permissiongrantpolicy-list): the built-in
  ``microsoft-company-admin`` policy of the page's example;
- ``policies/adminConsentRequestPolicy`` ("Get adminConsentRequestPolicy",
  https://learn.microsoft.com/graph/api/adminconsentrequestpolicy-get): the workflow off, as in a
  fresh tenant;
- ``directory/onPremisesSynchronization`` ("Get onPremisesDirectorySynchronization",
  https://learn.microsoft.com/graph/api/onpremisesdirectorysynchronization-get): the tenant's one
  object (its id the tenant's), with the page's example settings;
- ``policies/tokenLifetimePolicies``, ``devices``, ``groupSettings`` and a group's ``settings``,
  ``directory/customSecurityAttributeDefinitions`` and ``attributeSets``, and an application's
  ``federatedIdentityCredentials`` and ``extensionProperties``: empty until created;
- ``directoryRoles/{id}/scopedMembers`` and
  ``directory/administrativeUnits/{id}/scopedRoleMembers``: empty, because the sandbox assigns
  roles tenant-wide only (``directoryScopeId`` ``/``).
"""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.directory_state import Json
from dirguard_sandbox.graph_routing import Call, graph_json, handles
from dirguard_sandbox.identity_answers import require

_BUILT_IN_CREATED = "2021-12-01T00:00:00Z"
_STRENGTHS = (
    (
        "00000000-0000-0000-0000-000000000002",
        "Multifactor authentication",
        "Combinations of methods that satisfy strong authentication, such as a password + SMS",
        [
            "windowsHelloForBusiness",
            "fido2",
            "x509CertificateMultiFactor",
            "deviceBasedPush",
            "temporaryAccessPassOneTime",
            "temporaryAccessPassMultiUse",
            "password,microsoftAuthenticatorPush",
            "password,softwareOath",
            "password,hardwareOath",
            "password,x509CertificateSingleFactor",
            "password,x509CertificateMultiFactor",
            "password,sms",
            "password,voice",
            "federatedMultiFactor",
            "microsoftAuthenticatorPush,federatedSingleFactor",
            "softwareOath,federatedSingleFactor",
            "hardwareOath,federatedSingleFactor",
            "sms,federatedSingleFactor",
            "voice,federatedSingleFactor",
        ],
    ),
    (
        "00000000-0000-0000-0000-000000000003",
        "Passwordless MFA",
        "Passwordless methods that satisfy strong authentication, such as Passwordless sign-in "
        "with the Microsoft Authenticator",
        ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor", "deviceBasedPush"],
    ),
    (
        "00000000-0000-0000-0000-000000000004",
        "Phishing-resistant MFA",
        "Phishing-resistant, Passwordless methods for the strongest authentication, such as a "
        "FIDO2 security key",
        ["windowsHelloForBusiness", "fido2", "x509CertificateMultiFactor"],
    ),
)


def _strength(strength_id: str, name: str, description: str, combinations: list[str]) -> Json:
    return {
        "id": strength_id,
        "createdDateTime": _BUILT_IN_CREATED,
        "modifiedDateTime": _BUILT_IN_CREATED,
        "displayName": name,
        "description": description,
        "policyType": "builtIn",
        "requirementsSatisfied": "mfa",
        "allowedCombinations": list(combinations),
        "combinationConfigurations": [],
    }


def _condition(condition_id: str, permission_type: str) -> Json:
    return {
        "id": condition_id,
        "permissionClassification": "all",
        "permissionType": permission_type,
        "resourceApplication": "any",
        "permissions": ["all"],
        "clientApplicationIds": ["all"],
        "clientApplicationTenantIds": ["all"],
        "clientApplicationPublisherIds": ["all"],
        "clientApplicationsFromVerifiedPublisherOnly": False,
    }


_PERMISSION_GRANT_POLICIES = (
    {
        "id": "microsoft-company-admin",
        "displayName": "Company Admin Policy",
        "description": "Permissions consentable by Company Administrators.",
        "includes": [
            _condition("1f06f3a1-42d3-4243-8fbc-5d0c30d4de4c", "application"),
            _condition("08619a19-ae6f-406c-b9a0-ea6af1f1558d", "delegated"),
        ],
        "excludes": [],
    },
)
_ADMIN_CONSENT_REQUEST_POLICY: Json = {
    "isEnabled": False,
    "notifyReviewers": False,
    "remindersEnabled": False,
    "requestDurationInDays": 0,
    "version": 0,
    "reviewers": [],
}


def _collection(call: Call, context: str, value: list[Json]) -> Response:
    return graph_json({"@odata.context": f"{call.graph_base}/$metadata#{context}", "value": value})


@handles("GET", "/identity/conditionalAccess/authenticationStrength/policies")
async def list_authentication_strengths(call: Call) -> Response:
    value = [_strength(*strength) for strength in _STRENGTHS]
    return _collection(call, "identity/conditionalAccess/authenticationStrength/policies", value)


@handles("GET", "/identity/conditionalAccess/authenticationContextClassReferences")
async def list_authentication_contexts(call: Call) -> Response:
    return _collection(call, "identity/conditionalAccess/authenticationContextClassReferences", [])


@handles("GET", "/policies/permissionGrantPolicies")
async def list_permission_grant_policies(call: Call) -> Response:
    value = [dict(policy) for policy in _PERMISSION_GRANT_POLICIES]
    return _collection(call, "policies/permissionGrantPolicies", value)


@handles("GET", "/policies/adminConsentRequestPolicy")
async def get_admin_consent_request_policy(call: Call) -> Response:
    context = f"{call.graph_base}/$metadata#policies/adminConsentRequestPolicy/$entity"
    return graph_json({"@odata.context": context, **_ADMIN_CONSENT_REQUEST_POLICY})


@handles("GET", "/policies/tokenLifetimePolicies")
async def list_token_lifetime_policies(call: Call) -> Response:
    return _collection(call, "policies/tokenLifetimePolicies", [])


@handles("GET", "/groupSettings")
async def list_group_settings(call: Call) -> Response:
    return _collection(call, "groupSettings", [])


@handles("GET", "/applications/{application-id}/federatedIdentityCredentials")
async def list_federated_credentials(call: Call) -> Response:
    app = require(call.state.application_objects, call.param("application_id"))
    return _collection(call, f"applications('{app['id']}')/federatedIdentityCredentials", [])


@handles("GET", "/applications/{application-id}/extensionProperties")
async def list_extension_properties(call: Call) -> Response:
    app = require(call.state.application_objects, call.param("application_id"))
    return _collection(call, f"applications('{app['id']}')/extensionProperties", [])


@handles("GET", "/directoryRoles/{directoryRole-id}/scopedMembers")
async def list_scoped_members(call: Call) -> Response:
    role = require(call.state.directory_roles, call.param("directoryRole_id"))
    return _collection(call, f"directoryRoles('{role['id']}')/scopedMembers", [])


@handles("GET", "/directory/administrativeUnits/{administrativeUnit-id}/scopedRoleMembers")
async def list_scoped_role_members(call: Call) -> Response:
    unit = require(call.state.administrative_units, call.param("administrativeUnit_id"))
    return _collection(call, f"directory/administrativeUnits('{unit['id']}')/scopedRoleMembers", [])


_SYNC_FEATURES = {
    "passwordSyncEnabled": False,
    "passwordWritebackEnabled": False,
    "directoryExtensionsEnabled": False,
    "quarantineUponUpnConflictEnabled": True,
    "quarantineUponProxyAddressesConflictEnabled": True,
    "softMatchOnUpnEnabled": True,
    "cloudPasswordPolicyForPasswordSyncedUsersEnabled": False,
    "fopeConflictResolutionEnabled": False,
    "unifiedGroupWritebackEnabled": False,
    "userWritebackEnabled": False,
    "deviceWritebackEnabled": False,
    "synchronizeUpnForManagedUsersEnabled": True,
    "userForcePasswordChangeOnLogonEnabled": False,
    "concurrentOrgIdProvisioningEnabled": False,
    "concurrentCredentialUpdateEnabled": False,
    "groupWriteBackEnabled": False,
    "blockSoftMatchEnabled": False,
    "blockCloudObjectTakeoverThroughHardMatchEnabled": False,
    "bypassDirSyncOverridesEnabled": False,
}


def _synchronization(call: Call) -> Json:
    return {
        "id": call.state.tenant_id,
        "configuration": {
            "accidentalDeletionPrevention": {
                "synchronizationPreventionType": "enabledForCount",
                "alertThreshold": 500,
            }
        },
        "features": dict(_SYNC_FEATURES),
    }


@handles("GET", "/directory/onPremisesSynchronization")
async def list_synchronization(call: Call) -> Response:
    return _collection(call, "directory/onPremisesSynchronization", [_synchronization(call)])


@handles("GET", "/directory/onPremisesSynchronization/{onPremisesDirectorySynchronization-id}")
async def get_synchronization(call: Call) -> Response:
    record = _synchronization(call)
    require({record["id"]: record}, call.param("onPremisesDirectorySynchronization_id"))
    context = f"{call.graph_base}/$metadata#directory/onPremisesSynchronization/$entity"
    return graph_json({"@odata.context": context, **record})


@handles("GET", "/directory/customSecurityAttributeDefinitions")
async def list_custom_attributes(call: Call) -> Response:
    return _collection(call, "directory/customSecurityAttributeDefinitions", [])


@handles("GET", "/directory/attributeSets")
async def list_attribute_sets(call: Call) -> Response:
    return _collection(call, "directory/attributeSets", [])


@handles("GET", "/groups/{group-id}/settings")
async def list_settings_of_group(call: Call) -> Response:
    group = require(call.state.groups, call.param("group_id"))
    return _collection(call, f"groups('{group['id']}')/settings", [])


_ADMIN_MFA_TEMPLATE: Json = {
    "name": "Require multifactor authentication for admins",
    "description": "Require multifactor authentication for privileged administrative accounts to "
    "reduce risk of compromise. This policy will target the same roles as Security Default.",
    "id": "c7503427-338e-4c5e-902d-abe252abfb43",
    "scenarios": "secureFoundation,zeroTrust,protectAdmins",
    "details": {
        "sessionControls": None,
        "conditions": {
            "userRiskLevels": [],
            "signInRiskLevels": [],
            "clientAppTypes": ["all"],
            "servicePrincipalRiskLevels": [],
            "platforms": None,
            "locations": None,
            "devices": None,
            "clientApplications": None,
            "applications": {
                "includeApplications": ["All"],
                "excludeApplications": [],
                "includeUserActions": [],
                "includeAuthenticationContextClassReferences": [],
                "applicationFilter": None,
            },
            "users": {
                "includeUsers": [],
                "excludeUsers": ["Current administrator will be excluded"],
                "includeGroups": [],
                "excludeGroups": [],
                "includeRoles": [
                    "62e90394-69f5-4237-9190-012177145e10",
                    "194ae4cb-b126-40b2-bd5b-6091b380977d",
                ],
                "excludeRoles": [],
                "includeGuestsOrExternalUsers": None,
                "excludeGuestsOrExternalUsers": None,
            },
        },
        "grantControls": {
            "operator": "OR",
            "builtInControls": ["mfa"],
            "customAuthenticationFactors": [],
            "termsOfUse": [],
            "authenticationStrength": None,
        },
    },
}


@handles("GET", "/identity/conditionalAccess/templates")
async def list_ca_templates(call: Call) -> Response:
    return _collection(call, "identity/conditionalAccess/templates", [dict(_ADMIN_MFA_TEMPLATE)])
