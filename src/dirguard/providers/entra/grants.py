"""Just-in-time rights in Entra ID: the tenant's elevation application grants dirguard's
application the write permissions and directory roles a rollback needs, and takes them away
afterwards (Entra's :class:`dirguard.providers.base.Grants`).

- A Microsoft Graph **application permission** is an app role assignment of Microsoft Graph's
  service principal to dirguard's service principal ("Grant an appRoleAssignment to a service
  principal", https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignments;
  the elevation app needs AppRoleAssignment.ReadWrite.All and Application.Read.All); it is
  removed by deleting that assignment. An app role assignment has no expiry: the lease dirguard
  records before granting, and the revocation at the next start or by the monitor, bound it.
- A **directory role** is a time-bound active assignment made through Privileged Identity
  Management: ``POST roleManagement/directory/roleAssignmentScheduleRequests`` with action
  ``adminAssign`` and ``scheduleInfo.expiration`` ``afterDuration`` of ``minutes``
  (https://learn.microsoft.com/graph/api/rbacapplication-post-roleassignmentschedulerequests;
  RoleManagement.ReadWrite.Directory), so Entra ends it by itself even when dirguard cannot;
  it is removed early with action ``adminRemove``.

A grant is named as :attr:`Rights.missing_groups` names it: a Graph application permission by
its value (``User.ReadWrite.All``), a directory role by its display name with
:data:`ROLE_SUFFIX` (``Global Administrator (directory role)``).

The ids the elevation stores are ``appRole:<resource service principal id>:<app role id>`` and
``directoryRole:<role definition id>``; the account is dirguard's service principal's object id.
Every Graph error becomes :class:`~dirguard.providers.base.GrantRefused` with Graph's text.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dirguard.catalog.permission_model import Kind
from dirguard.providers.base import GrantRefused
from dirguard.providers.entra.graph_client import GraphClient, GraphError
from dirguard.providers.entra.setup.plan import GRAPH_APP_ID

ROLE_SUFFIX = " (directory role)"
"""Marks a directory role among the grants an elevation is asked for."""
APP_ROLE = "appRole"
DIRECTORY_ROLE = "directoryRole"
JUSTIFICATION = "dirguard just-in-time elevation for a rollback"
_SCHEDULE_REQUESTS = "/roleManagement/directory/roleAssignmentScheduleRequests"


def split_grant(name: str) -> tuple[Kind, str]:
    """(kind, Microsoft's name) of a grant: a directory role when it ends in
    :data:`ROLE_SUFFIX`, else a Graph application permission."""
    if name.endswith(ROLE_SUFFIX):
        return Kind.DIRECTORY_ROLE, name.removesuffix(ROLE_SUFFIX)
    return Kind.GRAPH_APPLICATION, name


class EntraGrants:
    """Grants and removals made as the tenant's elevation application (its Graph client is
    closed on leaving the ``with`` block)."""

    def __init__(self, graph: GraphClient, *, minutes: int = 60) -> None:
        self.graph = graph
        self.minutes = minutes

    def __enter__(self) -> EntraGrants:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.graph.close()

    def locate(self, account: str, group: str) -> tuple[str, str]:
        """(dirguard's service principal id, the grant's id) for the application ``account``
        (its client id) and the grant ``group`` (named as the module docstring says)."""
        try:
            principal = str(self.graph.get(f"/servicePrincipals(appId='{account}')")["id"])
            kind, name = split_grant(group)
            if kind is Kind.DIRECTORY_ROLE:
                for definition in self.graph.pages("/roleManagement/directory/roleDefinitions"):
                    if definition.get("displayName") == name:
                        return principal, f"{DIRECTORY_ROLE}:{definition['id']}"
                raise GrantRefused(f"the tenant has no directory role named {name!r}")
            graph_sp = self.graph.get(f"/servicePrincipals(appId='{GRAPH_APP_ID}')")
            for role in graph_sp.get("appRoles") or []:
                if role.get("value") == name:
                    return principal, f"{APP_ROLE}:{graph_sp['id']}:{role['id']}"
            raise GrantRefused(f"Microsoft Graph offers no application permission {name!r}")
        except GraphError as error:
            raise GrantRefused(str(error)) from None

    def add(self, group_id: str, account_id: str) -> None:
        kind, _, rest = group_id.partition(":")
        try:
            if kind == DIRECTORY_ROLE:
                self.graph.request(
                    "POST",
                    _SCHEDULE_REQUESTS,
                    json={
                        "action": "adminAssign",
                        "principalId": account_id,
                        "roleDefinitionId": rest,
                        "directoryScopeId": "/",
                        "justification": JUSTIFICATION,
                        "scheduleInfo": {
                            "startDateTime": _now(),
                            "expiration": {
                                "type": "afterDuration",
                                "duration": f"PT{self.minutes}M",
                            },
                        },
                    },
                )
                return
            resource, _, app_role = rest.partition(":")
            self.graph.request(
                "POST",
                f"/servicePrincipals/{account_id}/appRoleAssignments",
                json={"principalId": account_id, "resourceId": resource, "appRoleId": app_role},
            )
        except GraphError as error:
            raise GrantRefused(str(error)) from None

    def remove(self, group_id: str, account_id: str) -> bool:
        """Take the grant away; ``False`` when it was no longer there (removed by someone
        else, or a role assignment that expired)."""
        kind, _, rest = group_id.partition(":")
        try:
            if kind == DIRECTORY_ROLE:
                return self._remove_role(rest, account_id)
            resource, _, app_role = rest.partition(":")
            found = [
                a
                for a in self.graph.pages(f"/servicePrincipals/{account_id}/appRoleAssignments")
                if (a.get("resourceId"), a.get("appRoleId")) == (resource, app_role)
            ]
            for assignment in found:
                self.graph.request(
                    "DELETE",
                    f"/servicePrincipals/{account_id}/appRoleAssignments/{assignment['id']}",
                )
            return bool(found)
        except GraphError as error:
            raise GrantRefused(str(error)) from None

    def _remove_role(self, role_id: str, account_id: str) -> bool:
        held = any(
            a.get("principalId") == account_id and a.get("roleDefinitionId") == role_id
            for a in self.graph.pages("/roleManagement/directory/roleAssignments")
        )
        if not held:
            return False
        self.graph.request(
            "POST",
            _SCHEDULE_REQUESTS,
            json={
                "action": "adminRemove",
                "principalId": account_id,
                "roleDefinitionId": role_id,
                "directoryScopeId": "/",
                "justification": JUSTIFICATION,
            },
        )
        return True


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
