"""Application rows: registrations (credentials metadata, owners, federated credentials),
service principals (owners), app role assignments and delegated permission grants.

Sources: Microsoft's ``application`` and ``servicePrincipal`` resource pages (``appId``,
``publisherDomain``, ``appOwnerOrganizationId`` are read-only; a service principal's
``appRoles`` and ``oauth2PermissionScopes`` come from its application), ``addPassword`` /
``removePassword`` (a secret is shown once, at creation: history keeps its metadata only),
``servicePrincipal: Grant an appRoleAssignment`` (``POST servicePrincipals/{id}/
appRoleAssignedTo``; assignments are never updated), ``oAuth2PermissionGrant`` (``scope`` is
its only updatable property) and the delta pages of applications, service principals and
grants.
"""

from __future__ import annotations

from dirguard.catalog.graph_rules import (
    GraphCreate,
    GraphLink,
    GraphWrites,
    LinkRead,
    LinkWrite,
    Reference,
    SeparateWrite,
)
from dirguard.catalog.resource_type import GraphSource, ResourceType
from dirguard.providers.entra.consent_audit import assignment_names, grant_names
from dirguard.providers.entra.types.rows import APPS_ROLLBACK, cloud_restore, graph
from dirguard.providers.entra.types.separate_writes import remove_passwords

APPS_READ = ("guardian.entra.applications.monitor",)
PRINCIPALS = ("entra.user", "entra.group", "entra.service_principal")

_SECRETS = (
    SeparateWrite(
        field="passwordCredentials",
        call="POST {item}/removePassword",
        reason="a client secret is shown once, when it is added: one added since is removed "
        "(removePassword with its keyId), one removed cannot be given back",
        build=remove_passwords,
    ),
    SeparateWrite(
        field="keyCredentials",
        call="",
        reason="history keeps a certificate's metadata, not its key, and removeKey needs a "
        "proof signed with one of the application's keys: certificates are changed by their "
        "owner",
    ),
)


def _owners(targets: tuple[str, ...]) -> GraphLink:
    return GraphLink(
        field="owners",
        path="owners",
        read=LinkRead.RELATIONSHIP,
        write=LinkWrite.REF_COLLECTION,
        targets=targets,
    )


APPLICATION = graph(
    key="entra.application",
    title="Entra application registration",
    source=GraphSource(
        collection="applications",
        entity="application",
        collections=frozenset(
            {
                "addIns",
                "appRoles",
                "identifierUris",
                "keyCredentials",
                "passwordCredentials",
                "requiredResourceAccess",
                "tags",
            }
        ),
        delta="applications/delta",
        select=(
            "id",
            "appId",
            "displayName",
            "description",
            "notes",
            "signInAudience",
            "identifierUris",
            "tags",
            "api",
            "web",
            "spa",
            "publicClient",
            "isFallbackPublicClient",
            "requiredResourceAccess",
            "appRoles",
            "optionalClaims",
            "groupMembershipClaims",
            "info",
            "keyCredentials",
            "passwordCredentials",
            "serviceManagementReference",
            "tokenEncryptionKeyId",
            "parentalControlSettings",
            "addIns",
            "createdDateTime",
            "publisherDomain",
            "verifiedPublisher",
            "certification",
            "disabledByMicrosoftStatus",
        ),
        links=(
            _owners(("entra.user", "entra.service_principal")),
            GraphLink(
                field="federatedIdentityCredentials",
                path="federatedIdentityCredentials",
                read=LinkRead.RELATIONSHIP,
                write=LinkWrite.OBJECTS,
            ),
        ),
    ),
    writes=GraphWrites(
        create=GraphCreate(path="applications", requires=("displayName",)),
        separate=_SECRETS,
    ),
    natural_key="displayName",
    read_features=APPS_READ,
    write_features=(APPS_ROLLBACK,),
    restore=cloud_restore(APPS_ROLLBACK, deleted_items=True),
    read_only_fields=frozenset(
        {
            "id",
            "deletedDateTime",
            "appId",
            "createdDateTime",
            "publisherDomain",
            "verifiedPublisher",
            "certification",
            "disabledByMicrosoftStatus",
        }
    ),
    never_written=frozenset({"passwordCredentials", "keyCredentials"}),
    unordered_fields=frozenset(
        {"identifierUris", "tags", "owners", "appRoles", "requiredResourceAccess", "addIns"}
        | {"keyCredentials", "passwordCredentials", "federatedIdentityCredentials"}
    ),
)

