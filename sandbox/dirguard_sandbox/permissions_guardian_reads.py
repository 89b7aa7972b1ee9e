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
  tokenLifetimePolicies", "List authenticationStrengthPolicies"): Policy.Read.All; "List
  authenticationContextClassReferences": Policy.Read.ConditionalAccess, Policy.Read.All;
- ``devices`` ("List devices", https://learn.microsoft.com/graph/api/device-list) and
  ``groupSettings`` ("List settings", https://learn.microsoft.com/graph/api/group-list-settings):
  Directory.Read.All.
"""

from __future__ import annotations

from dirguard_sandbox.permissions_table import Endpoint

_DIRECTORY = ("Directory.Read.All", "Directory.ReadWrite.All")
_USER = ("User.Read.All", "User.ReadWrite.All", *_DIRECTORY)
_GROUP = ("GroupMember.Read.All", "Group.Read.All", "Group.ReadWrite.All", *_DIRECTORY)
_APP = ("Application.Read.All", "Application.ReadWrite.All", *_DIRECTORY)
_APP_WRITE = ("Application.ReadWrite.All", "Directory.ReadWrite.All")
_ROLE = ("RoleManagement.Read.Directory", "RoleManagement.ReadWrite.Directory", *_DIRECTORY)
_POLICY = ("Policy.Read.All",)
_CA_POLICY = ("Policy.Read.ConditionalAccess", "Policy.Read.All")
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
    _get("/devices", _DIRECTORY),
    _get("/groupSettings", _DIRECTORY),
)
