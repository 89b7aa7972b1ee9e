"""User and group rows: users (manager, licenses, authentication methods) and groups (members,
owners; role-assignable; hidden membership).

Sources: Microsoft's ``user`` and ``group`` resource pages for which properties are read-only
and how each is updated; ``user: delta`` / ``group: delta`` for what a delta answer carries
(``members@delta`` for groups; a user's manager is read from ``users/{id}/manager``, 404 when
there is none); ``assignLicense`` for licenses (not PATCHable);
``licenseAssignmentState`` for a user's assignments (``assignedByGroup``: null when direct, the
group's id when inherited — kept in history, read-only); ``group: assignLicense`` for
group-based licensing (a group's change is planned back on the group, which its members
inherit; a user's licences are never planned back as direct assignments from an inherited
change);
``Add members`` / ``Add owners`` (``$ref``) and ``Create group`` (``members@odata.bind``, at
most 20 values).
"""

from __future__ import annotations

from dirguard.catalog.graph_rules import (
    GraphCreate,
    GraphLink,
    GraphWrites,
    LinkRead,
    LinkWrite,
    SeparateWrite,
)
from dirguard.catalog.resource_type import Content, GraphSource, ResourceType
from dirguard.providers.entra.types.rows import (
    ENTRA_READ,
    GROUPS_ROLLBACK,
    ROLLBACK,
    cloud_restore,
    graph,
)
from dirguard.providers.entra.types.separate_writes import assign_licenses, inherited_licences

DIRECTORY_OBJECTS = ("entra.user", "entra.group", "entra.service_principal", "entra.org_contact")
"""What a membership or ownership link can point to."""

ON_PREMISES_READ_ONLY = frozenset(
    {
        "onPremisesSyncEnabled",
        "onPremisesSecurityIdentifier",
        "onPremisesSamAccountName",
        "onPremisesDomainName",
        "onPremisesUserPrincipalName",
        "onPremisesDistinguishedName",
        "onPremisesProvisioningErrors",
    }
)
"""Written by directory synchronization only."""

_USER_SELECT = (
    "id",
    "userPrincipalName",
    "displayName",
    "givenName",
    "surname",
    "mail",
    "mailNickname",
    "otherMails",
    "proxyAddresses",
    "accountEnabled",
    "userType",
    "jobTitle",
    "department",
    "companyName",
    "officeLocation",
    "employeeId",
    "employeeType",
    "businessPhones",
    "mobilePhone",
    "faxNumber",
    "streetAddress",
    "city",
    "state",
    "postalCode",
    "country",
    "usageLocation",
    "preferredLanguage",
    "ageGroup",
    "consentProvidedForMinor",
    "identities",
    "passwordPolicies",
    "assignedLicenses",
    "licenseAssignmentStates",
    "createdDateTime",
    "creationType",
    "externalUserState",
    "externalUserStateChangeDateTime",
    "lastPasswordChangeDateTime",
    "signInSessionsValidFromDateTime",
    "securityIdentifier",
    "onPremisesImmutableId",
    "onPremisesExtensionAttributes",
    "onPremisesLastSyncDateTime",
    *sorted(ON_PREMISES_READ_ONLY - {"onPremisesDistinguishedName"}),
)


def _static_membership(content: Content) -> bool:
    """Members of a dynamic group follow its rule: Graph refuses writing them."""
    return "DynamicMembership" not in (content.get("groupTypes") or ())


USER = graph(
    key="entra.user",
    title="Entra user",
    source=GraphSource(
        collection="users",
        entity="user",
        collections=frozenset(
            {
                "assignedLicenses",
                "businessPhones",
                "identities",
                "licenseAssignmentStates",
                "onPremisesProvisioningErrors",
                "otherMails",
                "proxyAddresses",
            }
        ),
        delta="users/delta",
        select=_USER_SELECT,
        links=(
            GraphLink(
                field="manager",
                path="manager",
                read=LinkRead.RELATIONSHIP,
                write=LinkWrite.REF_SINGLE,
                single=True,
                targets=("entra.user", "entra.org_contact"),
            ),
            GraphLink(
                field="authentication/methods",
                path="authentication/methods",
                read=LinkRead.RELATIONSHIP,
                write=LinkWrite.OBJECTS,
                restorable=False,
                reason="a method's secret (authenticator registration, FIDO2 key, password) is "
                "never readable, so a removed method is registered again by its user",
            ),
        ),
    ),
    writes=GraphWrites(
        create=GraphCreate(
            path="users",
            requires=("accountEnabled", "displayName", "mailNickname", "userPrincipalName"),
            generated=("passwordProfile",),
        ),
        separate=(
            SeparateWrite(
                field="assignedLicenses",
                call="POST {item}/assignLicense",
                reason="licenses are added and removed with assignLicense (addLicenses, "
                "removeLicenses), never PATCHed",
                build=assign_licenses,
                held_elsewhere=inherited_licences,
            ),
            SeparateWrite(
                field="passwordProfile",
                call="",
                reason="a password is never readable, so never restored; a re-created user "
                "gets a new one it must change at next sign-in",
            ),
        ),
        on_premises_mastered=frozenset(
            {"displayName", "givenName", "surname", "userPrincipalName", "mail", "jobTitle"}
            | {"department", "companyName", "businessPhones", "mobilePhone", "accountEnabled"}
            | {"onPremisesImmutableId", "onPremisesExtensionAttributes", "employeeId"}
        ),
    ),
    natural_key="userPrincipalName",
    read_features=(*ENTRA_READ, "guardian.entra.authentication-methods.monitor"),
    write_features=(ROLLBACK, "administrator.web-actions.users"),
    restore=cloud_restore(ROLLBACK, deleted_items=True),
    read_only_fields=frozenset(
        {
            "id",
            "deletedDateTime",
            "createdDateTime",
            "creationType",
            "externalUserState",
            "externalUserStateChangeDateTime",
            "lastPasswordChangeDateTime",
            "signInSessionsValidFromDateTime",
            "securityIdentifier",
            "proxyAddresses",
            "licenseAssignmentStates",
        }
        | ON_PREMISES_READ_ONLY
    ),
    never_written=frozenset({"assignedLicenses", "passwordProfile"}),
    volatile_fields=frozenset({"signInActivity", "onPremisesLastSyncDateTime"}),
    unordered_fields=frozenset(
        {"businessPhones", "otherMails", "proxyAddresses", "identities", "assignedLicenses"}
        | {"licenseAssignmentStates"}
    ),
)

