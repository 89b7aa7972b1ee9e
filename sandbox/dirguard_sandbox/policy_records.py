"""The tenant's policies as Graph returns them, with the defaults of a fresh tenant.

A new Entra tenant has security defaults switched on, no conditional access policy and no named
location, users allowed to register apps and read other users, guests invited by anyone, the
default authentication methods (Microsoft Authenticator, FIDO2, SMS, temporary access pass,
email) and a cross-tenant access default that allows B2B collaboration with every tenant.
Defaults are filled in the first time a policy is read, so state files saved before policies
existed load unchanged.
"""

from __future__ import annotations

from typing import Any

from dirguard_sandbox.directory_state import DirectoryState, Json, graph_time
from dirguard_sandbox.errors import bad_request
from dirguard_sandbox.value_formats import (
    CLIENT_APPS,
    COUNTRY_LOOKUP_METHODS,
    GRANT_CONTROLS,
    RISK_LEVELS,
    cidr_range,
    country_codes,
    enum_value,
    enum_values,
)

SECURITY_DEFAULTS_ID = "00000000-0000-0000-0000-000000000005"
CONDITIONAL_ACCESS = "conditionalAccessPolicies"
NAMED_LOCATIONS = "namedLocations"
METHOD_CONFIGURATIONS = "authenticationMethodConfigurations"
PARTNERS = "crossTenantAccessPolicyPartners"
CA_STATES = ("enabled", "disabled", "enabledForReportingButNotEnforced")
NAMED_LOCATION_TYPES = ("#microsoft.graph.ipNamedLocation", "#microsoft.graph.countryNamedLocation")


def _all_users() -> Json:
    return {"targetType": "group", "id": "all_users", "isRegistrationRequired": False}


def _b2b(access: str) -> Json:
    return {
        "usersAndGroups": {
            "accessType": access,
            "targets": [{"target": "AllUsers", "targetType": "user"}],
        },
        "applications": {
            "accessType": access,
            "targets": [{"target": "AllApplications", "targetType": "application"}],
        },
    }


def _method(type_name: str, method_id: str, state: str, **extra: Any) -> Json:
    return {
        "@odata.type": f"#microsoft.graph.{type_name}",
        "id": method_id,
        "state": state,
        "excludeTargets": [],
        **extra,
    }


