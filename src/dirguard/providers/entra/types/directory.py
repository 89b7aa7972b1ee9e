"""Directory object rows besides users and groups: organizational contacts, administrative units
(members), domains and custom security attribute definitions.

Sources: Microsoft's ``orgContact`` (list, get, delta; no create or update in v1.0),
``administrativeUnit`` (``members@delta`` in its delta answer; restorable from deleted items),
``domain`` (created only with DNS verification) and ``customSecurityAttributeDefinition``
(never deleted: deprecated through ``status``) pages.
"""

from __future__ import annotations

from dirguard.catalog.graph_rules import (
    GraphCreate,
    GraphLink,
    GraphWrites,
    LinkRead,
    LinkWrite,
)
from dirguard.catalog.resource_type import GraphSource, ResourceType
from dirguard.providers.entra.types.rows import ENTRA_READ, ROLLBACK, cloud_restore, graph
from dirguard.providers.entra.types.users_groups import USER_GROUP_TYPES

ORG_CONTACT = graph(
    key="entra.org_contact",
    title="Entra organizational contact",
    source=GraphSource(
        collection="contacts",
        entity="orgContact",
        collections=frozenset({"addresses", "phones", "proxyAddresses"}),
        delta="contacts/delta",
        select=(
            "id",
            "displayName",
            "givenName",
            "surname",
            "mail",
            "mailNickname",
            "companyName",
            "department",
            "jobTitle",
            "addresses",
            "phones",
            "proxyAddresses",
            "onPremisesSyncEnabled",
            "onPremisesLastSyncDateTime",
        ),
        links=(
            GraphLink(
                field="manager",
                path="manager",
                read=LinkRead.RELATIONSHIP,
                write=LinkWrite.NONE,
                single=True,
                targets=("entra.user", "entra.org_contact"),
                restorable=False,
                reason="Graph v1.0 reads a contact's manager but has no call that sets it",
            ),
        ),
    ),
    writes=GraphWrites(patch=False),
    natural_key="displayName",
    read_features=ENTRA_READ,
    write_features=(ROLLBACK,),
    restore=cloud_restore(
        ROLLBACK,
        recreate=False,
        refusal="is kept for history only: Graph v1.0 cannot create or update organizational "
        "contacts (they come from directory synchronization or Exchange Online)",
    ),
    read_only_fields=frozenset({"id", "onPremisesSyncEnabled"}),
    volatile_fields=frozenset({"onPremisesLastSyncDateTime"}),
    unordered_fields=frozenset({"addresses", "phones", "proxyAddresses"}),
)

ADMINISTRATIVE_UNIT = graph(
    key="entra.administrative_unit",
    title="Entra administrative unit",
    source=GraphSource(
        collection="directory/administrativeUnits",
        entity="administrativeUnit",
        delta="directory/administrativeUnits/delta",
        select=(
            "id",
            "displayName",
            "description",
            "visibility",
            "membershipType",
            "membershipRule",
            "membershipRuleProcessingState",
            "isMemberManagementRestricted",
        ),
        links=(
            GraphLink(
                field="members",
                path="members",
                read=LinkRead.DELTA,
                write=LinkWrite.REF_COLLECTION,
                targets=("entra.user", "entra.group"),
            ),
        ),
    ),
    writes=GraphWrites(
        create=GraphCreate(path="directory/administrativeUnits", requires=("displayName",)),
        create_only=frozenset({"isMemberManagementRestricted"}),
    ),
    natural_key="displayName",
    read_features=ENTRA_READ,
    write_features=(ROLLBACK,),
    restore=cloud_restore(ROLLBACK, deleted_items=True),
    read_only_fields=frozenset({"id", "deletedDateTime"}),
    never_written=frozenset({"isMemberManagementRestricted"}),
    unordered_fields=frozenset({"members"}),
)

DOMAIN = graph(
    key="entra.domain",
    title="Entra domain",
    source=GraphSource(
        collection="domains",
        entity="domain",
        collections=frozenset({"supportedServices"}),
        select=(
            "id",
            "authenticationType",
            "availabilityStatus",
            "isAdminManaged",
            "isDefault",
            "isInitial",
            "isRoot",
            "isVerified",
            "passwordNotificationWindowInDays",
            "passwordValidityPeriodInDays",
            "supportedServices",
            "state",
        ),
    ),
    writes=GraphWrites(),
    natural_key="id",
    read_features=("guardian.entra.domains.monitor",),
    write_features=("guardian.entra.domains.rollback",),
    restore=cloud_restore(
        "guardian.entra.domains.rollback",
        recreate=False,
        refusal="is not created anew by dirguard: a domain is verified by its DNS records, "
        "which only its owner can publish",
    ),
    read_only_fields=frozenset(
        {
            "id",
            "authenticationType",
            "availabilityStatus",
            "isAdminManaged",
            "isInitial",
            "isRoot",
            "isVerified",
            "state",
        }
    ),
    unordered_fields=frozenset({"supportedServices"}),
)

CUSTOM_SECURITY_ATTRIBUTE = graph(
    key="entra.custom_security_attribute_definition",
    title="Entra custom security attribute definition",
    source=GraphSource(
        collection="directory/customSecurityAttributeDefinitions",
        entity="customSecurityAttributeDefinition",
        select=(
            "id",
            "attributeSet",
            "name",
            "description",
            "isCollection",
            "isSearchable",
            "status",
            "type",
            "usePreDefinedValuesOnly",
        ),
        links=(
            GraphLink(
                field="allowedValues",
                path="allowedValues",
                read=LinkRead.RELATIONSHIP,
                write=LinkWrite.OBJECTS,
            ),
        ),
    ),
    writes=GraphWrites(
        create=GraphCreate(
            path="directory/customSecurityAttributeDefinitions",
            requires=("attributeSet", "name", "type", "status", "isCollection", "isSearchable"),
        ),
        delete=False,
        create_only=frozenset({"attributeSet", "name", "type", "isCollection", "isSearchable"}),
    ),
    natural_key="name",
    read_features=("guardian.entra.custom-security-attributes.monitor",),
    write_features=("guardian.entra.custom-security-attributes.rollback",),
    restore=cloud_restore(
        "guardian.entra.custom-security-attributes.rollback",
        delete=False,
        refusal="is never deleted: Graph cannot delete a definition, dirguard sets its status "
        "to Deprecated instead",
    ),
    read_only_fields=frozenset({"id"}),
    never_written=frozenset({"attributeSet", "name", "type", "isCollection", "isSearchable"}),
)

DIRECTORY_TYPES: tuple[ResourceType, ...] = (
    *USER_GROUP_TYPES,
    ORG_CONTACT,
    ADMINISTRATIVE_UNIT,
    DOMAIN,
    CUSTOM_SECURITY_ATTRIBUTE,
)
