"""The records a seeded tenant is made of: the people's names, departments, job titles and
offices, and a user or group with every property the sandbox keeps (defaults filled in), which
the routes also use to create objects."""

from __future__ import annotations

import random
import uuid

from dirguard_sandbox.directory_state import Json

_FIRST = (
    "Adele Alex Ben Chloe Diego Elena Farah Grady Hana Isaiah Johanna Kenji Lara Lee Megan "
    "Miriam Nestor Olga Patti Pradeep Quinn Rafael Sofia Tomas Uma Viktor Wen Yusuf Zara Lidia"
)
_LAST = (
    "Vance Wilber Adams Brown Garcia Petrova Khan Archie Sato Henderson Lindqvist Tanaka Moreau "
    "Gu Bowen Cohen Navarro Ivanova Fernandez Gupta Murphy Costa Rossi Novak Iyer Kowalski Li "
    "Demir Okafor Holt"
)
FIRST_NAMES = tuple(_FIRST.split())
LAST_NAMES = tuple(_LAST.split())
DEPARTMENTS = ("Sales", "Finance", "Engineering", "Human Resources", "Operations", "Legal")
JOB_TITLES = {
    "Sales": ("Account Executive", "Sales Manager"),
    "Finance": ("Accountant", "Financial Controller"),
    "Engineering": ("Software Engineer", "Engineering Manager"),
    "Human Resources": ("HR Specialist", "HR Director"),
    "Operations": ("Operations Analyst", "Facilities Manager"),
    "Legal": ("Paralegal", "General Counsel"),
}
LOCATIONS = (
    ("US", "Seattle", "en-US"),
    ("GB", "London", "en-GB"),
    ("DE", "Berlin", "de-DE"),
    ("FR", "Paris", "fr-FR"),
    ("JP", "Tokyo", "ja-JP"),
    ("BR", "São Paulo", "pt-BR"),
)


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def new_user_record(
    *, object_id: str, display_name: str, upn: str, created: str, **extra: object
) -> Json:
    """A user with every property the sandbox keeps, defaults filled in."""
    nickname = upn.split("@", 1)[0]
    record: Json = {
        "id": object_id,
        "accountEnabled": True,
        "businessPhones": [],
        "city": None,
        "companyName": None,
        "country": None,
        "createdDateTime": created,
        "deletedDateTime": None,
        "department": None,
        "displayName": display_name,
        "employeeId": None,
        "externalUserState": None,
        "externalUserStateChangeDateTime": None,
        "givenName": None,
        "jobTitle": None,
        "mail": upn,
        "mailNickname": nickname,
        "mobilePhone": None,
        "officeLocation": None,
        "onPremisesSyncEnabled": None,
        "preferredLanguage": None,
        "surname": None,
        "usageLocation": None,
        "userPrincipalName": upn,
        "userType": "Member",
        "assignedLicenses": [],
        "licenseAssignmentStates": [],
        "identities": [
            {
                "signInType": "userPrincipalName",
                "issuer": upn.split("@", 1)[1],
                "issuerAssignedId": upn,
            }
        ],
        "otherMails": [],
        "proxyAddresses": [f"SMTP:{upn}"],
        "postalCode": None,
        "state": None,
        "streetAddress": None,
    }
    record.update(extra)
    return record


def new_group_record(*, object_id: str, display_name: str, created: str, **extra: object) -> Json:
    nickname = "".join(ch for ch in display_name.lower() if ch.isalnum()) or "group"
    record: Json = {
        "id": object_id,
        "classification": None,
        "createdDateTime": created,
        "deletedDateTime": None,
        "description": None,
        "displayName": display_name,
        "assignedLicenses": [],
        "groupTypes": [],
        "isAssignableToRole": None,
        "mail": None,
        "mailEnabled": False,
        "mailNickname": nickname,
        "membershipRule": None,
        "membershipRuleProcessingState": None,
        "onPremisesSyncEnabled": None,
        "proxyAddresses": [],
        "renewedDateTime": created,
        "securityEnabled": True,
        "securityIdentifier": None,
        "visibility": None,
        "expirationDateTime": None,
        "onPremisesLastSyncDateTime": None,
        "onPremisesSecurityIdentifier": None,
        "preferredDataLocation": None,
        "preferredLanguage": None,
        "resourceBehaviorOptions": [],
        "resourceProvisioningOptions": [],
        "theme": None,
        "onPremisesProvisioningErrors": [],
    }
    record.update(extra)
    return record
