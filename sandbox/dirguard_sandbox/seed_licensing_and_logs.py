"""Seeding what a lived-in tenant has besides users and groups: subscriptions and the licenses
assigned to users, registered authentication methods and per-user MFA states, administrative
units by region, organizational contacts and a week of sign-in logs.

Everything is drawn from its own generator seeded with the tenant's seed, so it is the same for
the same seed and user count whatever the rest of the generator does. Sign-in times count back
from the tenant's clock.
"""

from __future__ import annotations

import datetime
import gc
import random
import uuid

from dirguard_sandbox.directory_state import DirectoryState, Json, graph_time
from dirguard_sandbox.group_licensing import direct_state
from dirguard_sandbox.license_catalog import CATALOG, subscribed_sku_record

EMAIL_METHOD_ID = "3ddfcfc8-9383-446f-83cc-3ab9be4be18f"
"""The id Graph gives a user's (only) email authentication method."""
PHONE_METHOD_IDS = {
    "mobile": "3179e48a-750b-4051-897c-87b9720928f7",
    "alternateMobile": "b6332ec1-7057-4abe-9331-3d72feddfe41",
    "office": "e37fc753-ff3b-4958-9484-eaa9425c82bc",
}
"""The ids Graph gives phone methods, one per phone type."""

SIGN_INS_KEPT = 300
"""At most this many seeded sign-ins (three per user in a small tenant)."""
REGIONS = {
    "Europe": ("GB", "DE", "FR"),
    "Americas": ("US", "BR"),
    "Asia Pacific": ("JP",),
}
PARTNERS = (
    ("Fabrikam", "fabrikam.example"),
    ("Northwind Traders", "northwind.example"),
    ("Tailspin Toys", "tailspin.example"),
    ("Wide World Importers", "wideworld.example"),
    ("Litware", "litware.example"),
)
_FAILURES = (
    (50126, "Error validating credentials due to invalid username or password."),
    (50074, "Strong Authentication is required."),
    (53003, "Access has been blocked by Conditional Access policies."),
)
_CLIENTS = (
    ("Browser", "Edge 120.0.0", "Windows10"),
    ("Mobile Apps and Desktop clients", "", "Ios 17"),
    ("Browser", "Chrome 121.0.0", "MacOs"),
)
_CITIES = {
    "US": ("Seattle", "Washington", 47.6, -122.3),
    "GB": ("London", "England", 51.5, -0.1),
    "DE": ("Berlin", "Berlin", 52.5, 13.4),
    "FR": ("Paris", "Paris", 48.9, 2.4),
    "JP": ("Tokyo", "Tokyo", 35.7, 139.7),
    "BR": ("São Paulo", "São Paulo", -23.5, -46.6),
}


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def seed_licensing_and_logs(state: DirectoryState, seed: int, admin_id: str) -> None:
    rng = random.Random(f"directory-extras-{seed}")  # noqa: S311 - fixtures, not secrets
    # Every object made here is kept: collection passes over a big tenant would free nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        _seed_licenses(state, rng, admin_id)
        _seed_methods(state, rng, admin_id)
        _seed_units(state, rng)
        _seed_contacts(state, rng)
        _seed_sign_ins(state, rng)
    finally:
        if collecting:
            gc.enable()


