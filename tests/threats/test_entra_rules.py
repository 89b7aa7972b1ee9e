"""The Entra rules added for the rogue admin's day (bulk disable and delete, named location
deleted, privileged roles and role-group members removed, an owner added to a privileged app,
a first credential), ``superseded_by`` (one change, one alert) and the site's threshold
settings, on events of the shape the Entra capture stores (pure; the same rules on changes the
real capture recorded from the sandbox are in ``test_entra_incident.py``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from dirguard.config.threats_schema import RuleSettings, ThreatsConfig
from dirguard.core.threats.evaluate import match_events
from dirguard.core.threats.incidents import Action, decide
from dirguard.core.threats.model import EventFacts
from dirguard.core.threats.rule_files import RuleFileError, parse_rules
from dirguard.services.errors import ServiceError
from dirguard.services.threats.definitions import builtin_rules, combine
from tests.threats.test_evaluate import NOW, RULES, Ctx, _event, _hits

GA = "62e90394-69f5-4237-9190-012177145e10"
USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
DIRECTORY_RW_ALL = "19dbc75e-c2e2-444c-a770-ec69d8559fc7"
USER_READ_ALL = "df021288-bdef-4463-88db-98f22de89214"


def _entra(**values: Any) -> EventFacts:
    base: dict[str, Any] = {
        "source": "entra:contoso",
        "object_path": None,
        "actor": "rogue.admin@contoso.example",
        "actor_source": "directoryAudits",
    }
    return _event(**(base | values))


def _app(*permissions: str, credentials: int = 0) -> dict[str, Any]:
    return {
        "displayName": ["Payroll export"],
        "requiredResourceAccess": [
            {
                "resourceAppId": "00000003-0000-0000-c000-000000000000",
                "resourceAccess": [{"id": p, "type": "Role"} for p in permissions],
            }
        ],
        "passwordCredentials": [{"keyId": f"k{n}"} for n in range(credentials)],
    }


def _rules_hit(event: EventFacts, ctx: Ctx) -> set[str]:
    return {h.rule.id for h in match_events(RULES.values(), [event], ctx, NOW)}


def test_disabling_and_deleting_users_count_towards_their_bulk_rules_only() -> None:
    disabled = _entra(
        resource_type="entra.user",
        object_name="day001@contoso.example",
        op="modify",
        attribute="accountEnabled",
        old_value=True,
        new_value=False,
    )
    assert _hits("ENTRA-MASS-DISABLE", disabled)
    assert not _hits("ENTRA-MASS-DISABLE", replace(disabled, old_value=False, new_value=True))
    deleted = _entra(resource_type="entra.user", op="delete", attribute="id", old_value="users/u1")
    assert _hits("ENTRA-MASS-DELETE", deleted)
    assert _hits("ENTRA-MASS-DELETE", replace(deleted, resource_type="entra.group"))
    assert not _hits("ENTRA-MASS-DELETE", replace(deleted, resource_type="entra.application"))
    # by default four disables and two deletions by one actor within 10 minutes stay quiet
    mass_disable, mass_delete = RULES["ENTRA-MASS-DISABLE"], RULES["ENTRA-MASS-DELETE"]
    minutes = [NOW - timedelta(minutes=m) for m in (8, 6, 4, 2)]
    assert decide(mass_disable, NOW, minutes[1:], None, NOW).action is Action.PENDING
    assert decide(mass_disable, NOW, minutes, None, NOW).action is Action.NEW
    assert decide(mass_delete, NOW, minutes[3:], None, NOW).action is Action.PENDING
    assert decide(mass_delete, NOW, minutes[2:], None, NOW).action is Action.NEW
    late = [NOW - timedelta(minutes=m) for m in (30, 2)]  # one outside the window
    assert decide(mass_delete, NOW, late, None, NOW).action is Action.PENDING


def test_the_site_sets_a_bulk_rules_threshold() -> None:
    config = ThreatsConfig(
        rules={"ENTRA-MASS-DELETE": RuleSettings(threshold_count=10, threshold_window=300)}
    )
    rule = next(r for r in combine(builtin_rules(), [], config) if r.id == "ENTRA-MASS-DELETE")
    assert (rule.threshold.count, rule.threshold.window) == (10, timedelta(minutes=5))
    nine = [NOW - timedelta(seconds=20 * n) for n in range(1, 9)]
    assert decide(rule, NOW, nine, None, NOW).action is Action.PENDING
    assert decide(rule, NOW, [*nine, NOW], None, NOW).action is Action.NEW
    with pytest.raises(ValueError, match="threshold_count"):
        RuleSettings(threshold_count=0)


def test_named_location_deleted() -> None:
    location = _entra(
        resource_type="entra.named_location",
        object_name="Blocked range",
        op="delete",
        attribute="id",
        old_value="identity/conditionalAccess/namedLocations/n1",
    )
    assert _hits("ENTRA-NAMED-LOCATION-DELETED", location)
    assert not _hits(
        "ENTRA-NAMED-LOCATION-DELETED",
        replace(location, op="modify", attribute="displayName", new_value="x"),
    )


def test_privileged_role_assignment_or_eligibility_removed_but_not_a_readers() -> None:
    removed = _entra(
        resource_type="entra.directory_role_assignment",
        op="delete",
        attribute="id",
        old_value="a1",
    )
    admin = Ctx(content={"roleDefinitionId": [USER_ADMIN], "principalId": ["u1"]})
    assert _hits("ENTRA-PRIV-ROLE-REMOVED", removed, admin)
    assert _hits("ENTRA-PRIV-ROLE-REMOVED", removed, Ctx(content={"roleDefinitionId": [GA]}))
    eligible = replace(removed, resource_type="entra.pim_eligible_schedule")
    assert _hits("ENTRA-PRIV-ROLE-REMOVED", eligible, admin)
    # the eligibility of a user deleted meanwhile ends with the user: the deletion's alert
    gone = Ctx(content={"roleDefinitionId": [USER_ADMIN], "principalId": ["u1"]}, deleted=["u1"])
    assert not _hits("ENTRA-PRIV-ROLE-REMOVED", eligible, gone)
    readers = Ctx(content={"roleDefinitionId": [DIRECTORY_READERS]})
    assert not _hits("ENTRA-PRIV-ROLE-REMOVED", removed, readers)
    # the schedule Graph lists beside a direct assignment is the same change: not counted twice
    mirror = replace(removed, resource_type="entra.pim_active_schedule")
    assert not _hits("ENTRA-PRIV-ROLE-REMOVED", mirror, admin)


def test_an_eligible_global_administrator_is_an_assignment_too() -> None:
    eligible = _entra(
        resource_type="entra.pim_eligible_schedule",
        op="create",
        attribute=None,
        new_value={"roleDefinitionId": GA, "principalId": "u1", "memberType": "Direct"},
    )
    assert _hits("ENTRA-GLOBAL-ADMIN-ASSIGNED", eligible)
    user_admin = replace(eligible, new_value={"roleDefinitionId": USER_ADMIN})
    assert _hits("ENTRA-PRIV-ROLE-ASSIGNED", user_admin)


def test_role_assignable_group_member_removed() -> None:
    removed = _entra(
        resource_type="entra.group",
        object_name="Helpdesk Administrators",
        op="remove-value",
        attribute="members",
        old_value="u1",
    )
    assert _hits(
        "ENTRA-ROLE-GROUP-MEMBER-REMOVED", removed, Ctx(content={"isAssignableToRole": [True]})
    )
    team = Ctx(content={"isAssignableToRole": [False]})
    assert not _hits("ENTRA-ROLE-GROUP-MEMBER-REMOVED", removed, team)


def test_owner_added_to_a_privileged_app_and_not_to_an_ordinary_one() -> None:
    owner = _entra(
        resource_type="entra.application",
        object_name="Payroll export",
        op="add-value",
        attribute="owners",
        new_value="u9",
    )
    assert _rules_hit(owner, Ctx(content=_app(DIRECTORY_RW_ALL))) == {"ENTRA-PRIV-APP-OWNER-ADDED"}
    assert _rules_hit(owner, Ctx(content=_app(USER_READ_ALL))) == set()
    everything = [replace(r, enabled=True) for r in RULES.values()]
    hits = match_events(everything, [owner], Ctx(content=_app(DIRECTORY_RW_ALL)), NOW)
    assert {h.rule.id for h in hits} == {"ENTRA-PRIV-APP-OWNER-ADDED"}  # the noisy one yields
    hits = match_events(everything, [owner], Ctx(content=_app(USER_READ_ALL)), NOW)
    assert {h.rule.id for h in hits} == {"ENTRA-APP-OWNER-ADDED"}


def test_one_credential_one_alert_the_privileged_apps_supersedes_the_first() -> None:
    secret = _entra(
        resource_type="entra.application",
        object_name="Payroll export",
        op="add-value",
        attribute="passwordCredentials",
        new_value={"keyId": "k0", "displayName": "backdoor"},
    )
    first = Ctx(content=_app(USER_READ_ALL, credentials=1))
    assert _rules_hit(secret, first) == {"ENTRA-FIRST-APP-CREDENTIAL"}
    rotation = Ctx(content=_app(USER_READ_ALL, credentials=2))
    assert _rules_hit(secret, rotation) == set()  # a second secret: the noisy rule's, off
    privileged = Ctx(content=_app(DIRECTORY_RW_ALL, credentials=1))
    assert _rules_hit(secret, privileged) == {"ENTRA-PRIV-APP-CREDENTIAL"}
    certificate = Ctx(content=_app(USER_READ_ALL) | {"keyCredentials": [{"keyId": "c"}]})
    assert _rules_hit(replace(secret, attribute="keyCredentials"), certificate) == {
        "ENTRA-FIRST-APP-CREDENTIAL"
    }


def test_superseded_by_must_name_a_rule_and_at_most_a_count() -> None:
    text = """
