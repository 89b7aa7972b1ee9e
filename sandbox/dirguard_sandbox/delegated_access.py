"""What a signed-in user's directory roles let a delegated token change.

With a delegated token Graph allows a call only when both the client's consented permission
(``scp``) and the user's own privileges allow it. Members can read the directory (default user
permissions); writes need a directory role whose reach covers the resource. The token's ``wids``
claim names the roles, as Graph reads them. Reads of audit logs need a reader role.
"""

from __future__ import annotations

from dirguard_sandbox.role_catalog import GLOBAL_ADMINISTRATOR, GLOBAL_READER

PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
_CONSENT = ("/oauth2PermissionGrants", "/servicePrincipals/{servicePrincipal-id}/appRole")
_APPS = ("/applications", "/servicePrincipals")

WRITE_REACH: dict[str, tuple[str, ...]] = {
    PRIVILEGED_ROLE_ADMINISTRATOR: ("/directoryRoles", "/roleManagement", *_CONSENT),
    "fe930be7-5e62-47db-91af-98c3a49a38b1": ("/users", "/groups"),  # User Administrator
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": _APPS,  # Application Administrator
    "158c047a-c907-4556-b7ef-446551a6b5f7": _APPS,  # Cloud Application Administrator
    "fdd7a751-b60b-444a-984c-02652fe8fa1c": ("/groups",),  # Groups Administrator
    "729827e3-9c14-49f7-bb1b-9608f156bbb8": ("/users",),  # Helpdesk Administrator
    "194ae4cb-b126-40b2-bd5b-6091b380977d": ("/identity/conditionalAccess", "/policies"),
}
"""Template paths each role may write below (Global Administrator may write everything)."""

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
    consent = template.startswith(_CONSENT)
    for role_id in role_ids:
        reach = WRITE_REACH.get(role_id, ())
        if consent and role_id != PRIVILEGED_ROLE_ADMINISTRATOR:
            continue
        if template.startswith(reach):
            return True
    return False
