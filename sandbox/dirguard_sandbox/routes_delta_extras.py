"""The delta functions of organizational contacts and delegated permission grants, on the same
change sequence as every other delta (``delta.py``).

- "orgContact: delta" (https://learn.microsoft.com/graph/api/orgcontact-delta):
  ``GET /contacts/delta``, ``$select`` honoured, ``@odata.nextLink`` then ``@odata.deltaLink``;
- "oauth2permissiongrant: delta" (https://learn.microsoft.com/graph/api/oauth2permissiongrant-delta):
  ``GET /oauth2PermissionGrants/delta``; a revoked grant comes back as ``@removed`` with reason
  ``deleted`` (grants are not soft deleted).
"""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.delta import delta_response
from dirguard_sandbox.graph_routing import Call, graph_json, handles
from dirguard_sandbox.routes_consent import GRANT_TEMPLATE
from dirguard_sandbox.routes_contacts_invitations import CONTACT_PROPERTIES


@handles("GET", "/contacts/delta()")
async def contacts_delta(call: Call) -> Response:
    body = delta_response(
        call,
        "contacts",
        known=CONTACT_PROPERTIES,
        default_select=None,
        type_name="orgContact",
    )
    return graph_json(body)


@handles("GET", "/oauth2PermissionGrants/delta()")
async def grants_delta(call: Call) -> Response:
    body = delta_response(
        call,
        "oauth2PermissionGrants",
        known=frozenset(GRANT_TEMPLATE),
        default_select=None,
        type_name="oAuth2PermissionGrant",
    )
    return graph_json(body)