SERVICE_PRINCIPAL = graph(
    key="entra.service_principal",
    title="Entra service principal",
    source=GraphSource(
        collection="servicePrincipals",
        entity="servicePrincipal",
        collections=frozenset(
            {
                "alternativeNames",
                "appRoles",
                "keyCredentials",
                "notificationEmailAddresses",
                "oauth2PermissionScopes",
                "passwordCredentials",
                "replyUrls",
                "servicePrincipalNames",
                "tags",
            }
        ),
        delta="servicePrincipals/delta",
        select=(
            "id",
            "appId",
            "displayName",
            "appDisplayName",
            "appOwnerOrganizationId",
            "servicePrincipalType",
            "servicePrincipalNames",
            "alternativeNames",
            "accountEnabled",
            "appRoleAssignmentRequired",
            "description",
            "notes",
            "homepage",
            "loginUrl",
            "logoutUrl",
            "replyUrls",
            "notificationEmailAddresses",
            "preferredSingleSignOnMode",
            "samlSingleSignOnSettings",
            "tags",
            "appRoles",
            "oauth2PermissionScopes",
            "keyCredentials",
            "passwordCredentials",
            "signInAudience",
            "info",
            "verifiedPublisher",
        ),
        links=(_owners(("entra.user", "entra.service_principal")),),
    ),
    writes=GraphWrites(
        create=GraphCreate(path="servicePrincipals", requires=("appId",)),
        separate=_SECRETS,
    ),
    natural_key="displayName",
    read_features=APPS_READ,
    write_features=(APPS_ROLLBACK,),
    restore=cloud_restore(APPS_ROLLBACK, deleted_items=True),
    read_only_fields=frozenset(
        {
            "id",
            "deletedDateTime",
            "appId",
            "appOwnerOrganizationId",
            "appDisplayName",
            "servicePrincipalType",
            "alternativeNames",
            "signInAudience",
            "verifiedPublisher",
        }
    ),
    never_written=frozenset(
        {"appRoles", "oauth2PermissionScopes", "passwordCredentials", "keyCredentials"}
    ),
    unordered_fields=frozenset(
        {"servicePrincipalNames", "tags", "owners", "replyUrls", "notificationEmailAddresses"}
        | {"appRoles", "oauth2PermissionScopes", "keyCredentials", "passwordCredentials"}
        | {"alternativeNames"}
    ),
)

APP_ROLE_ASSIGNMENT = graph(
    key="entra.app_role_assignment",
    title="Entra app role assignment",
    source=GraphSource(
        collection="servicePrincipals/{parent}/appRoleAssignedTo",
        entity="appRoleAssignment",
        parent="entra.service_principal",
        parent_field="resourceId",
        select=(
            "id",
            "appRoleId",
            "principalId",
            "principalType",
            "principalDisplayName",
            "resourceId",
            "resourceDisplayName",
            "createdDateTime",
        ),
    ),
    writes=GraphWrites(
        patch=False,
        create=GraphCreate(
            path="servicePrincipals/{resourceId}/appRoleAssignedTo",
            requires=("principalId", "resourceId", "appRoleId"),
        ),
        references=(
            Reference(path="principalId", targets=PRINCIPALS),
            Reference(path="resourceId", targets=("entra.service_principal",)),
        ),
    ),
    natural_key="principalDisplayName",
    audit_names=assignment_names,
    read_features=APPS_READ,
    write_features=(APPS_ROLLBACK,),
    restore=cloud_restore(APPS_ROLLBACK),
    read_only_fields=frozenset(
        {
            "id",
            "deletedDateTime",
            "principalType",
            "principalDisplayName",
            "resourceDisplayName",
            "createdDateTime",
        }
    ),
)

OAUTH2_PERMISSION_GRANT = graph(
    key="entra.oauth2_permission_grant",
    title="Entra delegated permission grant",
    source=GraphSource(
        collection="oauth2PermissionGrants",
        entity="oAuth2PermissionGrant",
        delta="oauth2PermissionGrants/delta",
        select=("id", "clientId", "consentType", "principalId", "resourceId", "scope"),
    ),
    writes=GraphWrites(
        create=GraphCreate(
            path="oauth2PermissionGrants",
            requires=("clientId", "consentType", "resourceId", "scope"),
        ),
        create_only=frozenset({"clientId", "consentType", "principalId", "resourceId"}),
        references=(
            Reference(path="clientId", targets=("entra.service_principal",)),
            Reference(path="resourceId", targets=("entra.service_principal",)),
            Reference(path="principalId", targets=("entra.user",)),
        ),
    ),
    natural_key="scope",
    audit_names=grant_names,
    read_features=APPS_READ,
    write_features=(APPS_ROLLBACK,),
    restore=cloud_restore(APPS_ROLLBACK),
    read_only_fields=frozenset({"id"}),
    never_written=frozenset({"clientId", "consentType", "principalId", "resourceId"}),
)

APPLICATION_TYPES: tuple[ResourceType, ...] = (
    APPLICATION,
    SERVICE_PRINCIPAL,
    APP_ROLE_ASSIGNMENT,
    OAUTH2_PERMISSION_GRANT,
)
