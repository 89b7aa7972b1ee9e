"""Operations the Entra guardian reads (issue 18's route list) and what each requires, appended to
``permissions_table.ENDPOINTS`` (which imports this module last). Each row lists, least
privileged first, the application permissions the sandbox models among those on the operation's
Microsoft page:

- relationships ("List memberOf", "List transitiveMemberOf", "List ownedObjects", "List
  transitive members", "List appRoleAssignments", "List oauth2PermissionGrants",
  https://learn.microsoft.com/graph/api/user-list-transitivememberof and siblings): the read
  permission of the object the path starts at, or Directory.Read.All;
- application and service principal owners ("List owners", "Add owner", "Remove owner",
  https://learn.microsoft.com/graph/api/application-list-owners): Application.Read.All /
  Application.ReadWrite.All, Directory.Read.All / Directory.ReadWrite.All;
- ``federatedIdentityCredentials`` and ``extensionProperties`` of an application
  (https://learn.microsoft.com/graph/api/application-list-federatedidentitycredentials,
  https://learn.microsoft.com/graph/api/application-list-extensionproperty): Application.Read.All;
- scoped role members ("List scopedMembers for a directory role",
  https://learn.microsoft.com/graph/api/directoryrole-list-scopedmembers; "List scopedRoleMembers",
  https://learn.microsoft.com/graph/api/administrativeunit-list-scopedrolemembers):
  RoleManagement.Read.Directory, Directory.Read.All;
- policies ("Get adminConsentRequestPolicy", "List permissionGrantPolicies", "List
  tokenLifetimePolicies", "List authenticationStrengthPolicies", "List
  conditionalAccessTemplates"): Policy.Read.All; "List
  authenticationContextClassReferences": Policy.Read.ConditionalAccess, Policy.Read.All;
- custom security attributes ("List customSecurityAttributeDefinitions", "List attributeSets",
  https://learn.microsoft.com/graph/api/directory-list-customsecurityattributedefinitions):
  CustomSecAttributeDefinition.Read.All, CustomSecAttributeDefinition.ReadWrite.All (Directory
  permissions do not reach them);
- ``directory/onPremisesSynchronization`` ("Get onPremisesDirectorySynchronization",
  https://learn.microsoft.com/graph/api/onpremisesdirectorysynchronization-get):
  OnPremDirectorySynchronization.Read.All, OnPremDirectorySynchronization.ReadWrite.All;
- a group's ``settings`` ("List settings"): Group.Read.All, Directory.Read.All;
- an organizational contact's ``manager`` ("orgContact: Get manager",
  https://learn.microsoft.com/graph/api/orgcontact-get-manager): OrgContact.Read.All,
  Directory.Read.All;
- ``devices`` ("List devices", https://learn.microsoft.com/graph/api/device-list) and
  ``groupSettings`` ("List settings", https://learn.microsoft.com/graph/api/group-list-settings):
  Directory.Read.All.
"""

from __future__ import annotations

from dirguard_sandbox.permissions_table import AppPermission, Endpoint

GUARDIAN_PERMISSIONS: tuple[AppPermission, ...] = (
    AppPermission(
        value="CustomSecAttributeDefinition.Read.All",
        id="b185aa14-d8d2-42c1-a685-0f5596613624",
        display_name="Read custom security attribute definitions",
    ),
    AppPermission(
        value="CustomSecAttributeDefinition.ReadWrite.All",
        id="12338004-21f4-4896-bf5e-b75dfaf1016d",
        display_name="Read and write custom security attribute definitions",
        implies=("CustomSecAttributeDefinition.Read.All",),
    ),
    AppPermission(
        value="OnPremDirectorySynchronization.Read.All",
        id="bb70e231-92dc-4729-aff5-697b3f04be95",
        display_name="Read all on-premises directory synchronization information",
    ),
    AppPermission(
        value="OnPremDirectorySynchronization.ReadWrite.All",
        id="c22a92cc-79bf-4bb1-8b6c-e0a05d3d80ce",
        display_name="Read and write all on-premises directory synchronization information",
        implies=("OnPremDirectorySynchronization.Read.All",),
    ),
)
"""Permissions of the custom security attribute and directory synchronization reads, with the ids
the "Microsoft Graph permissions reference" (https://learn.microsoft.com/graph/permissions-reference)
publishes."""

