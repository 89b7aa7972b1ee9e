"""Each built-in Entra change rule the sandbox tenant can be made to trigger, fired by the real
change over Graph and recorded by the real Entra capture (with the actor from the directory
audit): one change per rule, by a rogue application holding the Graph application permissions
it needs, after a baseline of the tenant set up by its administrator. ``threats scan`` raises
exactly the expected rule for each change, with its severity and the rogue app as actor —
and nothing else (no second alert for one change).

The rules not here: the ones the rogue's day and the demo fire
(``test_entra_incident.py``, ``test_entra_demo_incident.py``, ``test_entra_sandbox_threats.py``),
and the ones whose change the sandbox cannot make or dirguard does not capture (domains are
read-only in the sandbox; Security Defaults and directory synchronisation settings are not a
captured type), which ``test_entra_rules.py`` checks on events of the capture's shape."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dirguard.store.column_types import utcnow
from tests.entra.helpers import SECRET_ENV, TENANT, rogue_app, write_config
from tests.fixtures.graph_sandbox import RunningSandbox
from tests.rollback.accounts import cli_runner
from tests.sandbox.identity_helpers import graph_sp_id
from tests.threats.ad_config import alerts_of

CA = "identity/conditionalAccess"
ROLES = "roleManagement/directory"
XTAP = "policies/crossTenantAccessPolicy"
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
MAIL_READWRITE_APP = "e2a3a72e-5f79-4c64-b1b1-878b674786c9"
GUEST_SAME_AS_MEMBER = "a0b1b346-4d3e-4e8b-98f8-753987be4970"
GUEST_RESTRICTED = "2af84b1e-32c8-42b7-82bc-daa82404023b"
PARTNER_TENANT = "3d0f5dd2-9b1c-4a77-a1e6-6a5c8d3b2f10"
ROGUE_APP = "Rogue automation"
ROGUE_PERMISSIONS = (
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Policy.Read.All",
    "Policy.ReadWrite.AuthenticationMethod",
    "Policy.ReadWrite.Authorization",
    "Policy.ReadWrite.ConditionalAccess",
    "Policy.ReadWrite.CrossTenantAccess",
    "RoleManagement.ReadWrite.Directory",
    "User.Read.All",
)


def _ok(answer: httpx.Response) -> dict[str, Any]:
    assert answer.is_success, (answer.request.method, answer.request.url, answer.text)
    found: dict[str, Any] = answer.json() if answer.content else {}
    return found


def _policy(admin: httpx.Client, name: str) -> dict[str, Any]:
    return _ok(admin.post(f"/{CA}/policies", json={
        "displayName": name,
        "state": "enabled",
        "conditions": {
            "applications": {"includeApplications": ["All"]},
            "users": {"includeUsers": ["All"]},
        },
        "grantControls": {"operator": "OR", "builtInControls": ["mfa"]},
    }))  # fmt: skip


def _location(admin: httpx.Client, name: str, cidr: str) -> dict[str, Any]:
    return _ok(admin.post(f"/{CA}/namedLocations", json={
        "@odata.type": "#microsoft.graph.ipNamedLocation",
        "displayName": name,
        "isTrusted": False,
        "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": cidr}],
    }))  # fmt: skip


def _user(admin: httpx.Client, domain: str, nickname: str) -> dict[str, Any]:
    return _ok(admin.post("/users", json={
        "accountEnabled": True,
        "displayName": nickname,
        "mailNickname": nickname,
        "userPrincipalName": f"{nickname}@{domain}",
        "passwordProfile": {"password": f"Pa55-{nickname}-2026!"},
    }))  # fmt: skip


def test_each_entra_rule_fires_on_its_real_change_and_only_it(
    graph_sandbox: RunningSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    info = graph_sandbox.info
    monkeypatch.setenv(SECRET_ENV, info.full_client_secret)
    domain = info.admin_user_principal_name.split("@", 1)[1]
    with graph_sandbox.client() as admin:
        _ok(
            admin.patch(
                "/policies/identitySecurityDefaultsEnforcementPolicy", json={"isEnabled": False}
            )
        )
        report_only, excluded = _policy(admin, "MFA for everyone"), _policy(admin, "MFA for admins")
        trusted = _location(admin, "Branch office", "198.51.100.0/28")
        widened = _location(admin, "Head office", "192.0.2.0/28")
        eligible, assigned, bystander = (_user(admin, domain, n) for n in ("eli", "sam", "val"))
        tool = _ok(admin.post("/applications", json={"displayName": "Reporting tool"}))
        tool_sp = _ok(admin.post("/servicePrincipals", json={"appId": tool["appId"]}))
        graph = graph_sp_id(admin)
        _ok(admin.patch("/policies/authorizationPolicy", json={
            "allowInvitesFrom": "adminsAndGuestInviters",
            "guestUserRoleId": GUEST_RESTRICTED,
            "blockMsolPowerShell": True,
            "defaultUserRolePermissions": {
                "allowedToCreateApps": False,
                "permissionGrantPoliciesAssigned": [],
            },
        }))  # fmt: skip
    rogue = rogue_app(graph_sandbox, ROGUE_APP, ROGUE_PERMISSIONS)
    run = cli_runner(write_config(graph_sandbox, tmp_path), {SECRET_ENV: info.full_client_secret})
    run("snapshot", "entra", "--tenant", TENANT)
    since = (utcnow() - timedelta(seconds=1)).isoformat()

    with rogue:
        _ok(
            rogue.patch(
                f"/{CA}/policies/{report_only['id']}",
                json={"state": "enabledForReportingButNotEnforced"},
            )
        )
        _ok(
            rogue.patch(
                f"/{CA}/policies/{excluded['id']}",
                json={"conditions": {"users": {"excludeUsers": [bystander["id"]]}}},
            )
        )
        _ok(
            rogue.patch(
                f"/{CA}/namedLocations/{trusted['id']}",
                json={"@odata.type": "#microsoft.graph.ipNamedLocation", "isTrusted": True},
            )
        )
        _ok(rogue.patch(f"/{CA}/namedLocations/{widened['id']}", json={
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "ipRanges": [
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "192.0.2.0/28"},
                {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "0.0.0.0/1"},
            ],
        }))  # fmt: skip
        _ok(rogue.post(f"/{ROLES}/roleEligibilityScheduleRequests", json={
            "action": "adminAssign",
            "principalId": eligible["id"],
            "roleDefinitionId": GLOBAL_ADMINISTRATOR,
            "directoryScopeId": "/",
            "justification": "break glass",
            "scheduleInfo": {"expiration": {"type": "noExpiration"}},
        }))  # fmt: skip
        _ok(rogue.post(f"/{ROLES}/roleAssignments", json={
            "principalId": assigned["id"],
            "roleDefinitionId": SECURITY_ADMINISTRATOR,
            "directoryScopeId": "/",
        }))  # fmt: skip
        _ok(rogue.post(f"/servicePrincipals/{graph}/appRoleAssignedTo", json={
            "principalId": tool_sp["id"], "resourceId": graph, "appRoleId": MAIL_READWRITE_APP,
        }))  # fmt: skip
        _ok(rogue.post("/oauth2PermissionGrants", json={
            "clientId": tool_sp["id"],
            "consentType": "AllPrincipals",
            "resourceId": graph,
            "scope": "User.Read Mail.Send",
        }))  # fmt: skip
        _ok(rogue.patch("/policies/authorizationPolicy", json={
            "allowInvitesFrom": "everyone",
            "guestUserRoleId": GUEST_SAME_AS_MEMBER,
            "blockMsolPowerShell": False,
            "defaultUserRolePermissions": {
                "allowedToCreateApps": True,
                "permissionGrantPoliciesAssigned": [
                    "ManagePermissionGrantsForSelf.microsoft-user-default-legacy"
                ],
            },
        }))  # fmt: skip
        _ok(
            rogue.patch(
                "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Sms",
                json={"@odata.type": "#microsoft.graph.smsAuthenticationMethodConfiguration",
                      "state": "enabled"},
            )
        )  # fmt: skip
        _ok(  # tightening: no alert
            rogue.patch(
                "/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/Email",
                json={"@odata.type": "#microsoft.graph.emailAuthenticationMethodConfiguration",
                      "state": "disabled"},
            )
        )  # fmt: skip
        _ok(rogue.patch("/policies/authenticationMethodsPolicy", json={"registrationEnforcement": {
            "authenticationMethodsRegistrationCampaign": {
                "snoozeDurationInDays": 14, "state": "disabled", "excludeTargets": [],
                "includeTargets": [{"id": "all_users", "targetType": "group",
                                    "targetedAuthenticationMethod": "microsoftAuthenticator"}],
            }
        }}))  # fmt: skip
        _ok(rogue.post(f"/{XTAP}/partners", json={"tenantId": PARTNER_TENANT}))
        _ok(
            rogue.patch(
                f"/{XTAP}/default",
                json={"inboundTrust": {"isMfaAccepted": True, "isCompliantDeviceAccepted": True}},
            )
        )
    run("capture", "entra", "--tenant", TENANT)
    report = run("threats", "scan", "--since", since)

    alerts = alerts_of(run)
    by_rule = {a["rule"]: a for a in alerts}
    assert len(alerts) == len(by_rule), [a["summary"] for a in alerts]
    assert {r: a["severity"] for r, a in by_rule.items()} == {
        "ENTRA-CA-REPORT-ONLY": "high",
        "ENTRA-CA-EXCLUSION-ADDED": "medium",
        "ENTRA-NAMED-LOCATION-TRUSTED": "high",
        "ENTRA-NAMED-LOCATION-WIDENED": "medium",
        "ENTRA-GLOBAL-ADMIN-ASSIGNED": "critical",  # eligible (PIM), not active
        "ENTRA-PRIV-ROLE-ASSIGNED": "high",
        "ENTRA-HIGH-PRIV-APP-PERMISSION": "critical",
        "ENTRA-ADMIN-CONSENT-HIGH-RISK": "high",
        "ENTRA-GUEST-INVITES-OPENED": "medium",
        "ENTRA-GUEST-ACCESS-RAISED": "high",
        "ENTRA-MSOL-UNBLOCKED": "medium",
        "ENTRA-TENANT-CREATION-OPENED": "medium",
        "ENTRA-USER-CONSENT-ALLOWED": "high",
        "ENTRA-AUTH-METHODS-WEAKENED": "high",  # SMS on (turning email off: nothing)
        "ENTRA-AUTH-REGISTRATION-CAMPAIGN-OFF": "medium",
        "ENTRA-CROSS-TENANT-PARTNER-ADDED": "high",
        "ENTRA-CROSS-TENANT-CHANGED": "medium",
    }, [a["summary"] for a in alerts]
    assert sorted(report["new_alerts"]) == sorted(a["id"] for a in alerts)
    # the capture names the rogue app for every change but these, whose directory audit record
    # it does not match to the change yet (the alert then says "an unknown actor")
    unattributed = {
        "ENTRA-HIGH-PRIV-APP-PERMISSION",  # app role assignment created
        "ENTRA-ADMIN-CONSENT-HIGH-RISK",  # oauth2PermissionGrant created
        "ENTRA-TENANT-CREATION-OPENED",  # defaultUserRolePermissions (a complex value)
        "ENTRA-USER-CONSENT-ALLOWED",  # the same
        "ENTRA-AUTH-METHODS-WEAKENED",  # a method configuration (a child of the policy)
        "ENTRA-AUTH-REGISTRATION-CAMPAIGN-OFF",  # registrationEnforcement (a complex value)
        "ENTRA-CROSS-TENANT-CHANGED",  # the cross-tenant default settings
    }
    for rule, alert in by_rule.items():
        assert alert["actor"] in ({ROGUE_APP, None} if rule in unattributed else {ROGUE_APP})
        assert alert["count"] == 1, alert
    assert by_rule["ENTRA-CA-REPORT-ONLY"]["target"] == "MFA for everyone"
    assert by_rule["ENTRA-NAMED-LOCATION-TRUSTED"]["target"] == "Branch office"
    assert by_rule["ENTRA-NAMED-LOCATION-WIDENED"]["target"] == "Head office"

    # the state the rogue left is an exposure too: the checks over the stored current state
    exposed = run("threats", "scan", "--exposure-only")
    posture = {a["rule"]: a for a in alerts_of(run) if a["id"] in exposed["new_alerts"]}
    assert sorted(posture) == [
        "ENTRA-EXP-CA-NOT-ENFORCED",  # the report-only policy
        "ENTRA-EXP-GUEST-INVITES-EVERYONE",
        "ENTRA-EXP-USER-CONSENT",
        "ENTRA-EXP-USERS-CREATE-APPS",
    ], [a["summary"] for a in posture.values()]
    assert posture["ENTRA-EXP-CA-NOT-ENFORCED"]["target"] == "MFA for everyone"
