"""Seeding the identity side of a tenant: application objects for the ready apps (with their
client secrets as passwordCredentials), the Global Administrator's role assignment, and the
always-active directory roles; for a realistic tenant also line-of-business apps, conditional
access with named locations, and role and PIM assignments (``seed_directory_extras``)."""

from __future__ import annotations

import datetime
import random
import uuid

from dirguard_sandbox.application_records import (
    SECRET_LIFETIME,
    new_application_record,
    new_service_principal_record,
)
from dirguard_sandbox.directory_state import Application, DirectoryState, Json, graph_time
from dirguard_sandbox.permissions_table import GRAPH_APP_ID, PERMISSIONS_BY_VALUE
from dirguard_sandbox.policy_records import (
    CONDITIONAL_ACCESS,
    NAMED_LOCATIONS,
    conditional_access_record,
    named_location_record,
    policies_of,
)
from dirguard_sandbox.role_catalog import GLOBAL_ADMINISTRATOR, GLOBAL_READER
from dirguard_sandbox.routes_roles import activate_role, assign_role


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def seed_identity(state: DirectoryState, rng: random.Random, admin_id: str) -> None:
    now = state.now()
    for app in state.applications.values():
        key_id = _uuid(rng)
        record = new_application_record(
            object_id=app.object_id,
            app_id=app.app_id,
            display_name=app.display_name,
            created=graph_time(now),
            requiredResourceAccess=[
                {
                    "resourceAppId": GRAPH_APP_ID,
                    "resourceAccess": [
                        {"id": PERMISSIONS_BY_VALUE[value].id, "type": "Role"}
                        for value in app.granted
                    ],
                }
            ],
        )
        record["passwordCredentials"].append(
            {
                "customKeyIdentifier": None,
                "displayName": "sandbox secret",
                "endDateTime": graph_time(now + SECRET_LIFETIME),
                "hint": app.secrets[0][:3],
                "keyId": key_id,
                "secretText": None,
                "startDateTime": graph_time(now),
            }
        )
        app.secret_key_ids[key_id] = app.secrets[0]
        state.application_objects[app.object_id] = record
        state.bump(app.object_id)
    activate_role(state, GLOBAL_READER)
    assign_role(state, admin_id, GLOBAL_ADMINISTRATOR)


USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
SECURITY_READER = "5d6b6bb7-de71-4623-b4af-96380a352509"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
SECURITY_ADMINISTRATOR = "194ae4cb-b126-40b2-bd5b-6091b380977d"
LINE_OF_BUSINESS_PERMISSIONS = (("User.Read.All",), ("Group.Read.All",), ("User.Read.All",))


def seed_directory_extras(state: DirectoryState, rng: random.Random, admin_id: str) -> None:
    """What a tenant in use holds besides people and groups: line-of-business applications,
    conditional access in place of security defaults, and role and PIM assignments."""
    _seed_line_of_business_apps(state, rng)
    _seed_conditional_access(state, rng)
    _seed_roles(state, rng)


def _seed_line_of_business_apps(state: DirectoryState, rng: random.Random) -> None:
    """Six apps and one more per 5,000 users, each with a service principal, one or two Graph
    application permissions, delegated consent for all users, and secrets (one expiring within
    a month on every third app, an expired one on every fourth) or a certificate's metadata."""
    now = state.now()
    graph_sp = next(sp for sp in state.service_principals.values() if sp["appId"] == GRAPH_APP_ID)
    count = 6 + len(state.users) // 5000
    for index in range(count):
        name = f"Line-of-business app {index + 1:02d}"
        granted = list(LINE_OF_BUSINESS_PERMISSIONS[index % len(LINE_OF_BUSINESS_PERMISSIONS)])
        app = Application(
            app_id=_uuid(rng),
            object_id=_uuid(rng),
            service_principal_id=_uuid(rng),
            display_name=name,
            secrets=[],
            granted=granted,
        )
        state.applications[app.app_id] = app
        record = new_application_record(
            object_id=app.object_id,
            app_id=app.app_id,
            display_name=name,
            created=graph_time(now - datetime.timedelta(days=30 * (index + 1))),
        )
        ends = now + (datetime.timedelta(days=20) if index % 3 == 0 else SECRET_LIFETIME)
        secret = "sandbox-" + _uuid(rng)
        credentials = [(ends, secret)]
        if index % 4 == 1:
            credentials.append((now - datetime.timedelta(days=5), "sandbox-" + _uuid(rng)))
        for end, value in credentials:
            key_id = _uuid(rng)
            record["passwordCredentials"].append(
                {
                    "customKeyIdentifier": None,
                    "displayName": "deployment secret",
                    "endDateTime": graph_time(end),
                    "hint": value[:3],
                    "keyId": key_id,
                    "secretText": None,
                    "startDateTime": graph_time(end - SECRET_LIFETIME),
                }
            )
            app.secrets.append(value)
            app.secret_key_ids[key_id] = value
        record["requiredResourceAccess"] = [
            {
                "resourceAppId": GRAPH_APP_ID,
                "resourceAccess": [
                    {"id": PERMISSIONS_BY_VALUE[value].id, "type": "Role"} for value in granted
                ],
            }
        ]
        state.application_objects[app.object_id] = record
        state.bump(app.object_id)
        principal = new_service_principal_record(state, record)
        principal["id"] = app.service_principal_id
        state.service_principals[app.service_principal_id] = principal
        state.bump(app.service_principal_id)
        for value in granted:
            assignment_id = _uuid(rng)
            state.app_role_assignments[assignment_id] = {
                "id": assignment_id,
                "appRoleId": PERMISSIONS_BY_VALUE[value].id,
                "createdDateTime": record["createdDateTime"],
                "deletedDateTime": None,
                "principalDisplayName": name,
                "principalId": app.service_principal_id,
                "principalType": "ServicePrincipal",
                "resourceDisplayName": "Microsoft Graph",
                "resourceId": graph_sp["id"],
            }
        grant_id = _uuid(rng)
        state.oauth2_grants[grant_id] = {
            "id": grant_id,
            "clientId": app.service_principal_id,
            "consentType": "AllPrincipals",
            "principalId": None,
            "resourceId": graph_sp["id"],
            "scope": "openid profile User.Read",
        }