GROUP = graph(
    key="entra.group",
    title="Entra group",
    source=GraphSource(
        collection="groups",
        entity="group",
        collections=frozenset(
            {
                "assignedLicenses",
                "groupTypes",
                "proxyAddresses",
                "resourceBehaviorOptions",
                "resourceProvisioningOptions",
            }
        ),
        delta="groups/delta",
        select=(
            "id",
            "displayName",
            "description",
            "mail",
            "mailEnabled",
            "mailNickname",
            "securityEnabled",
            "groupTypes",
            "visibility",
            "isAssignableToRole",
            "membershipRule",
            "membershipRuleProcessingState",
            "classification",
            "preferredDataLocation",
            "resourceBehaviorOptions",
            "resourceProvisioningOptions",
            "proxyAddresses",
            "assignedLicenses",
            "createdDateTime",
            "renewedDateTime",
            "expirationDateTime",
            "securityIdentifier",
            "onPremisesSyncEnabled",
            "onPremisesSecurityIdentifier",
            "onPremisesSamAccountName",
            "onPremisesDomainName",
            "onPremisesLastSyncDateTime",
        ),
        links=(
            GraphLink(
                field="members",
                path="members",
                read=LinkRead.DELTA,
                write=LinkWrite.REF_COLLECTION,
                targets=DIRECTORY_OBJECTS,
                bind_on_create=True,
                writable_when=_static_membership,
                reason="a dynamic group's members follow its rule (Graph refuses writing them); "
                "a group with hidden membership (visibility HiddenMembership) lists them only "
                "to a reader holding Member.Read.Hidden",
            ),
            GraphLink(
                field="owners",
                path="owners",
                read=LinkRead.RELATIONSHIP,
                write=LinkWrite.REF_COLLECTION,
                targets=("entra.user", "entra.service_principal"),
                bind_on_create=True,
            ),
        ),
    ),
    writes=GraphWrites(
        create=GraphCreate(
            path="groups",
            requires=("displayName", "mailEnabled", "mailNickname", "securityEnabled"),
        ),
        create_only=frozenset({"isAssignableToRole", "resourceBehaviorOptions"}),
        separate=(
            SeparateWrite(
                field="assignedLicenses",
                call="POST {item}/assignLicense",
                reason="group-based licenses are written with assignLicense, never PATCHed",
                build=assign_licenses,
                undo_changes=True,
            ),
        ),
        on_premises_mastered=frozenset(
            {"displayName", "description", "mail", "mailEnabled", "mailNickname", "members"}
        ),
    ),
    natural_key="displayName",
    read_features=(*ENTRA_READ, "guardian.entra.groups.monitor"),
    write_features=(GROUPS_ROLLBACK, "administrator.web-actions.groups"),
    restore=cloud_restore(GROUPS_ROLLBACK, deleted_items=True),
    read_only_fields=frozenset(
        {
            "id",
            "deletedDateTime",
            "createdDateTime",
            "securityIdentifier",
            "mail",
            "proxyAddresses",
            "membershipRuleProcessingState",
            "resourceProvisioningOptions",
            "onPremisesSyncEnabled",
            "onPremisesSecurityIdentifier",
            "onPremisesSamAccountName",
            "onPremisesDomainName",
        }
    ),
    never_written=frozenset({"assignedLicenses", "isAssignableToRole", "resourceBehaviorOptions"}),
    volatile_fields=frozenset(
        {"renewedDateTime", "expirationDateTime", "onPremisesLastSyncDateTime"}
    ),
    unordered_fields=frozenset(
        {
            "groupTypes",
            "proxyAddresses",
            "members",
            "owners",
            "assignedLicenses",
            "resourceBehaviorOptions",
            "resourceProvisioningOptions",
        }
    ),
)

USER_GROUP_TYPES: tuple[ResourceType, ...] = (USER, GROUP)