_DIRECTORY = ("Directory.Read.All", "Directory.ReadWrite.All")
_USER = ("User.Read.All", "User.ReadWrite.All", *_DIRECTORY)
_GROUP = ("GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", *_DIRECTORY)
_APP = ("Application.Read.All", "Application.ReadWrite.All", *_DIRECTORY)
_APP_WRITE = ("Application.ReadWrite.All", "Directory.ReadWrite.All")
_ROLE = ("RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", *_DIRECTORY)
_POLICY = ("Policy.Read.All",)
_CA_POLICY = ("Policy.Read.ConditionalAccess", "Policy.Read.All")
_CUSTOM_ATTRIBUTES = (
    "CustomSecAttributeDefinition.Read.All",
    "CustomSecAttributeDefinition.ReadWrite.All",
)
_SYNC = ("OnPremDirectorySynchronization.Read.All", "OnPremDirectorySynchronization.ReadWrite.All")
_APP_ITEM = "/applications/{application-id}"
_SP_ITEM = "/servicePrincipals/{servicePrincipal-id}"


def _get(template: str, permissions: tuple[str, ...]) -> Endpoint:
    return Endpoint(method="GET", template=template, permissions=permissions)


def _owner_rows(item: str) -> tuple[Endpoint, ...]:
    return (
        _get(f"{item}/owners", _APP),
        Endpoint(method="POST", template=f"{item}/owners/$ref", permissions=_APP_WRITE),
        Endpoint(
            method="DELETE",
            template=f"{item}/owners/{{directoryObject-id}}/$ref",
            permissions=_APP_WRITE,
        ),
    )


GUARDIAN_READ_ENDPOINTS: tuple[Endpoint, ...] = (
    _get("/users/{user-id}/transitiveMemberOf", _USER),
    _get("/users/{user-id}/ownedObjects", _USER),
    _get("/users/{user-id}/appRoleAssignments", _USER),
    _get("/users/{user-id}/oauth2PermissionGrants", _USER),
    _get("/groups/{group-id}/memberOf", _GROUP),
    _get("/groups/{group-id}/transitiveMembers", _GROUP),
    _get("/groups/{group-id}/appRoleAssignments", _GROUP),
    _get(f"{_SP_ITEM}/memberOf", _APP),
    *_owner_rows(_APP_ITEM),
    *_owner_rows(_SP_ITEM),
    _get(f"{_APP_ITEM}/federatedIdentityCredentials", _APP),
    _get(f"{_APP_ITEM}/extensionProperties", _APP),
    _get("/directoryRoles/{directoryRole-id}/scopedMembers", _ROLE),
    _get("/directory/administrativeUnits/{administrativeUnit-id}/scopedRoleMembers", _ROLE),
    _get("/policies/adminConsentRequestPolicy", _POLICY),
    _get("/policies/permissionGrantPolicies", _POLICY),
    _get("/policies/tokenLifetimePolicies", _POLICY),
    _get("/identity/conditionalAccess/authenticationContextClassReferences", _CA_POLICY),
    _get("/identity/conditionalAccess/authenticationStrength/policies", _POLICY),
    _get("/identity/conditionalAccess/templates", _POLICY),
    _get("/contacts/{orgContact-id}/manager", ("OrgContact.Read.All", *_DIRECTORY)),
    _get("/devices", _DIRECTORY),
    _get("/groupSettings", _DIRECTORY),
    _get("/groups/{group-id}/settings", ("Group.Read.All", "Group.ReadWrite.All", *_DIRECTORY)),
    _get("/directory/customSecurityAttributeDefinitions", _CUSTOM_ATTRIBUTES),
    _get("/directory/attributeSets", _CUSTOM_ATTRIBUTES),
    _get("/directory/onPremisesSynchronization", _SYNC),
    _get("/directory/onPremisesSynchronization/{onPremisesDirectorySynchronization-id}", _SYNC),
)