def default_policies(created: str) -> Json:
    return {
        CONDITIONAL_ACCESS: {},
        NAMED_LOCATIONS: {},
        "authorizationPolicy": {
            "id": "authorizationPolicy",
            "deletedDateTime": None,
            "displayName": "Authorization Policy",
            "description": "Used to manage authorization related settings across the company.",
            "allowInvitesFrom": "everyone",
            "allowedToSignUpEmailBasedSubscriptions": True,
            "allowedToUseSSPR": True,
            "allowEmailVerifiedUsersToJoinOrganization": False,
            "allowUserConsentForRiskyApps": None,
            "blockMsolPowerShell": False,
            "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
            "defaultUserRolePermissions": {
                "allowedToCreateApps": True,
                "allowedToCreateSecurityGroups": True,
                "allowedToCreateTenants": True,
                "allowedToReadBitlockerKeysForOwnedDevice": True,
                "allowedToReadOtherUsers": True,
                "permissionGrantPoliciesAssigned": [
                    "ManagePermissionGrantsForSelf.microsoft-user-default-legacy"
                ],
            },
        },
        "authenticationFlowsPolicy": {
            "id": "authenticationFlowsPolicy",
            "displayName": "Authentication flows policy",
            "description": "Authentication flows policy allows modification of settings related "
            "to authentication flows in AAD tenant, such as self-service sign up configuration.",
            "selfServiceSignUp": {"isEnabled": True},
        },
        "authenticationMethodsPolicy": {
            "id": "authenticationMethodsPolicy",
            "displayName": "Authentication Methods Policy",
            "description": "The tenant-wide policy that controls which authentication methods "
            "are allowed in the tenant, authentication method registration requirements, and "
            "self-service password reset settings",
            "lastModifiedDateTime": created,
            "policyVersion": "1.5",
            "policyMigrationState": "preMigration",
            "reconfirmationInDays": 0,
            "registrationEnforcement": {
                "authenticationMethodsRegistrationCampaign": {
                    "snoozeDurationInDays": 1,
                    "state": "default",
                    "excludeTargets": [],
                    "includeTargets": [
                        {
                            "id": "all_users",
                            "targetType": "group",
                            "targetedAuthenticationMethod": "microsoftAuthenticator",
                        }
                    ],
                }
            },
        },
        METHOD_CONFIGURATIONS: {
            item["id"]: item
            for item in (
                _method(
                    "microsoftAuthenticatorAuthenticationMethodConfiguration",
                    "MicrosoftAuthenticator",
                    "enabled",
                    isSoftwareOathEnabled=False,
                    includeTargets=[{**_all_users(), "authenticationMode": "any"}],
                ),
                _method(
                    "fido2AuthenticationMethodConfiguration",
                    "Fido2",
                    "disabled",
                    isAttestationEnforced=True,
                    isSelfServiceRegistrationAllowed=True,
                    keyRestrictions={
                        "isEnforced": False,
                        "enforcementType": "block",
                        "aaGuids": [],
                    },
                    includeTargets=[_all_users()],
                ),
                _method(
                    "smsAuthenticationMethodConfiguration",
                    "Sms",
                    "disabled",
                    includeTargets=[{**_all_users(), "isUsableForSignIn": True}],
                ),
                _method(
                    "temporaryAccessPassAuthenticationMethodConfiguration",
                    "TemporaryAccessPass",
                    "disabled",
                    defaultLifetimeInMinutes=60,
                    defaultLength=8,
                    minimumLifetimeInMinutes=60,
                    maximumLifetimeInMinutes=480,
                    isUsableOnce=False,
                    includeTargets=[_all_users()],
                ),
                _method(
                    "emailAuthenticationMethodConfiguration",
                    "Email",
                    "enabled",
                    allowExternalIdToUseEmailOtp="default",
                    includeTargets=[],
                ),
            )
        },
        "identitySecurityDefaultsEnforcementPolicy": {
            "id": SECURITY_DEFAULTS_ID,
            "displayName": "Security Defaults",
            "description": "Security defaults is a set of basic identity security mechanisms "
            "recommended by Microsoft. When enabled, these recommendations will be "
            "automatically enforced in your organization.",
            "isEnabled": True,
        },
        "crossTenantAccessPolicy": {
            "id": "crossTenantAccessPolicy",
            "deletedDateTime": None,
            "displayName": "CrossTenantAccessPolicy",
            "description": None,
            "allowedCloudEndpoints": [],
        },
        "crossTenantAccessPolicyDefault": {
            "isServiceDefault": True,
            "inboundTrust": {
                "isMfaAccepted": False,
                "isCompliantDeviceAccepted": False,
                "isHybridAzureADJoinedDeviceAccepted": False,
            },
            "b2bCollaborationOutbound": _b2b("allowed"),
            "b2bCollaborationInbound": _b2b("allowed"),
            "b2bDirectConnectOutbound": _b2b("blocked"),
            "b2bDirectConnectInbound": _b2b("blocked"),
            "automaticUserConsentSettings": {"inboundAllowed": False, "outboundAllowed": False},
            "tenantRestrictions": _tenant_restrictions(),
        },
        PARTNERS: {},
    }


def _tenant_restrictions() -> Json:
    """The service default's tenant restrictions: every user and application blocked ("Tenant
    restrictions v2", https://learn.microsoft.com/entra/external-id/tenant-restrictions-v2;
    ``crossTenantAccessPolicyTenantRestrictions``, ``devices`` unset)."""
    return {
        "devices": None,
        "usersAndGroups": {
            "accessType": "blocked",
            "targets": [{"target": "AllUsers", "targetType": "user"}],
        },
        "applications": {
            "accessType": "blocked",
            "targets": [{"target": "AllApplications", "targetType": "application"}],
        },
    }


def policies_of(state: DirectoryState) -> Json:
    """The tenant's policies, defaults filled in on first use."""
    if not state.policies:
        state.policies.update(default_policies(graph_time(state.now())))
    return state.policies


def new_partner(tenant_id: str) -> Json:
    return {
        "tenantId": tenant_id,
        "isServiceProvider": None,
        "isInMultiTenantOrganization": False,
        "inboundTrust": None,
        "b2bCollaborationOutbound": None,
        "b2bCollaborationInbound": None,
        "b2bDirectConnectOutbound": None,
        "b2bDirectConnectInbound": None,
        "automaticUserConsentSettings": {"inboundAllowed": None, "outboundAllowed": None},
    }


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise bad_request(f"'{where}' must be an array of strings.")
    return list(value)


