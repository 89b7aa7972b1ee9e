"""What each resource type accepts on create and update, and its default ``$select``.

Property names and JSON types follow the CSDL entity types ``microsoft.graph.user`` and
``microsoft.graph.group``; a test holds them against Microsoft's schema.
"""

from __future__ import annotations

from typing import Any

from dirguard_sandbox.errors import bad_request
from dirguard_sandbox.seed_data import new_group_record, new_user_record

Json = dict[str, Any]

USER_DEFAULT_SELECT = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
"""The properties Graph returns for a user when no ``$select`` is given."""

USER_WRITABLE: dict[str, type | tuple[type, ...]] = {
    "accountEnabled": bool,
    "businessPhones": list,
    "city": str,
    "companyName": str,
    "country": str,
    "department": str,
    "displayName": str,
    "employeeId": str,
    "givenName": str,
    "jobTitle": str,
    "mail": str,
    "mailNickname": str,
    "mobilePhone": str,
    "officeLocation": str,
    "preferredLanguage": str,
    "surname": str,
    "usageLocation": str,
    "userPrincipalName": str,
    "userType": str,
    "passwordProfile": dict,
    # Also writable on create and update by the "user resource type" page
    # (https://learn.microsoft.com/graph/api/resources/user) and "Create user"
    # (https://learn.microsoft.com/graph/api/user-post-users: "the request body can contain
    # other writable properties"): what a user re-created from a backup carries.
    "ageGroup": str,
    "consentProvidedForMinor": str,
    "employeeType": str,
    "faxNumber": str,
    "identities": list,
    "onPremisesExtensionAttributes": dict,
    "onPremisesImmutableId": str,
    "otherMails": list,
    "passwordPolicies": str,
    "postalCode": str,
    "state": str,
    "streetAddress": str,
}
USER_REQUIRED = (
    "accountEnabled",
    "displayName",
    "mailNickname",
    "userPrincipalName",
    "passwordProfile",
)

GROUP_WRITABLE: dict[str, type | tuple[type, ...]] = {
    "description": str,
    "displayName": str,
    "groupTypes": list,
    "isAssignableToRole": bool,
    "mailEnabled": bool,
    "mailNickname": str,
    "securityEnabled": bool,
    "visibility": str,
    "classification": str,
}
GROUP_REQUIRED = ("displayName", "mailEnabled", "mailNickname", "securityEnabled")
GROUP_CREATE_ONLY = ("groupTypes", "isAssignableToRole")


def check_body(
    body: Json,
    *,
    writable: dict[str, type | tuple[type, ...]],
    resource: str,
    required: tuple[str, ...] = (),
    known: frozenset[str] = frozenset(),
    extra_allowed: tuple[str, ...] = (),
) -> Json:
    """The writable properties of ``body``; a 400 naming the first property that is wrong."""
    for name in required:
        if body.get(name) in (None, ""):
            raise bad_request(
                f"A value is required for property '{name}' of resource '{resource}'."
            )
    accepted: Json = {}
    for name, value in body.items():
        if name in extra_allowed or name == "@odata.type":
            continue  # Graph accepts the type annotation the SDKs send with every body.
        if name not in writable:
            if name in known:
                raise bad_request(f"Property '{name}' is read-only and cannot be set.")
            raise bad_request(
                f"Property '{name}' does not exist as a declared property or extension property."
            )
        expected = writable[name]
        if value is not None and not isinstance(value, expected):
            raise bad_request(
                f"Invalid value specified for property '{name}' of resource '{resource}'."
            )
        accepted[name] = value
    return accepted


USER_PROPERTIES = frozenset(new_user_record(object_id="", display_name="", upn="x@y", created=""))
"""Every user property the sandbox keeps (what ``$select`` and ``$filter`` may name)."""

GROUP_PROPERTIES = frozenset(new_group_record(object_id="", display_name="", created=""))
"""Every group property the sandbox keeps."""
