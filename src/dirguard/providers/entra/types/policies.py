"""Policy rows: conditional access policies and named locations, terms of use agreements (read for
the policies that require them), the authorization, authentication flows and authentication
methods policies (with each method's configuration), and the cross-tenant access policy (its
default settings and each partner's).

Sources: Microsoft's ``conditionalAccessPolicy`` / ``namedLocation`` pages (a named location is
created and updated with its ``@odata.type``, ``#microsoft.graph.ipNamedLocation`` or
``countryNamedLocation``; conditional access and named locations answer one request per second
per tenant), ``authenticationMethodConfiguration: Update`` (the body names the derived type),
``authorizationPolicy`` / ``authenticationFlowsPolicy`` / ``authenticationMethodsPolicy`` /
``crossTenantAccessPolicyConfigurationDefault`` (one per tenant: GET and PATCH only),
``crossTenantAccessPolicyConfigurationPartner`` (identified by ``tenantId``) and ``agreement``.
None of these has a delta function.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dirguard.catalog.graph_rules import GraphCreate, GraphWrites, Reference
from dirguard.catalog.resource_type import GraphSource, ResourceType
from dirguard.providers.entra.audit_records import policy_name
from dirguard.providers.entra.types.rows import (
    CA_ROLLBACK,
    cloud_restore,
    graph,
    method_configuration_type,
    named_location_type,
    singleton_restore,
)

CA_READ = ("guardian.conditional-access.monitor",)
AUTHORIZATION = "guardian.entra.authorization-policy"
FLOWS = "guardian.entra.authentication-flows"
METHODS = "guardian.entra.authentication-methods"

_CA = "identity/conditionalAccess"
_USERS = "conditions.users"


def _logged_by_id(content: Mapping[str, Any]) -> tuple[str, ...]:
    """What the directory audit calls an authentication method configuration: a ``Policy``
    target with the configuration's id (``Fido2``), which is no GUID (``audit_records.target_id``);
    the store knows it by its path under the policy."""
    held = content.get("id")
    value = held[0] if isinstance(held, list) and held else held
    return (policy_name(str(value)),) if isinstance(value, str) and value else ()


def _ids(path: str, targets: tuple[str, ...], *keeps: str, by: str = "id") -> Reference:
    return Reference(path=path, targets=targets, keeps=frozenset(keeps), by=by)


CA_REFERENCES = (
    *(
        _ids(f"{_USERS}.{side}Users[]", ("entra.user",), "All", "None", "GuestsOrExternalUsers")
        for side in ("include", "exclude")
    ),
    *(_ids(f"{_USERS}.{side}Groups[]", ("entra.group",)) for side in ("include", "exclude")),
    *(
        _ids(
            f"conditions.applications.{side}Applications[]",
            ("entra.application",),
            "All",
            "None",
            "Office365",
            "MicrosoftAdminPortals",
            by="appId",
        )
        for side in ("include", "exclude")
    ),
    *(
        _ids(
            f"conditions.clientApplications.{side}ServicePrincipals[]",
            ("entra.service_principal",),
            "ServicePrincipalsInMyTenant",
        )
        for side in ("include", "exclude")
    ),
    *(
        _ids(
            f"conditions.locations.{side}Locations[]",
            ("entra.named_location",),
            "All",
            "AllTrusted",
            "00000000-0000-0000-0000-000000000000",
        )
        for side in ("include", "exclude")
    ),
    _ids("grantControls.termsOfUse[]", ("entra.terms_of_use_agreement",)),
)
"""Ids a policy holds of other objects (role ids in ``includeRoles`` are role template ids, the
same in every tenant; the all-zero location is the legacy MFA trusted IPs)."""

CONDITIONAL_ACCESS_POLICY = graph(
    key="entra.conditional_access_policy",
    title="Conditional Access policy",
    source=GraphSource(
        collection=f"{_CA}/policies",
        entity="conditionalAccessPolicy",
        select=(
            "id",
            "displayName",
            "state",
            "conditions",
            "grantControls",
            "sessionControls",
            "templateId",
            "createdDateTime",
            "modifiedDateTime",
        ),
    ),
    writes=GraphWrites(
        create=GraphCreate(path=f"{_CA}/policies", requires=("displayName", "state", "conditions")),
        references=CA_REFERENCES,
    ),
    natural_key="displayName",
    read_features=CA_READ,
    write_features=(CA_ROLLBACK,),
    restore=cloud_restore(CA_ROLLBACK),
    read_only_fields=frozenset({"id", "createdDateTime", "templateId"}),
    volatile_fields=frozenset({"modifiedDateTime"}),
)

NAMED_LOCATION = graph(
    key="entra.named_location",
    title="Conditional Access named location",
    source=GraphSource(
        collection=f"{_CA}/namedLocations",
        entity="namedLocation",
        collections=frozenset({"countriesAndRegions", "ipRanges"}),
    ),
    writes=GraphWrites(
        odata_type=True,
        odata_type_of=named_location_type,
        create=GraphCreate(path=f"{_CA}/namedLocations", requires=("@odata.type", "displayName")),
    ),
    natural_key="displayName",
    read_features=CA_READ,
    write_features=(CA_ROLLBACK,),
    restore=cloud_restore(CA_ROLLBACK),
    read_only_fields=frozenset({"id", "createdDateTime"}),
    volatile_fields=frozenset({"modifiedDateTime"}),
    unordered_fields=frozenset({"ipRanges", "countriesAndRegions"}),
)

TERMS_OF_USE_AGREEMENT = graph(
    key="entra.terms_of_use_agreement",
    title="Terms of use agreement",
    source=GraphSource(
        collection="identityGovernance/termsOfUse/agreements",
        entity="agreement",
        app_only=False,
        select=(
            "id",
            "displayName",
            "isViewingBeforeAcceptanceRequired",
            "isPerDeviceAcceptanceRequired",
            "userReacceptRequiredFrequency",
            "termsExpiration",
        ),
    ),
    writes=GraphWrites(patch=False, delete=False),
    natural_key="displayName",
    read_features=CA_READ,
    write_features=(CA_ROLLBACK,),
    restore=cloud_restore(
        CA_ROLLBACK,
        recreate=False,
        delete=False,
        refusal="is read for the conditional access policies that require it, never written: "
        "its terms file is not kept (and Graph answers agreements to a signed-in user only, "
        "never to an application token)",
    ),
    read_only_fields=frozenset({"id"}),
)

AUTHORIZATION_POLICY = graph(
    key="entra.authorization_policy",
    title="Entra authorization policy",
    source=GraphSource(
        collection="policies/authorizationPolicy",
        entity="authorizationPolicy",
        singleton=True,
        item="{collection}",
        select=(
            "id",
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
        ),
    ),
    writes=GraphWrites(delete=False),
    natural_key="displayName",
    read_features=(f"{AUTHORIZATION}.monitor",),
    write_features=(f"{AUTHORIZATION}.rollback",),
    restore=singleton_restore(f"{AUTHORIZATION}.rollback"),
    read_only_fields=frozenset({"id", "displayName", "description", "deletedDateTime"}),
)

AUTHENTICATION_FLOWS_POLICY = graph(
    key="entra.authentication_flows_policy",
    title="Entra authentication flows policy",
    source=GraphSource(
        collection="policies/authenticationFlowsPolicy",
        entity="authenticationFlowsPolicy",
        singleton=True,
        item="{collection}",
        select=("id", "displayName", "description", "selfServiceSignUp"),
    ),
    writes=GraphWrites(delete=False),
    natural_key="displayName",
    read_features=(f"{FLOWS}.monitor",),
    write_features=(f"{FLOWS}.rollback",),
    restore=singleton_restore(f"{FLOWS}.rollback"),
    read_only_fields=frozenset({"id", "displayName", "description"}),
)

AUTHENTICATION_METHODS_POLICY = graph(
    key="entra.authentication_methods_policy",
    title="Entra authentication methods policy",
    source=GraphSource(
        collection="policies/authenticationMethodsPolicy",
        entity="authenticationMethodsPolicy",
        singleton=True,
        item="{collection}",
        select=(
            "id",
            "displayName",
            "description",
            "policyVersion",
            "policyMigrationState",
            "reconfirmationInDays",
            "registrationEnforcement",
            "lastModifiedDateTime",
        ),
    ),
    writes=GraphWrites(delete=False),
    natural_key="displayName",
    read_features=(f"{METHODS}.monitor",),
    write_features=(f"{METHODS}.rollback",),
    restore=singleton_restore(f"{METHODS}.rollback"),
    read_only_fields=frozenset({"id", "displayName", "description", "policyVersion"}),
    volatile_fields=frozenset({"lastModifiedDateTime"}),
)

AUTHENTICATION_METHOD_CONFIGURATION = graph(
    key="entra.authentication_method_configuration",
    title="Entra authentication method configuration",
    source=GraphSource(
        collection="policies/authenticationMethodsPolicy/authenticationMethodConfigurations",
        entity="authenticationMethodConfiguration",
        collections=frozenset({"excludeTargets", "includeTargets"}),
    ),
    writes=GraphWrites(odata_type=True, odata_type_of=method_configuration_type, delete=False),
    natural_key="id",
    audit_names=_logged_by_id,
    read_features=(f"{METHODS}.monitor",),
    write_features=(f"{METHODS}.rollback",),
    restore=cloud_restore(
        f"{METHODS}.rollback",
        recreate=False,
        delete=False,
        refusal="is one per method, kept by the service (a method is disabled, never deleted): "
        "its settings are written back",
    ),
    read_only_fields=frozenset({"id"}),
    unordered_fields=frozenset({"excludeTargets", "includeTargets"}),
)

_XTAP = "policies/crossTenantAccessPolicy"
_XTAP_SETTINGS = (
    "b2bCollaborationInbound",
    "b2bCollaborationOutbound",
    "b2bDirectConnectInbound",
    "b2bDirectConnectOutbound",
    "inboundTrust",
    "automaticUserConsentSettings",
    "tenantRestrictions",
)

CROSS_TENANT_ACCESS_POLICY = graph(
    key="entra.cross_tenant_access_policy",
    title="Cross-tenant access policy",
    source=GraphSource(
        collection=_XTAP,
        entity="crossTenantAccessPolicy",
        collections=frozenset({"allowedCloudEndpoints"}),
        singleton=True,
        item="{collection}",
        select=("id", "displayName", "description", "allowedCloudEndpoints"),
    ),
    writes=GraphWrites(delete=False),
    natural_key="displayName",
    read_features=CA_READ,
    write_features=(CA_ROLLBACK,),
    restore=singleton_restore(CA_ROLLBACK),
    read_only_fields=frozenset({"id", "displayName", "description"}),
    unordered_fields=frozenset({"allowedCloudEndpoints"}),
)

CROSS_TENANT_ACCESS_DEFAULT = graph(
    key="entra.cross_tenant_access_default",
    title="Cross-tenant access default settings",
    source=GraphSource(
        collection=f"{_XTAP}/default",
        entity="crossTenantAccessPolicyConfigurationDefault",
        singleton=True,
        item="{collection}",
        # Microsoft's page answers the default without an id (identified by its path).
        select=("isServiceDefault", *_XTAP_SETTINGS),
    ),
    writes=GraphWrites(delete=False),
    natural_key="id",
    read_features=CA_READ,
    write_features=(CA_ROLLBACK,),
    restore=singleton_restore(CA_ROLLBACK),
    read_only_fields=frozenset({"id", "isServiceDefault"}),
)

CROSS_TENANT_ACCESS_PARTNER = graph(
    key="entra.cross_tenant_access_partner",
    title="Cross-tenant access partner settings",
    identity="tenantId",
    source=GraphSource(
        collection=f"{_XTAP}/partners",
        entity="crossTenantAccessPolicyConfigurationPartner",
        select=("tenantId", "isServiceProvider", "isInMultiTenantOrganization", *_XTAP_SETTINGS),
    ),
    writes=GraphWrites(create=GraphCreate(path=f"{_XTAP}/partners", requires=("tenantId",))),
    natural_key="tenantId",
    read_features=CA_READ,
    write_features=(CA_ROLLBACK,),
    restore=cloud_restore(CA_ROLLBACK),
    read_only_fields=frozenset({"tenantId", "isInMultiTenantOrganization"}),
)

POLICY_TYPES: tuple[ResourceType, ...] = (
    CONDITIONAL_ACCESS_POLICY,
    NAMED_LOCATION,
    TERMS_OF_USE_AGREEMENT,
    AUTHORIZATION_POLICY,
    AUTHENTICATION_FLOWS_POLICY,
    AUTHENTICATION_METHODS_POLICY,
    AUTHENTICATION_METHOD_CONFIGURATION,
    CROSS_TENANT_ACCESS_POLICY,
    CROSS_TENANT_ACCESS_DEFAULT,
    CROSS_TENANT_ACCESS_PARTNER,
)
