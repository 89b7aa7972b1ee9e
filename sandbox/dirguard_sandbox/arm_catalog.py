"""Azure built-in role definitions the sandbox's Resource Manager knows, and what they allow.

Ids, names and permissions are those of Microsoft's "Azure built-in roles" page (Owner,
Contributor, Reader, User Access Administrator, Storage Blob Data Contributor); Contributor's
``notActions`` are shortened to the ones about access management, which is all the sandbox
serves. ``allows`` evaluates an action against a role's ``actions``/``notActions`` with ARM's
wildcards (``*``, ``*/read``, ``Microsoft.Authorization/*``).
"""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass, field

from dirguard_sandbox.directory_state import DirectoryState, Json, graph_time

ARM_AUDIENCES = (
    "https://management.azure.com",
    "https://management.azure.com/",
    "https://management.core.windows.net",
    "https://management.core.windows.net/",
)
ARM_SCOPES = frozenset(
    {
        "https://management.azure.com/.default",
        "https://management.azure.com//.default",
        "https://management.core.windows.net/.default",
        "https://management.core.windows.net//.default",
    }
)
"""Client-credential scopes that ask for a Resource Manager token."""
ARM_DELEGATED_PREFIXES = ("https://management.azure.com/", "https://management.core.windows.net/")
OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
_BUILT_IN_DATE = "2015-02-02T21:55:09.8806423Z"


@dataclass(frozen=True, kw_only=True)
class RoleDefinition:
    role_id: str
    name: str
    description: str
    actions: tuple[str, ...]
    not_actions: tuple[str, ...] = ()
    data_actions: tuple[str, ...] = field(default=())


BUILT_IN_RBAC_ROLES: tuple[RoleDefinition, ...] = (
    RoleDefinition(
        role_id=OWNER,
        name="Owner",
        description="Grants full access to manage all resources, including the ability to "
        "assign roles in Azure RBAC.",
        actions=("*",),
    ),
    RoleDefinition(
        role_id="b24988ac-6180-42a0-ab88-20f7382dd24c",
        name="Contributor",
        description="Grants full access to manage all resources, but does not allow you to "
        "assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image "
        "galleries.",
        actions=("*",),
        not_actions=(
            "Microsoft.Authorization/*/Delete",
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/elevateAccess/Action",
        ),
    ),
    RoleDefinition(
        role_id="acdd72a7-3385-48ef-bd42-f606fba81ae7",
        name="Reader",
        description="View all resources, but does not allow you to make any changes.",
        actions=("*/read",),
    ),
    RoleDefinition(
        role_id="18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        name="User Access Administrator",
        description="Lets you manage user access to Azure resources.",
        actions=("*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"),
    ),
    RoleDefinition(
        role_id="ba92f5b4-2d11-453d-a403-e96b0029c9fe",
        name="Storage Blob Data Contributor",
        description="Read, write, and delete Azure Storage containers and blobs.",
        actions=(
            "Microsoft.Storage/storageAccounts/blobServices/containers/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/write",
            "Microsoft.Storage/storageAccounts/blobServices/generateUserDelegationKey/action",
        ),
        data_actions=(
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/delete",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/move/action",
            "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action",
        ),
    ),
)
RBAC_ROLES_BY_ID = {role.role_id: role for role in BUILT_IN_RBAC_ROLES}


def _matches(pattern: str, action: str) -> bool:
    pattern, action = pattern.lower(), action.lower()
    if pattern == "*":
        return True
    if pattern.startswith("*/"):
        return action.endswith(pattern[1:])
    if "*" in pattern:
        head, _, tail = pattern.partition("*")
        return action.startswith(head) and action.endswith(tail)
    return pattern == action


def allows(role: RoleDefinition, action: str) -> bool:
    return any(_matches(p, action) for p in role.actions) and not any(
        _matches(p, action) for p in role.not_actions
    )


def definition_record(role: RoleDefinition, subscription_id: str) -> Json:
    """A ``Microsoft.Authorization/roleDefinitions`` resource as ARM shows it."""
    return {
        "properties": {
            "roleName": role.name,
            "type": "BuiltInRole",
            "description": role.description,
            "assignableScopes": ["/"],
            "permissions": [
                {
                    "actions": list(role.actions),
                    "notActions": list(role.not_actions),
                    "dataActions": list(role.data_actions),
                    "notDataActions": [],
                }
            ],
            "createdOn": _BUILT_IN_DATE,
            "updatedOn": _BUILT_IN_DATE,
            "createdBy": None,
            "updatedBy": None,
        },
        "id": definition_id(subscription_id, role.role_id),
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": role.role_id,
    }


def definition_id(subscription_id: str, role_id: str) -> str:
    provider = f"/subscriptions/{subscription_id}/providers/Microsoft.Authorization"
    return f"{provider}/roleDefinitions/{role_id}"


def assignment_record(
    *,
    scope: str,
    name: str,
    role_definition_id: str,
    principal_id: str,
    principal_type: str,
    by: str | None,
    now: datetime.datetime,
) -> Json:
    """A ``Microsoft.Authorization/roleAssignments`` resource as ARM shows it (2022-04-01)."""
    moment = graph_time(now)
    return {
        "properties": {
            "roleDefinitionId": role_definition_id,
            "principalId": principal_id,
            "principalType": principal_type,
            "scope": scope,
            "condition": None,
            "conditionVersion": None,
            "createdOn": moment,
            "updatedOn": moment,
            "createdBy": by,
            "updatedBy": by,
            "delegatedManagedIdentityResourceId": None,
            "description": None,
        },
        "id": f"{scope}/providers/Microsoft.Authorization/roleAssignments/{name}",
        "type": "Microsoft.Authorization/roleAssignments",
        "name": name,
    }


def add_subscription(state: DirectoryState, display_name: str, owner_id: str) -> str:
    """A subscription of the tenant with ``owner_id`` as its Owner; returns its id."""
    subscription_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{state.tenant_id}/{display_name}"))
    state.subscriptions[subscription_id] = {
        "id": f"/subscriptions/{subscription_id}",
        "subscriptionId": subscription_id,
        "tenantId": state.tenant_id,
        "displayName": display_name,
        "state": "Enabled",
    }
    scope = f"/subscriptions/{subscription_id}"
    name = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{scope}/{owner_id}/owner"))
    record = assignment_record(
        scope=scope,
        name=name,
        role_definition_id=definition_id(subscription_id, OWNER),
        principal_id=owner_id,
        principal_type="User",
        by=None,
        now=state.now(),
    )
    state.rbac_assignments[record["id"]] = record
    return subscription_id
