"""The ``groups`` and ``roles`` claims of an ID token, as Entra ID issues them.

- ``groups``: only when the app registration's ``groupMembershipClaims`` asks for them
  ("groupMembershipClaims attribute", https://learn.microsoft.com/entra/identity-platform/
  reference-microsoft-graph-app-manifest#groupmembershipclaims-attribute): ``SecurityGroup``
  gives the security groups the user belongs to (transitively), ``All`` every group,
  ``ApplicationGroup`` only the groups assigned to the application. The values are group object
  ids. Past 200 groups a JWT carries no ``groups`` claim but ``_claim_names`` /
  ``_claim_sources`` pointing at Graph instead ("Groups overage claim",
  https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference#groups-overage-claim).
- ``roles``: the ``value`` of each app role of the application assigned to the user, directly
  or through a group ("ID token claims reference", ``roles``,
  https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference#payload-claims;
  "Add app roles and get them from a token",
  https://learn.microsoft.com/entra/identity-platform/howto-add-app-roles-in-apps).
"""

from __future__ import annotations

from typing import Any

from dirguard_sandbox.directory_state import Application, DirectoryState
from dirguard_sandbox.routes_relationships import transitive_groups

GROUPS_IN_JWT = 200
"""A JWT carries at most this many groups; more is the overage case."""


def _assigned_role_ids(state: DirectoryState, app: Application, principals: set[str]) -> set[str]:
    return {
        a["appRoleId"]
        for a in state.app_role_assignments.values()
        if a["resourceId"] == app.service_principal_id and a["principalId"] in principals
    }


def membership_claims(state: DirectoryState, app: Application, user_id: str) -> dict[str, Any]:
    """The ``groups`` (or overage) and ``roles`` claims for ``user_id`` signing in to ``app``."""
    record = state.application_objects.get(app.object_id, {})
    claims: dict[str, Any] = {}
    groups = transitive_groups(state, user_id)
    wanted = record.get("groupMembershipClaims")
    if wanted in ("SecurityGroup", "All", "ApplicationGroup"):
        if wanted == "SecurityGroup":
            chosen = [g for g in groups if state.groups[g].get("securityEnabled")]
        elif wanted == "ApplicationGroup":
            assigned = {
                a["principalId"]
                for a in state.app_role_assignments.values()
                if a["resourceId"] == app.service_principal_id
            }
            chosen = [g for g in groups if g in assigned]
        else:
            chosen = list(groups)
        if len(chosen) > GROUPS_IN_JWT:
            claims["_claim_names"] = {"groups": "src1"}
            claims["_claim_sources"] = {
                "src1": {
                    "endpoint": f"https://graph.microsoft.com/v1.0/users/{user_id}/getMemberObjects"
                }
            }
        else:
            claims["groups"] = chosen
    role_ids = _assigned_role_ids(state, app, {user_id, *groups})
    sp = state.service_principals.get(app.service_principal_id, {})
    defined = [*record.get("appRoles", []), *sp.get("appRoles", [])]
    values = sorted(
        {r["value"] for r in defined if r.get("id") in role_ids and r.get("isEnabled", True)}
    )
    if values:
        claims["roles"] = values
    return claims