def conditional_access_record(body: Json, *, policy_id: str, now: str) -> Json:
    """A conditionalAccessPolicy from a create body; a 400 naming what is missing or wrong."""
    for name in ("displayName", "state", "conditions"):
        if body.get(name) in (None, ""):
            raise bad_request(
                f"A value is required for property '{name}' of resource 'ConditionalAccessPolicy'."
            )
    if body["state"] not in CA_STATES:
        raise bad_request(
            f"Invalid value '{body['state']}' for 'state': use one of {', '.join(CA_STATES)}."
        )
    conditions = body["conditions"]
    if not isinstance(conditions, dict) or not isinstance(conditions.get("users"), dict):
        raise bad_request("'conditions.users' is required: say which users the policy covers.")
    if not isinstance(conditions.get("applications"), dict):
        raise bad_request("'conditions.applications' is required: say which apps it covers.")
    users = {
        name: _strings(conditions["users"].get(name, []), f"conditions.users.{name}")
        for name in (
            "includeUsers",
            "excludeUsers",
            "includeGroups",
            "excludeGroups",
            "includeRoles",
            "excludeRoles",
        )
    }
    applications = {
        name: _strings(conditions["applications"].get(name, []), f"conditions.applications.{name}")
        for name in (
            "includeApplications",
            "excludeApplications",
            "includeUserActions",
            "includeAuthenticationContextClassReferences",
        )
    }
    locations = conditions.get("locations")
    record: Json = {
        "id": policy_id,
        "templateId": None,
        "displayName": body["displayName"],
        "description": body.get("description"),
        "createdDateTime": now,
        "modifiedDateTime": None,
        "state": body["state"],
        "conditions": {
            "userRiskLevels": enum_values(
                conditions.get("userRiskLevels", []), RISK_LEVELS, "userRiskLevels", "riskLevel"
            ),
            "signInRiskLevels": enum_values(
                conditions.get("signInRiskLevels", []), RISK_LEVELS, "signInRiskLevels", "riskLevel"
            ),
            "servicePrincipalRiskLevels": [],
            "clientAppTypes": enum_values(
                conditions.get("clientAppTypes", ["all"]),
                CLIENT_APPS,
                "clientAppTypes",
                "conditionalAccessClientApp",
            ),
            "platforms": conditions.get("platforms"),
            "locations": None
            if locations is None
            else {
                "includeLocations": _strings(locations.get("includeLocations", []), "locations"),
                "excludeLocations": _strings(locations.get("excludeLocations", []), "locations"),
            },
            "applications": {**applications, "applicationFilter": None},
            "users": {
                **users,
                "includeGuestsOrExternalUsers": None,
                "excludeGuestsOrExternalUsers": None,
            },
        },
        "grantControls": body.get("grantControls"),
        "sessionControls": body.get("sessionControls"),
    }
    grant = record["grantControls"]
    if grant is not None:
        record["grantControls"] = {
            "operator": enum_value(
                grant.get("operator", "OR"), ("AND", "OR"), "grantControls.operator", "operator"
            ),
            "builtInControls": enum_values(
                grant.get("builtInControls", []),
                GRANT_CONTROLS,
                "grantControls.builtInControls",
                "conditionalAccessGrantControl",
            ),
            "customAuthenticationFactors": [],
            "termsOfUse": _strings(grant.get("termsOfUse", []), "termsOfUse"),
        }
    return record


def named_location_record(body: Json, *, location_id: str, now: str) -> Json:
    kind = body.get("@odata.type")
    if kind not in NAMED_LOCATION_TYPES:
        raise bad_request(
            "'@odata.type' must be #microsoft.graph.ipNamedLocation or "
            "#microsoft.graph.countryNamedLocation."
        )
    if not isinstance(body.get("displayName"), str) or not body["displayName"]:
        raise bad_request(
            "A value is required for property 'displayName' of resource 'NamedLocation'."
        )
    record: Json = {
        "@odata.type": kind,
        "id": location_id,
        "displayName": body["displayName"],
        "createdDateTime": now,
        "modifiedDateTime": now,
    }
    if kind == "#microsoft.graph.ipNamedLocation":
        ranges = body.get("ipRanges")
        if not isinstance(ranges, list) or not ranges:
            raise bad_request("An ipNamedLocation needs at least one entry in 'ipRanges'.")
        record["isTrusted"] = bool(body.get("isTrusted", False))
        record["ipRanges"] = [cidr_range(item, "ipRanges") for item in ranges]
    else:
        record["countriesAndRegions"] = country_codes(
            body.get("countriesAndRegions"), "countriesAndRegions"
        )
        record["includeUnknownCountriesAndRegions"] = bool(
            body.get("includeUnknownCountriesAndRegions", False)
        )
        record["countryLookupMethod"] = enum_value(
            body.get("countryLookupMethod", "clientIpAddress"),
            COUNTRY_LOOKUP_METHODS,
            "countryLookupMethod",
            "countryLookupMethodType",
        )
    return record