[[rule]]
id = "SITE-X"
title = "x"
severity = "low"
directory = "entra"
rationale = "r"
remediation = "r"
superseded_by = ["NO-SUCH-RULE"]
[rule.match]
resource_types = ["entra.user"]
[[rule.match.object]]
path = "a|b"
at_most = -1
"""
    with pytest.raises(RuleFileError, match=r"at_most: must be 0 or more"):
        parse_rules(text, "site.toml")
    site = parse_rules(text.replace("at_most = -1", "at_most = 2"), "site.toml")
    with pytest.raises(ServiceError, match=r"SITE-X .*superseded_by names no rule NO-SUCH-RULE"):
        combine(builtin_rules(), site, ThreatsConfig())


def test_gains_looks_only_at_what_the_change_added_inside_a_complex_value() -> None:
    conditions = {
        "users": {"includeUsers": ["All"], "excludeUsers": ["breakglass"]},
        "applications": {"includeApplications": ["All"]},
    }
    more = {**conditions, "users": {"includeUsers": ["All"], "excludeUsers": ["breakglass", "eve"]}}
    policy = _entra(
        resource_type="entra.conditional_access_policy",
        object_name="MFA for admins",
        op="modify",
        attribute="conditions",
        old_value=conditions,
        new_value=more,
    )
    assert _hits("ENTRA-CA-EXCLUSION-ADDED", policy)
    fewer = replace(policy, old_value=more, new_value=conditions)  # an exclusion removed
    assert not _hits("ENTRA-CA-EXCLUSION-ADDED", fewer)
    widened = {**conditions, "applications": {"includeApplications": ["app1"]}}
    assert not _hits("ENTRA-CA-EXCLUSION-ADDED", replace(policy, new_value=widened))
    settings = {"allowedToCreateApps": False, "allowedToCreateTenants": True}
    permissions = _entra(
        resource_type="entra.authorization_policy",
        object_name="Authorization Policy",
        op="modify",
        attribute="defaultUserRolePermissions",
        old_value=settings,
        new_value={**settings, "allowedToCreateApps": True},
    )
    assert _hits("ENTRA-TENANT-CREATION-OPENED", permissions)
    # the setting that already was true does not make a change to false an alert
    closed = replace(permissions, new_value={**settings, "allowedToCreateTenants": False})
    assert not _hits("ENTRA-TENANT-CREATION-OPENED", closed)
    consent = replace(
        permissions,
        old_value={"permissionGrantPoliciesAssigned": []},
        new_value={
            "permissionGrantPoliciesAssigned": [
                "ManagePermissionGrantsForSelf.microsoft-user-default-legacy"
            ]
        },
    )
    assert _hits("ENTRA-USER-CONSENT-ALLOWED", consent)
    assert not _hits("ENTRA-USER-CONSENT-ALLOWED", replace(consent, old_value=consent.new_value))


def test_rules_on_changes_the_sandbox_cannot_make() -> None:
    """Domains are read-only in the sandbox, and Security Defaults and directory
    synchronisation settings are not captured types yet: these rules are checked on events of
    the shape the capture stores for a Graph singleton or item (``docs/threats.md`` lists the
    types dirguard does not capture)."""
    domain = _entra(
        resource_type="entra.domain",
        object_name="contoso.example",
        op="modify",
        attribute="authenticationType",
        old_value="Managed",
        new_value="Federated",
    )
    assert _hits("ENTRA-DOMAIN-FEDERATION-CHANGED", domain)
    assert not _hits("ENTRA-DOMAIN-FEDERATION-CHANGED", replace(domain, attribute="isDefault"))
    added = replace(domain, op="create", attribute=None, old_value=None, new_value={"id": "x"})
    assert _hits("ENTRA-DOMAIN-ADDED", added)
    defaults = _entra(
        resource_type="entra.identity_security_defaults_enforcement_policy",
        object_name="Security Defaults",
        op="modify",
        attribute="isEnabled",
        old_value=True,
        new_value=False,
    )
    assert _hits("ENTRA-SECURITY-DEFAULTS-OFF", defaults)
    assert not _hits("ENTRA-SECURITY-DEFAULTS-OFF", replace(defaults, new_value=True))
    sync = _entra(
        resource_type="entra.on_premises_synchronization",
        object_name="sync",
        op="modify",
        attribute="features.blockSoftMatchEnabled",
        old_value=True,
        new_value=False,
    )
    assert _hits("ENTRA-SYNC-HARDENING-OFF", sync)


def test_the_noisy_rules_when_a_site_turns_them_on_yield_to_the_specific_ones() -> None:
    everything = [replace(r, enabled=True) for r in RULES.values()]

    def fired(event: EventFacts, ctx: Ctx) -> set[str]:
        return {h.rule.id for h in match_events(everything, [event], ctx, NOW)}

    ca = _entra(
        resource_type="entra.conditional_access_policy",
        object_name="MFA for admins",
        op="modify",
        attribute="grantControls",
        old_value={"builtInControls": ["mfa"]},
        new_value={"builtInControls": ["mfa", "compliantDevice"]},
    )
    assert fired(ca, Ctx()) == {"ENTRA-CA-CHANGED"}
    disabled = replace(ca, attribute="state", old_value="enabled", new_value="disabled")
    assert fired(disabled, Ctx()) == {"ENTRA-CA-DISABLED"}
    rotation = _entra(
        resource_type="entra.application",
        object_name="Payroll export",
        op="add-value",
        attribute="passwordCredentials",
        new_value={"keyId": "k2"},
    )
    assert fired(rotation, Ctx(content=_app(USER_READ_ALL, credentials=2))) == {
        "ENTRA-APP-CREDENTIAL-ADDED"
    }
    method = _entra(
        resource_type="entra.authentication_method_configuration",
        object_name="Fido2",
        op="modify",
        attribute="state",
        old_value="enabled",
        new_value="disabled",
    )
    assert fired(method, Ctx(content={"id": ["Fido2"]})) == {"ENTRA-AUTH-METHODS-CHANGED"}
    sms = replace(method, object_name="Sms", old_value="disabled", new_value="enabled")
    assert fired(sms, Ctx(content={"id": ["Sms"]})) == {"ENTRA-AUTH-METHODS-WEAKENED"}
