"""Links the docs-example replay makes before reading a relationship, so the answer is not empty
where the page shows objects: an owner of the application or service principal, a group nested
in another, an app role assignment of the user or group, a grant for the user, a group holding
the service principal (``docs_replay_tenant.ReplayTenant.prepare`` calls ``make_links``).
"""

from __future__ import annotations

from typing import Any

import httpx

from dirguard_sandbox.directory_state import DirectoryState

NO_ROLE = "00000000-0000-0000-0000-000000000000"


def _ok(answer: httpx.Response) -> Any:
    assert answer.is_success, f"{answer.request.method} {answer.request.url}: {answer.text}"
    return answer.json() if answer.content else None


def _ref(client: httpx.Client, object_id: str) -> dict[str, str]:
    return {"@odata.id": f"{client.base_url}/directoryObjects/{object_id}"}


def _owner(state: DirectoryState, owned_id: str) -> str:
    return next(u for u in state.users if u not in state.owners.get(owned_id, []))


def add_owner(client: httpx.Client, state: DirectoryState, collection: str, owned: str) -> str:
    owner = _owner(state, owned)
    _ok(client.post(f"/{collection}/{owned}/owners/$ref", json=_ref(client, owner)))
    return owner


def _nest(client: httpx.Client, state: DirectoryState, member_id: str) -> None:
    outer = next(g for g in state.groups if g != member_id and member_id not in state.members[g])
    _ok(client.post(f"/groups/{outer}/members/$ref", json=_ref(client, member_id)))


def _assign_app_role(client: httpx.Client, state: DirectoryState, principal_id: str) -> None:
    resource = next(iter(state.service_principals))
    held = {(a["principalId"], a["resourceId"]) for a in state.app_role_assignments.values()}
    if (principal_id, resource) in held:
        return
    body = {"principalId": principal_id, "resourceId": resource, "appRoleId": NO_ROLE}
    _ok(client.post(f"/servicePrincipals/{resource}/appRoleAssignedTo", json=body))


def _grant_for(client: httpx.Client, state: DirectoryState, user_id: str) -> None:
    client_id, resource_id = list(state.service_principals)[:2]
    body = {
        "clientId": client_id,
        "consentType": "Principal",
        "principalId": user_id,
        "resourceId": resource_id,
        "scope": "User.Read",
    }
    _ok(client.post("/oauth2PermissionGrants", json=body))


def make_links(
    client: httpx.Client, state: DirectoryState, template: str, method: str, values: dict[str, str]
) -> None:
    if method != "GET":
        return
    if template == "/applications/{application-id}/owners":
        add_owner(client, state, "applications", values["application-id"])
    elif template == "/servicePrincipals/{servicePrincipal-id}/owners":
        add_owner(client, state, "servicePrincipals", values["servicePrincipal-id"])
    elif template == "/groups/{group-id}/memberOf":
        _nest(client, state, values["group-id"])
    elif template == "/servicePrincipals/{servicePrincipal-id}/memberOf":
        _nest(client, state, values["servicePrincipal-id"])
    elif template == "/users/{user-id}/appRoleAssignments":
        _assign_app_role(client, state, values["user-id"])
    elif template == "/groups/{group-id}/appRoleAssignments":
        _assign_app_role(client, state, values["group-id"])
    elif template == "/users/{user-id}/oauth2PermissionGrants":
        _grant_for(client, state, values["user-id"])
