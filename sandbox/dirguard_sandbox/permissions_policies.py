"""What the sandbox's policy operations require: conditional access, named locations, the
tenant's policy singletons, a user's manager and the ``$count`` paths. ``permissions_table``
imports this module and appends its rows and permissions, in their original order."""

from __future__ import annotations

from dirguard_sandbox.permissions_table import (
    _GROUP_READ,
    _USER_READ,
    _USER_WRITE,
    AppPermission,
    Endpoint,
)

# ---------------------------------------------------------------------------------------------
# Policies: conditional access, named locations and the tenant's policy singletons
# (routes_policies.py), plus manager and $count paths of users and groups (routes_manager.py).
# Least privileged first, as each operation's page in Microsoft's API reference lists them.
# ---------------------------------------------------------------------------------------------
_POLICY_PERMISSIONS = (
    AppPermission(
        value="Policy.Read.All",
        id="246dd0d5-5bd0-4def-940b-0421030a5b68",
        display_name="Read your organization's policies",
    ),
    AppPermission(
        value="Policy.Read.ConditionalAccess",
        id="37730810-e9ba-4e46-b07e-8ca78d182097",
        display_name="Read your organization's conditional access policies",
    ),
    AppPermission(
        value="Policy.ReadWrite.ConditionalAccess",
        id="01c0a623-fc9b-48e9-b794-0756f8e8f067",
        display_name="Read and write your organization's conditional access policies",
        implies=("Policy.Read.ConditionalAccess",),
    ),
    AppPermission(
        value="Policy.ReadWrite.Authorization",
        id="fb221be6-99f2-473f-bd32-01c6a0e9ca3b",
        display_name="Read and write your organization's authorization policy",
    ),
    AppPermission(
        value="Policy.ReadWrite.AuthenticationFlows",
        id="25f85f3c-f66c-4205-8cd5-de92dd7f0cec",
        display_name="Read and write authentication flow policies",
    ),
    AppPermission(
        value="Policy.ReadWrite.AuthenticationMethod",
        id="29c18626-4985-4dcd-85c0-193eef327366",
        display_name="Read and write all authentication method policies",
    ),
    AppPermission(
        value="Policy.ReadWrite.SecurityDefaults",
        id="1c6e93a6-28e2-4cbb-9f64-1a46a821124d",
        display_name="Read and write your organization's security defaults policy",
    ),
    AppPermission(
        value="Policy.ReadWrite.CrossTenantAccess",
        id="338163d7-f101-4c92-94ba-ca46fe52447c",
        display_name="Read and write your organization's cross tenant access policies",
    ),
)
POLICIES_PERMISSIONS: tuple[AppPermission, ...] = _POLICY_PERMISSIONS


def _policy_rows(template: str, write: str, *, item: bool = False) -> tuple[Endpoint, ...]:
    """GET (Policy.Read.All or the write permission) and the writes Graph allows on a policy."""
    read: tuple[str, ...] = ("Policy.Read.All", write)
    if template.startswith("/identity/conditionalAccess"):
        read = ("Policy.Read.ConditionalAccess", "Policy.Read.All", write)
    writes = ("PATCH", "DELETE") if item else ("PATCH",)
    return (
        Endpoint(method="GET", template=template, permissions=read),
        *(Endpoint(method=method, template=template, permissions=(write,)) for method in writes),
    )


_CA = "/identity/conditionalAccess"
_CA_WRITE = "Policy.ReadWrite.ConditionalAccess"
_AMP = "/policies/authenticationMethodsPolicy"
_XTAP = "/policies/crossTenantAccessPolicy"
POLICIES_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        method="GET",
        template=f"{_CA}/policies",
        permissions=("Policy.Read.ConditionalAccess", "Policy.Read.All", _CA_WRITE),
    ),
    Endpoint(method="POST", template=f"{_CA}/policies", permissions=(_CA_WRITE,)),
    *_policy_rows(f"{_CA}/policies/{{conditionalAccessPolicy-id}}", _CA_WRITE, item=True),
    Endpoint(
        method="GET",
        template=f"{_CA}/namedLocations",
        permissions=("Policy.Read.ConditionalAccess", "Policy.Read.All", _CA_WRITE),
    ),
    Endpoint(method="POST", template=f"{_CA}/namedLocations", permissions=(_CA_WRITE,)),
    *_policy_rows(f"{_CA}/namedLocations/{{namedLocation-id}}", _CA_WRITE, item=True),
    *_policy_rows("/policies/authorizationPolicy", "Policy.ReadWrite.Authorization"),
    *_policy_rows("/policies/authenticationFlowsPolicy", "Policy.ReadWrite.AuthenticationFlows"),
    *_policy_rows(_AMP, "Policy.ReadWrite.AuthenticationMethod"),
    Endpoint(
        method="GET",
        template=f"{_AMP}/authenticationMethodConfigurations",
        permissions=("Policy.Read.All", "Policy.ReadWrite.AuthenticationMethod"),
    ),
    *_policy_rows(
        f"{_AMP}/authenticationMethodConfigurations/{{authenticationMethodConfiguration-id}}",
        "Policy.ReadWrite.AuthenticationMethod",
    ),
    *_policy_rows(
        "/policies/identitySecurityDefaultsEnforcementPolicy", "Policy.ReadWrite.SecurityDefaults"
    ),
    *_policy_rows(_XTAP, "Policy.ReadWrite.CrossTenantAccess"),
    *_policy_rows(f"{_XTAP}/default", "Policy.ReadWrite.CrossTenantAccess"),
    Endpoint(
        method="GET",
        template=f"{_XTAP}/partners",
        permissions=("Policy.Read.All", "Policy.ReadWrite.CrossTenantAccess"),
    ),
    Endpoint(
        method="POST",
        template=f"{_XTAP}/partners",
        permissions=("Policy.ReadWrite.CrossTenantAccess",),
    ),
    *_policy_rows(
        f"{_XTAP}/partners/{{crossTenantAccessPolicyConfigurationPartner-tenantId}}",
        "Policy.ReadWrite.CrossTenantAccess",
        item=True,
    ),
    Endpoint(method="GET", template="/users/$count", permissions=_USER_READ),
    Endpoint(method="GET", template="/groups/$count", permissions=_GROUP_READ),
    Endpoint(method="GET", template="/users/{user-id}/manager", permissions=_USER_READ),
    Endpoint(method="PUT", template="/users/{user-id}/manager/$ref", permissions=_USER_WRITE),
    Endpoint(method="DELETE", template="/users/{user-id}/manager/$ref", permissions=_USER_WRITE),
    Endpoint(method="GET", template="/users/{user-id}/directReports", permissions=_USER_READ),
)
