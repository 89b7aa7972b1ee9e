"""The operations added for recovery fidelity and what each requires (appended to
``permissions_table.ENDPOINTS``, which imports this module last): deleted administrative units,
conditional access ``deletedItems``, and the delta functions of organizational contacts and
delegated permission grants. Least privileged first, as each Microsoft page lists them:

- "List deletedItems" / "Get deleted item" / "Restore deleted item (directory object)"
  (https://learn.microsoft.com/graph/api/directory-deleteditems-list,
  https://learn.microsoft.com/graph/api/directory-deleteditems-restore): administrativeUnit reads
  with AdministrativeUnit.Read.All, restores with AdministrativeUnit.ReadWrite.All;
- "List policyDeletableItem objects", "Restore conditionalAccessPolicy", "Restore namedLocation"
  (https://learn.microsoft.com/graph/api/policydeletableitem-list): as the live policies, read with
  Policy.Read.ConditionalAccess or Policy.Read.All, written with Policy.ReadWrite.ConditionalAccess;
- "orgContact: delta" (https://learn.microsoft.com/graph/api/orgcontact-delta): OrgContact.Read.All,
  Directory.Read.All;
- "oauth2permissiongrant: delta" (https://learn.microsoft.com/graph/api/oauth2permissiongrant-delta):
  Directory.Read.All, DelegatedPermissionGrant.ReadWrite.All.

Templates the OpenAPI path list of ``../shared/reference`` predates (conditional access
``deletedItems`` is only in the v1.0 CSDL) are named in ``CSDL_ONLY_TEMPLATES``.
"""

from __future__ import annotations

from dirguard_sandbox.permissions_table import Endpoint

_UNIT_READ = (
    "AdministrativeUnit.Read.All",
    "Directory.Read.All",
    "AdministrativeUnit.ReadWrite.All",
    "Directory.ReadWrite.All",
)
_CA_READ = (
    "Policy.Read.ConditionalAccess",
    "Policy.Read.All",
    "Policy.ReadWrite.ConditionalAccess",
)
_CA_WRITE = ("Policy.ReadWrite.ConditionalAccess",)
_CA_DELETED = "/identity/conditionalAccess/deletedItems"


def _deleted_policy_rows(collection: str, type_name: str) -> tuple[Endpoint, ...]:
    item = f"{_CA_DELETED}/{collection}/{{{type_name}-id}}"
    return (
        Endpoint(method="GET", template=f"{_CA_DELETED}/{collection}", permissions=_CA_READ),
        Endpoint(method="GET", template=item, permissions=_CA_READ),
        Endpoint(method="POST", template=f"{item}/restore", permissions=_CA_WRITE),
        Endpoint(method="DELETE", template=item, permissions=_CA_WRITE),
    )


_DELETED_READ = (
    "User.Read.All",
    "Group.Read.All",
    "Application.Read.All",
    "AdministrativeUnit.Read.All",
    "Directory.Read.All",
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "Application.ReadWrite.All",
    "AdministrativeUnit.ReadWrite.All",
    "Directory.ReadWrite.All",
)
_CASTS = ("user", "group", "application", "servicePrincipal", "administrativeUnit")

RECOVERY_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        method="GET",
        template="/directory/deletedItems/graph.administrativeUnit",
        permissions=_UNIT_READ,
    ),
    *(
        Endpoint(
            method="GET",
            template=f"/directory/deletedItems/{{directoryObject-id}}/graph.{cast}",
            permissions=_DELETED_READ,
        )
        for cast in _CASTS
    ),
    *_deleted_policy_rows("policies", "conditionalAccessPolicy"),
    *_deleted_policy_rows("namedLocations", "namedLocation"),
    Endpoint(
        method="GET",
        template="/contacts/delta()",
        permissions=("OrgContact.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"),
    ),
    Endpoint(
        method="GET",
        template="/oauth2PermissionGrants/delta()",
        permissions=("Directory.Read.All", "DelegatedPermissionGrant.ReadWrite.All"),
    ),
)

CSDL_ONLY_TEMPLATES = frozenset(
    endpoint.template
    for endpoint in RECOVERY_ENDPOINTS
    if endpoint.template.startswith(_CA_DELETED)
)
"""Real v1.0 paths (``conditionalAccessRoot.deletedItems`` in the CSDL) missing from the older
OpenAPI path list."""