def _seed_conditional_access(state: DirectoryState, rng: random.Random) -> None:
    """Two named locations and four policies that reference them, groups and roles; security
    defaults off, as Entra requires when conditional access is in use."""
    created = graph_time(state.now())
    policies = policies_of(state)
    policies["identitySecurityDefaultsEnforcementPolicy"]["isEnabled"] = False
    office = named_location_record(
        {
            "@odata.type": "#microsoft.graph.ipNamedLocation",
            "displayName": "Head office",
            "isTrusted": True,
            "ipRanges": [{"cidrAddress": "198.51.100.0/24"}, {"cidrAddress": "2001:db8::/48"}],
        },
        location_id=_uuid(rng),
        now=created,
    )
    blocked = named_location_record(
        {
            "@odata.type": "#microsoft.graph.countryNamedLocation",
            "displayName": "Blocked countries",
            "countriesAndRegions": ["KP", "IR"],
            "includeUnknownCountriesAndRegions": True,
        },
        location_id=_uuid(rng),
        now=created,
    )
    for location in (office, blocked):
        policies[NAMED_LOCATIONS][location["id"]] = location
    groups = {group["displayName"]: group_id for group_id, group in state.groups.items()}
    everyone, helpdesk = groups["All Staff"], groups["Helpdesk Administrators"]
    bodies = [
        (
            "Require MFA for administrators",
            "enabled",
            {"includeRoles": [GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, HELPDESK_ADMINISTRATOR]},
            None,
            ["mfa"],
        ),
        (
            "Block sign-in from blocked countries",
            "enabled",
            {"includeUsers": ["All"], "excludeGroups": [helpdesk]},
            {"includeLocations": [blocked["id"]]},
            ["block"],
        ),
        (
            "Require MFA outside the head office",
            "enabledForReportingButNotEnforced",
            {"includeGroups": [everyone]},
            {"includeLocations": ["All"], "excludeLocations": [office["id"]]},
            ["mfa"],
        ),
        (
            "Compliant device for helpdesk",
            "disabled",
            {"includeGroups": [helpdesk]},
            None,
            ["compliantDevice", "mfa"],
        ),
    ]
    for name, policy_state, users, locations, controls in bodies:
        conditions: Json = {
            "users": users,
            "applications": {"includeApplications": ["All"]},
            "clientAppTypes": ["all"],
        }
        if locations is not None:
            conditions["locations"] = locations
        record = conditional_access_record(
            {
                "displayName": name,
                "state": policy_state,
                "conditions": conditions,
                "grantControls": {"operator": "OR", "builtInControls": controls},
            },
            policy_id=_uuid(rng),
            now=created,
        )
        policies[CONDITIONAL_ACCESS][record["id"]] = record


def _seed_roles(state: DirectoryState, rng: random.Random) -> None:
    """Active roles for a few people and for the role-assignable group, and PIM eligibility
    (a schedule and the request that created it) for two more."""
    user_ids = list(state.users)
    helpdesk = next(
        group_id for group_id, group in state.groups.items() if group["isAssignableToRole"]
    )
    for principal, template in (
        (user_ids[min(1, len(user_ids) - 1)], USER_ADMINISTRATOR),
        (user_ids[min(2, len(user_ids) - 1)], SECURITY_READER),
        (helpdesk, HELPDESK_ADMINISTRATOR),
    ):
        if principal != user_ids[0]:
            assign_role(state, principal, template)
    now = graph_time(state.now())
    ends = graph_time(state.now() + datetime.timedelta(days=180))
    for principal, template in (
        (user_ids[min(3, len(user_ids) - 1)], PRIVILEGED_ROLE_ADMINISTRATOR),
        (user_ids[min(4, len(user_ids) - 1)], SECURITY_ADMINISTRATOR),
    ):
        activate_role(state, template)
        common: Json = {
            "principalId": principal,
            "roleDefinitionId": template,
            "directoryScopeId": "/",
            "appScopeId": None,
        }
        schedule_info: Json = {
            "startDateTime": now,
            "recurrence": None,
            "expiration": {"type": "afterDateTime", "endDateTime": ends, "duration": None},
        }
        request_id, schedule_id = _uuid(rng), _uuid(rng)
        state.role_schedules[request_id] = {
            "id": request_id,
            "kind": "eligibilityRequest",
            **common,
            "action": "adminAssign",
            "status": "Provisioned",
            "createdDateTime": now,
            "completedDateTime": now,
            "justification": "Standing eligibility for on-call administrators",
            "isValidationOnly": False,
            "scheduleInfo": schedule_info,
            "targetScheduleId": schedule_id,
            "approvalId": None,
            "customData": None,
            "createdBy": {"user": None, "application": None, "device": None},
            "ticketInfo": {"ticketNumber": None, "ticketSystem": None},
        }
        state.role_schedules[schedule_id] = {
            "id": schedule_id,
            "kind": "eligibilitySchedule",
            **common,
            "createdDateTime": now,
            "createdUsing": request_id,
            "modifiedDateTime": now,
            "status": "Provisioned",
            "memberType": "Direct",
            "scheduleInfo": schedule_info,
        }
