"""What a signed-in user's directory roles let a delegated token change.

With a delegated token Graph allows a call only when both the client's consented permission
(``scp``) and the user's own privileges allow it. Members can read the directory (default user
permissions); writes need a directory role whose reach covers the resource. The token's ``wids``
claim names the roles, as Graph reads them. Reads of audit logs need a reader role.

The rules that depend on more than the path are applied by the routes with the functions here:
a user's authentication methods may be changed by an Authentication Administrator only when the
user holds no administrator role (``may_manage_methods_of``), by a Privileged Authentication
Administrator or a Global Administrator for anyone; who may read another user's methods
(``may_read_methods_of``) and per-user MFA state (``may_read_mfa_state_of``); and who may invite
guests is the tenant's ``authorizationPolicy.allowInvitesFrom`` (``may_invite``), a Guest Inviter
always. A signed-in user may always read their own methods and MFA state (the routes check that).
"""

from __future__ import annotations

from dirguard_sandbox.role_catalog import GLOBAL_ADMINISTRATOR, GLOBAL_READER

PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
USER_ADMINISTRATOR = "fe930be7-5e62-47db-91af-98c3a49a38b1"
HELPDESK_ADMINISTRATOR = "729827e3-9c14-49f7-bb1b-9608f156bbb8"
AUTHENTICATION_ADMINISTRATOR = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
PRIVILEGED_AUTHENTICATION_ADMINISTRATOR = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
AUTHENTICATION_POLICY_ADMINISTRATOR = "0526716b-113d-4c15-b2c8-68e3c22b9f80"
GUEST_INVITER = "95e79109-95c0-4d8e-aee3-d01accf2d47b"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
_AUTH_METHODS = "/users/{user-id}/authentication"
_CONSENT = ("/oauth2PermissionGrants", "/servicePrincipals/{servicePrincipal-id}/appRole")
_APPS = ("/applications", "/servicePrincipals")

WRITE_REACH: dict[str, tuple[str, ...]] = {
    PRIVILEGED_ROLE_ADMINISTRATOR: ("/directoryRoles", "/roleManagement", *_CONSENT),
    USER_ADMINISTRATOR: ("/users", "/groups"),
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": _APPS,  # Application Administrator
    "158c047a-c907-4556-b7ef-446551a6b5f7": _APPS,  # Cloud Application Administrator
    "fdd7a751-b60b-444a-984c-02652fe8fa1c": ("/groups",),  # Groups Administrator
    HELPDESK_ADMINISTRATOR: ("/users",),
    AUTHENTICATION_ADMINISTRATOR: (_AUTH_METHODS,),
    PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: (_AUTH_METHODS,),
    "194ae4cb-b126-40b2-bd5b-6091b380977d": ("/identity/conditionalAccess", "/policies"),
}
"""Template paths each role may write below (Global Administrator may write everything).
Authentication methods are written only by the roles whose reach names them, not by ``/users``."""

METHOD_MANAGERS = frozenset(
    {GLOBAL_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR, AUTHENTICATION_ADMINISTRATOR}
)
NON_ADMIN_ROLES = frozenset(
    {
        AUTHENTICATION_ADMINISTRATOR,
        DIRECTORY_READERS,
        GUEST_INVITER,
        HELPDESK_ADMINISTRATOR,
        "4a5d8f65-41da-4de4-8968-e035b65339cf",  # Reports Reader
        "790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b",  # Message Center Reader
        "966707d0-3269-4727-9be2-8c3a10f19b9d",  # Password Administrator
        "75934031-6c7e-415a-99d7-48dbd49e875e",  # Usage Summary Reports Reader
    }
)
"""Roles whose holders an Authentication Administrator may still reset (Microsoft's "who can
reset passwords and authentication methods" table); any other role makes a user an admin."""
METHOD_READERS = frozenset(
    {GLOBAL_ADMINISTRATOR, GLOBAL_READER, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR}
)
"""Roles that read anyone's authentication methods. Source: Microsoft Graph's "List methods" and
each per-kind method page ("Permissions acting on other users", the include
``rbac-authentication-methods-apis-read-others``): Global Reader, Authentication Administrator,
Privileged Authentication Administrator; Global Administrator holds every permission. The
Authentication Administrator is left out here: the Entra built-in roles page says it reads (and
updates) the methods only of the users in "Who can reset passwords" (``NON_ADMIN_ROLES``).
Security Reader and Security Administrator are not listed and may not."""
MFA_STATE_READERS = frozenset(
    {GLOBAL_ADMINISTRATOR, GLOBAL_READER, AUTHENTICATION_POLICY_ADMINISTRATOR}
)
"""Roles that read another user's per-user MFA state. Source: the beta "Get authentication method
states" page, "Permissions to read per-user MFA state" (include
``rbac-authentication-methods-policy-apis-read``): at least Global Reader or Authentication Policy
Administrator."""
INVITERS_BY_POLICY: dict[str, frozenset[str]] = {
    "none": frozenset(),
    "adminsAndGuestInviters": frozenset({GLOBAL_ADMINISTRATOR, USER_ADMINISTRATOR, GUEST_INVITER}),
}
"""``allowInvitesFrom`` values that restrict invitations to role holders; with
``adminsGuestInvitersAndAllMembers`` members may invite too, with ``everyone`` guests as well."""