def _seed_licenses(state: DirectoryState, rng: random.Random, admin_id: str) -> None:
    e3, p1, p2 = CATALOG
    count = len(state.users)
    units = {e3.sku_id: count + 5, p1.sku_id: count, p2.sku_id: max(5, count // 10)}
    for sku in CATALOG:
        record = subscribed_sku_record(state, sku, units=units[sku.sku_id], subscription=_uuid(rng))
        state.subscribed_skus[record["id"]] = record
    used = dict.fromkeys(units, 0)
    for index, (user_id, user) in enumerate(state.users.items()):
        wanted = [e3.sku_id, p2.sku_id] if user_id == admin_id else []
        # Every eighth person (contractors, leavers) holds no license at all.
        if user_id != admin_id and user.get("usageLocation") and index % 8 != 7:
            if rng.random() < 0.85:
                wanted.append(e3.sku_id)
            if rng.random() < 0.5:
                wanted.append(p1.sku_id)
        for sku_id in wanted:
            if used[sku_id] < units[sku_id]:
                used[sku_id] += 1
                assigned = {"disabledPlans": [], "skuId": sku_id}
                user["assignedLicenses"].append(assigned)
                user.setdefault("licenseAssignmentStates", []).append(
                    direct_state(assigned, state="Active", when=None)
                )


def new_unit_record(*, object_id: str, display_name: str, **extra: object) -> Json:
    """An administrativeUnit with every property the sandbox keeps."""
    record: Json = {
        "id": object_id,
        "deletedDateTime": None,
        "description": None,
        "displayName": display_name,
        "isMemberManagementRestricted": None,
        "membershipRule": None,
        "membershipRuleProcessingState": None,
        "membershipType": "Assigned",
        "visibility": None,
    }
    record.update(extra)
    return record


def new_contact_record(*, object_id: str, display_name: str, mail: str, **extra: object) -> Json:
    """An orgContact with every property the sandbox keeps."""
    record: Json = {
        "id": object_id,
        "deletedDateTime": None,
        "addresses": [],
        "companyName": None,
        "department": None,
        "displayName": display_name,
        "givenName": None,
        "jobTitle": None,
        "mail": mail,
        "mailNickname": mail.split("@", 1)[0],
        "onPremisesLastSyncDateTime": None,
        "onPremisesProvisioningErrors": [],
        "onPremisesSyncEnabled": None,
        "phones": [],
        "proxyAddresses": [f"SMTP:{mail}"],
        "serviceProvisioningErrors": [],
        "surname": None,
    }
    record.update(extra)
    return record


_TYPE = "#microsoft.graph.{}AuthenticationMethod"


def _seed_methods(state: DirectoryState, rng: random.Random, admin_id: str) -> None:
    """Most people have the Authenticator app or a phone, some an email address, a few a
    security key or an OATH token (literal dicts: this runs once per user)."""
    draw = rng.random
    for user_id, user in state.users.items():
        created = user["createdDateTime"]
        admin = user_id == admin_id
        methods: dict[str, Json] = {}
        if admin or draw() < 0.6:
            methods[PHONE_METHOD_IDS["mobile"]] = {
                "@odata.type": _TYPE.format("phone"),
                "id": PHONE_METHOD_IDS["mobile"],
                "createdDateTime": created,
                "phoneNumber": f"+1 425555{rng.randint(1000, 9999)}",
                "phoneType": "mobile",
                "smsSignInState": "notEnabled",
            }
        if admin or draw() < 0.4:
            method_id = _uuid(rng)
            methods[method_id] = {
                "@odata.type": _TYPE.format("microsoftAuthenticator"),
                "id": method_id,
                "createdDateTime": created,
                "deviceTag": "SoftwareTokenActivated",
                "displayName": "iPhone 15",
                "phoneAppVersion": "6.8.7",
            }
        if draw() < 0.2 and user.get("mail"):
            methods[EMAIL_METHOD_ID] = {
                "@odata.type": _TYPE.format("email"),
                "id": EMAIL_METHOD_ID,
                "createdDateTime": created,
                "emailAddress": f"{user['mailNickname']}@personal.example",
            }
        if draw() < 0.05:
            method_id = _uuid(rng)
            methods[method_id] = {
                "@odata.type": _TYPE.format("fido2"),
                "id": method_id,
                "createdDateTime": created,
                "aaGuid": "cb69481e-8ff7-4039-93ec-0a2729a154a8",
                "attestationCertificates": [],
                "attestationLevel": "attested",
                "displayName": "YubiKey 5",
                "model": "YubiKey 5",
            }
        if draw() < 0.05:
            method_id = _uuid(rng)
            methods[method_id] = {
                "@odata.type": _TYPE.format("softwareOath"),
                "id": method_id,
                "createdDateTime": created,
                "secretKey": None,
            }
        if methods:
            state.auth_methods[user_id] = methods
            if not admin and draw() < 0.15:
                state.mfa_states[user_id] = "enforced"


def _seed_units(state: DirectoryState, rng: random.Random) -> None:
    for region, countries in REGIONS.items():
        unit_id = _uuid(rng)
        state.administrative_units[unit_id] = new_unit_record(
            object_id=unit_id,
            display_name=region,
            description=f"Users in {', '.join(countries)}",
        )
        state.unit_members[unit_id] = [
            user_id for user_id, user in state.users.items() if user.get("country") in countries
        ]
        state.bump(unit_id)
    unit_id = _uuid(rng)
    state.administrative_units[unit_id] = new_unit_record(
        object_id=unit_id,
        display_name="Executives",
        description="Restricted management: only its own scoped administrators change it",
        isMemberManagementRestricted=True,
        visibility="HiddenMembership",
    )
    state.unit_members[unit_id] = list(state.users)[:3]
    state.bump(unit_id)


def _seed_contacts(state: DirectoryState, rng: random.Random) -> None:
    for company, domain in PARTNERS:
        first = rng.choice(("Alex", "Sam", "Robin", "Kim", "Jo"))
        contact_id = _uuid(rng)
        state.contacts[contact_id] = new_contact_record(
            object_id=contact_id,
            display_name=f"{first} ({company})",
            mail=f"{first.lower()}@{domain}",
            companyName=company,
            givenName=first,
            jobTitle="Account Manager",
            phones=[
                {"language": None, "number": "+1 425 555 0199", "region": None, "type": "business"}
            ],
        )
        state.bump(contact_id)


def _seed_sign_ins(state: DirectoryState, rng: random.Random) -> None:
    users = list(state.users.values())
    graph = next(
        (sp for sp in state.service_principals.values() if sp["displayName"] == "Microsoft Graph"),
        None,
    )
    now = state.now()
    entries: list[Json] = []
    for index in range(min(SIGN_INS_KEPT, 3 * len(users))):
        user = users[index % len(users)]
        when = now - datetime.timedelta(minutes=rng.randint(5, 7 * 24 * 60))
        failure = _FAILURES[rng.randrange(len(_FAILURES))] if rng.random() < 0.2 else None
        client, browser, system = rng.choice(_CLIENTS)
        city, region, latitude, longitude = _CITIES.get(user.get("country") or "US", _CITIES["US"])
        entries.append(
            {
                "id": _uuid(rng),
                "createdDateTime": graph_time(when),
                "userDisplayName": user["displayName"],
                "userPrincipalName": user["userPrincipalName"],
                "userId": user["id"],
                "appId": "00000002-0000-0ff1-ce00-000000000000",
                "appDisplayName": "Office 365 Exchange Online",
                "ipAddress": f"203.0.113.{rng.randint(1, 254)}",
                "clientAppUsed": client,
                "correlationId": _uuid(rng),
                "conditionalAccessStatus": "failure"
                if failure and failure[0] == 53003
                else "success",
                "isInteractive": True,
                "riskDetail": "none",
                "riskLevelAggregated": "none",
                "riskLevelDuringSignIn": "none",
                "riskState": "none",
                "riskEventTypes_v2": [],
                "resourceDisplayName": "Microsoft Graph" if graph else "Office 365 Exchange Online",
                "resourceId": graph["appId"] if graph else None,
                "status": {
                    "errorCode": failure[0] if failure else 0,
                    "failureReason": failure[1] if failure else None,
                    "additionalDetails": None,
                },
                "deviceDetail": {
                    "deviceId": "",
                    "displayName": "",
                    "operatingSystem": system,
                    "browser": browser,
                    "isCompliant": False,
                    "isManaged": False,
                    "trustType": "",
                },
                "location": {
                    "city": city,
                    "state": region,
                    "countryOrRegion": user.get("country") or "US",
                    "geoCoordinates": {
                        "altitude": None,
                        "latitude": latitude,
                        "longitude": longitude,
                    },
                },
                "appliedConditionalAccessPolicies": [],
            }
        )
    entries.sort(key=lambda entry: str(entry["createdDateTime"]))
    state.sign_in_log.extend(entries)
