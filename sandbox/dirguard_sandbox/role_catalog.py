"""Microsoft Entra built-in directory roles the sandbox knows, with their real template ids.

A role's template id is also its ``unifiedRoleDefinition`` id and the value of the ``wids`` claim
in a signed-in user's token. Ids are those of Microsoft's "Microsoft Entra built-in roles" page.
"""

from __future__ import annotations

from dataclasses import dataclass

from dirguard_sandbox.directory_state import Json

GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
GLOBAL_READER = "f2ef992c-3afb-46b9-b7cf-a126ee74c451"


@dataclass(frozen=True, kw_only=True)
class BuiltInRole:
    """One built-in directory role (a directoryRoleTemplate and a unifiedRoleDefinition)."""

    template_id: str
    display_name: str
    description: str
    privileged: bool = False


BUILT_IN_ROLES: tuple[BuiltInRole, ...] = (
    BuiltInRole(
        template_id=GLOBAL_ADMINISTRATOR,
        display_name="Global Administrator",
        description="Can manage all aspects of Microsoft Entra ID and Microsoft services that use "
        "Microsoft Entra identities.",
        privileged=True,
    ),
    BuiltInRole(
        template_id=GLOBAL_READER,
        display_name="Global Reader",
        description="Can read everything that a Global Administrator can, but not update anything.",
        privileged=True,
    ),
    BuiltInRole(
        template_id="e8611ab8-c189-46e8-94e1-60213ab1f814",
        display_name="Privileged Role Administrator",
        description="Can manage role assignments in Microsoft Entra ID, and all aspects of "
        "Privileged Identity Management.",
        privileged=True,
    ),
    BuiltInRole(
        template_id="fe930be7-5e62-47db-91af-98c3a49a38b1",
        display_name="User Administrator",
        description="Can manage all aspects of users and groups, including resetting passwords "
        "for limited admins.",
        privileged=True,
    ),
    BuiltInRole(
        template_id="9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
        display_name="Application Administrator",
        description="Can create and manage all aspects of app registrations and enterprise apps.",
        privileged=True,
    ),
    BuiltInRole(
        template_id="158c047a-c907-4556-b7ef-446551a6b5f7",
        display_name="Cloud Application Administrator",
        description="Can create and manage all aspects of app registrations and enterprise apps "
        "except App Proxy.",
        privileged=True,
    ),
    BuiltInRole(
        template_id="fdd7a751-b60b-444a-984c-02652fe8fa1c",
        display_name="Groups Administrator",
        description="Members of this role can create/manage groups, create/manage groups "
        "settings like naming and expiration policies, and view groups activity and audit "
        "reports.",
    ),
    BuiltInRole(
        template_id="729827e3-9c14-49f7-bb1b-9608f156bbb8",
        display_name="Helpdesk Administrator",
        description="Can reset passwords for non-administrators and Helpdesk Administrators.",
        privileged=True,
    ),
    BuiltInRole(
        template_id="29232cdf-9323-42fd-ade2-1d097af3e4de",
        display_name="Exchange Administrator",
        description="Can manage all aspects of the Exchange product.",
    ),
    BuiltInRole(
        template_id="194ae4cb-b126-40b2-bd5b-6091b380977d",
        display_name="Security Administrator",
        description="Can read security information and reports, and manage configuration in "
        "Microsoft Entra ID and Office 365.",
        privileged=True,
    ),
    BuiltInRole(
        template_id="5d6b6bb7-de71-4623-b4af-96380a352509",
        display_name="Security Reader",
        description="Can read security information and reports in Microsoft Entra ID and "
        "Office 365.",
        privileged=True,
    ),
    BuiltInRole(
        template_id="8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",
        display_name="Hybrid Identity Administrator",
        description="Can manage Active Directory to Microsoft Entra cloud provisioning, "
        "Microsoft Entra Connect, pass-through authentication (PTA), password hash "
        "synchronization (PHS), seamless single sign-on (seamless SSO), and federation settings.",
        privileged=True,
    ),
    BuiltInRole(
        template_id="88d8e3e3-8f55-4a1e-953a-9b9898b8876b",
        display_name="Directory Readers",
        description="Can read basic directory information. Commonly used to grant directory "
        "read access to applications and guests.",
    ),
    BuiltInRole(
        template_id="c4e39bd9-1100-46d3-8c65-fb160da0071f",
        display_name="Authentication Administrator",
        description="Can access to view, set and reset authentication method information for "
        "any non-admin user.",
        privileged=True,
    ),
    BuiltInRole(
        template_id="7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
        display_name="Privileged Authentication Administrator",
        description="Can access to view, set and reset authentication method information for "
        "any user (admin or non-admin).",
        privileged=True,
    ),
    BuiltInRole(
        template_id="95e79109-95c0-4d8e-aee3-d01accf2d47b",
        display_name="Guest Inviter",
        description="Can invite guest users independent of the 'members can invite guests' "
        "setting.",
    ),
)
ROLES_BY_TEMPLATE = {role.template_id: role for role in BUILT_IN_ROLES}


def role_template_record(role: BuiltInRole) -> Json:
    """The ``directoryRoleTemplate`` entity of a built-in role."""
    return {
        "id": role.template_id,
        "deletedDateTime": None,
        "description": role.description,
        "displayName": role.display_name,
    }


def role_definition_record(role: BuiltInRole) -> Json:
    """The ``unifiedRoleDefinition`` entity of a built-in role (its id is the template id)."""
    return {
        "id": role.template_id,
        "description": role.description,
        "displayName": role.display_name,
        "isBuiltIn": True,
        "isEnabled": True,
        "resourceScopes": ["/"],
        "templateId": role.template_id,
        "version": "1",
        "rolePermissions": [
            {
                "allowedResourceActions": _actions(role),
                "condition": None,
            }
        ],
    }


def _actions(role: BuiltInRole) -> list[str]:
    if role.template_id == GLOBAL_ADMINISTRATOR:
        return ["microsoft.directory/allEntities/allProperties/allTasks"]
    if role.template_id == GLOBAL_READER:
        return ["microsoft.directory/allEntities/allProperties/read"]
    return [f"microsoft.directory/{role.display_name.replace(' ', '')}/allTasks"]
