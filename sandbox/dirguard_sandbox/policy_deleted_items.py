"""``/identity/conditionalAccess/deletedItems``: deleted conditional access policies and named
locations, kept 30 days, listed, read, restored or deleted for good.

Graph v1.0's schema gives ``conditionalAccessRoot`` a ``deletedItems`` navigation
(``caPoliciesDeletableRoot`` with ``policies`` and ``namedLocations``) and binds ``restore`` to
``conditionalAccessPolicy`` and ``namedLocation``. Microsoft's pages: "List policyDeletableItem
objects" (https://learn.microsoft.com/graph/api/policydeletableitem-list), "Restore
conditionalAccessPolicy" (https://learn.microsoft.com/graph/api/conditionalaccesspolicy-restore),
"Restore namedLocation" (https://learn.microsoft.com/graph/api/namedlocation-restore) and
"Permanently delete a policyDeletableItem"
(https://learn.microsoft.com/graph/api/policydeletableitem-delete). A deleted item carries its
``deletedDateTime``; a restore answers 200 with the object as it was deleted (same id, same
``state``, so a policy deleted while on is on again); a permanent delete answers 204.

A restored policy must still be valid: security defaults and an enabled policy exclude each other,
and a policy whose named location is itself deleted is refused until the location is restored.
"""

from __future__ import annotations

import datetime

from starlette.responses import Response

from dirguard_sandbox.audit import record_audit, whole_value_change
from dirguard_sandbox.directory_state import DELETED_RETENTION, DirectoryState, Json, graph_time
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.policy_records import CONDITIONAL_ACCESS, NAMED_LOCATIONS, policies_of

CA_AUDIT_NAME = "ConditionalAccessPolicy"
"""The one modified property a conditional access audit carries (the whole policy as JSON)."""
LOCATION_AUDIT_NAME = "NamedLocation"
DELETED = {
    CONDITIONAL_ACCESS: "deletedConditionalAccessPolicies",
    NAMED_LOCATIONS: "deletedNamedLocations",
}
SECURITY_DEFAULTS_ON = (
    "Security Defaults is enabled in the tenant. You need to disable Security Defaults before "
    "enabling a Conditional Access policy."
)
_DELETED_ROOT = "/identity/conditionalAccess/deletedItems"


def policy_audit(
    call: Call, activity: str, record: Json, changes: list[Json], *, conditional: bool = False
) -> None:
    """A directoryAudit of category ``Policy`` naming the policy (``Conditional Access`` logs
    conditional access and named location changes)."""
    entry = record_audit(
        call.state,
        actor=call.actor,
        activity=activity,
        category="Policy",
        operation_type=activity.split(" ", 1)[0],
        targets=[
            {
                "id": record.get("id") or record.get("tenantId"),
                "displayName": record.get("displayName"),
                "type": "Policy",
                "userPrincipalName": None,
                "groupType": None,
                "modifiedProperties": changes,
            }
        ],
    )
    if conditional:
        entry["loggedByService"] = "Conditional Access"


def security_defaults_on(state: DirectoryState) -> bool:
    return bool(policies_of(state)["identitySecurityDefaultsEnforcementPolicy"]["isEnabled"])


def deleted_of(state: DirectoryState, kind: str) -> dict[str, Json]:
    """The deleted items of ``kind`` still within their 30 days (older ones are dropped)."""
    table: dict[str, Json] = policies_of(state).setdefault(DELETED[kind], {})
    limit = state.now() - DELETED_RETENTION
    for item_id, record in list(table.items()):
        if datetime.datetime.fromisoformat(record["deletedDateTime"]) < limit:
            del table[item_id]
    return table


def soft_delete_policy(state: DirectoryState, kind: str, item_id: str) -> Json:
    """Move a policy or named location to deletedItems, stamped with its deletion time."""
    record: Json = policies_of(state)[kind].pop(item_id)
    deleted_of(state, kind)[item_id] = {**record, "deletedDateTime": graph_time(state.now())}
    return record


_KINDS = {
    "policies": (CONDITIONAL_ACCESS, "conditionalAccessPolicy", CA_AUDIT_NAME),
    "namedLocations": (NAMED_LOCATIONS, "namedLocation", LOCATION_AUDIT_NAME),
}
_NOUNS = {"policies": "conditional access policy", "namedLocations": "named location"}


def _check_restorable(state: DirectoryState, collection: str, record: Json) -> None:
    if collection != "policies":
        return
    if record["state"] == "enabled" and security_defaults_on(state):
        raise bad_request(SECURITY_DEFAULTS_ON, code="BadRequest")
    locations = record["conditions"].get("locations") or {}
    live = policies_of(state)[NAMED_LOCATIONS]
    for location_id in locations.get("includeLocations", []) + locations.get(
        "excludeLocations", []
    ):
        if location_id not in live and location_id not in {"All", "AllTrusted"}:
            raise bad_request(
                f"Named location '{location_id}' used by the policy does not exist; restore "
                "or re-create it first."
            )


def _register(collection: str) -> None:
    kind, type_name, audit_name = _KINDS[collection]
    item = f"{_DELETED_ROOT}/{collection}/{{{type_name}-id}}"
    context = f"identity/conditionalAccess/deletedItems/{collection}"
    noun = _NOUNS[collection]

    def _item(call: Call) -> Json:
        wanted = call.param(f"{type_name}_id")
        record = deleted_of(call.state, kind).get(wanted)
        if record is None:
            raise not_found(wanted)
        return record

    @handles("GET", f"{_DELETED_ROOT}/{collection}")
    async def list_deleted(call: Call) -> Response:
        records = list(deleted_of(call.state, kind).values())
        return graph_json(
            {"@odata.context": f"{call.graph_base}/$metadata#{context}", "value": records}
        )

    @handles("GET", item)
    async def get_deleted(call: Call) -> Response:
        record = _item(call)
        return graph_json(
            {"@odata.context": f"{call.graph_base}/$metadata#{context}/$entity", **record}
        )

    @handles("POST", f"{item}/restore")
    async def restore(call: Call) -> Response:
        state = call.state
        record = _item(call)
        _check_restorable(state, collection, record)
        del deleted_of(state, kind)[record["id"]]
        restored = {name: value for name, value in record.items() if name != "deletedDateTime"}
        policies_of(state)[kind][restored["id"]] = restored
        changes = whole_value_change(audit_name, None, restored)
        policy_audit(call, f"Restore {noun}", restored, changes, conditional=True)
        return graph_json(
            {
                "@odata.context": f"{call.graph_base}/$metadata#microsoft.graph.{type_name}",
                **restored,
            }
        )

    @handles("DELETE", item)
    async def purge(call: Call) -> Response:
        record = _item(call)
        del deleted_of(call.state, kind)[record["id"]]
        changes = whole_value_change(audit_name, record, None)
        policy_audit(call, f"Hard delete {noun}", record, changes, conditional=True)
        return no_content()


for _collection in _KINDS:
    _register(_collection)
