"""``POST /groups/{id}/assignLicense``: group-based licensing ("group: assignLicense",
https://learn.microsoft.com/graph/api/group-assignlicense).

The group's ``assignedLicenses`` change and its user members inherit them (group_licensing.py):
their ``assignedLicenses`` and ``licenseAssignmentStates`` (``assignedByGroup`` the group's id)
follow at once; Entra applies them in the background, the sandbox before it answers. The answer
is ``202 Accepted`` with the group, as the page says. A member without a free license gets its
assignment in error (``CountViolation``) instead of the call failing.

The group change is logged as one directoryAudit on the group. Its activity name: Microsoft's
"Scenarios, limitations, and known issues using groups to manage licensing"
(https://learn.microsoft.com/entra/identity/users/licensing-group-advanced) says the audit log
shows who changed a group's licenses and when processing started and finished, but the pages
reachable here do not print the activity's name; the sandbox writes "Set group license" (not
confirmed against a Microsoft page). The per-user changes the background processing makes are
not logged by the sandbox (their activity and initiator are not documented either).
"""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.audit import modified_properties, record_audit, target
from dirguard_sandbox.directory_state import Json
from dirguard_sandbox.errors import bad_request
from dirguard_sandbox.graph_routing import Call, graph_json, handles
from dirguard_sandbox.group_licensing import refresh_members
from dirguard_sandbox.license_catalog import describe_licenses
from dirguard_sandbox.odata_query import context_url
from dirguard_sandbox.routes_groups import find_group
from dirguard_sandbox.routes_licenses import additions_of, guid_list

GROUP_LICENSE_ACTIVITY = "Set group license"


@handles("POST", "/groups/{group-id}/assignLicense")
async def assign_group_license(call: Call) -> Response:
    state = call.state
    group = find_group(state, call.param("group_id"))
    body = await call.body()
    unknown = set(body) - {"addLicenses", "removeLicenses"}
    if unknown:
        raise bad_request(
            f"Property '{sorted(unknown)[0]}' does not exist as a parameter of assignLicense."
        )
    additions = additions_of(call, body)
    removals = [str(sku_id).lower() for sku_id in guid_list(body, "removeLicenses")]
    current: list[Json] = list(group.get("assignedLicenses") or [])
    held = {assigned["skuId"] for assigned in current}
    for sku_id in removals:
        if sku_id not in held:
            raise bad_request(f"Group does not have a corresponding license {sku_id}.")
    added_ids = {entry["skuId"] for entry in additions}
    updated = [
        assigned
        for assigned in current
        if assigned["skuId"] not in removals and assigned["skuId"] not in added_ids
    ]
    updated += additions
    name = "assignedLicense"
    changes = modified_properties(
        {name: describe_licenses(current)}, {name: describe_licenses(updated)}, [name]
    )
    group["assignedLicenses"] = updated
    state.bump(group["id"])
    refresh_members(state, list(state.members.get(group["id"], [])))
    record_audit(
        state,
        actor=call.actor,
        activity=GROUP_LICENSE_ACTIVITY,
        category="GroupManagement",
        operation_type="Update",
        targets=[target(state, group["id"], group, changes)],
    )
    return graph_json(
        {"@odata.context": context_url(call.graph_base, "groups", None) + "/$entity", **group},
        status=202,
    )