AUDIT_READERS = frozenset(
    {
        GLOBAL_ADMINISTRATOR,
        GLOBAL_READER,
        "5d6b6bb7-de71-4623-b4af-96380a352509",  # Security Reader
        "194ae4cb-b126-40b2-bd5b-6091b380977d",  # Security Administrator
        "4a5d8f65-41da-4de4-8968-e035b65339cf",  # Reports Reader
    }
)


def user_may(method: str, template: str, role_ids: list[str]) -> bool:
    """Whether a user holding ``role_ids`` may call ``method template`` themselves."""
    if GLOBAL_ADMINISTRATOR in role_ids:
        return True
    if method == "GET":
        return not template.startswith("/auditLogs") or bool(AUDIT_READERS & set(role_ids))
    if template == "/invitations":
        return True  # the tenant's allowInvitesFrom decides (may_invite)
    consent = template.startswith(_CONSENT)
    methods = template.startswith(_AUTH_METHODS)
    for role_id in role_ids:
        reach = WRITE_REACH.get(role_id, ())
        if consent and role_id != PRIVILEGED_ROLE_ADMINISTRATOR:
            continue
        if methods and role_id not in METHOD_MANAGERS:
            continue
        if template.startswith(reach):
            return True
    return False


def may_manage_methods_of(role_ids: list[str], target_role_ids: list[str]) -> bool:
    """Whether a user holding ``role_ids`` may change the authentication methods of a user
    holding ``target_role_ids``."""
    held = set(role_ids)
    if held & {GLOBAL_ADMINISTRATOR, PRIVILEGED_AUTHENTICATION_ADMINISTRATOR}:
        return True
    return AUTHENTICATION_ADMINISTRATOR in held and set(target_role_ids) <= NON_ADMIN_ROLES


def may_read_methods_of(role_ids: list[str], target_role_ids: list[str]) -> bool:
    """Whether a user holding ``role_ids`` may read the authentication methods of another user,
    one holding ``target_role_ids``."""
    held = set(role_ids)
    if held & METHOD_READERS:
        return True
    return AUTHENTICATION_ADMINISTRATOR in held and set(target_role_ids) <= NON_ADMIN_ROLES


def may_read_mfa_state_of(role_ids: list[str]) -> bool:
    """Whether a user holding ``role_ids`` may read another user's per-user MFA state."""
    return bool(MFA_STATE_READERS & set(role_ids))


def may_invite(role_ids: list[str], user_type: str, allow_invites_from: str) -> bool:
    """Whether a signed-in user may invite guests under ``allowInvitesFrom``."""
    if GUEST_INVITER in role_ids and allow_invites_from != "none":
        return True
    restricted = INVITERS_BY_POLICY.get(allow_invites_from)
    if restricted is not None:
        return bool(restricted & set(role_ids))
    if allow_invites_from == "adminsGuestInvitersAndAllMembers":
        admins = INVITERS_BY_POLICY["adminsAndGuestInviters"]
        return user_type == "Member" or bool(admins & set(role_ids))
    return True  # everyone
