"""Licenses: ``/subscribedSkus``, ``/users/{id}/licenseDetails`` and ``/users/{id}/assignLicense``.

assignLicense changes the user's ``assignedLicenses`` (so ``$filter`` with
``assignedLicenses/any(...)`` and users delta see it) and answers with the user, as Graph does.
Its errors are Graph's: an SKU the tenant does not subscribe to, a user without a usageLocation,
a subscription without free units, a license the user does not hold, and a license the user only
inherits from a group (group_licensing.py): removing it directly is refused with the message Graph
answers ("User license is inherited from a group membership and it cannot be removed directly
from the user."; Microsoft's "user: assignLicense" page,
https://learn.microsoft.com/graph/api/user-assignlicense, does not print it; it is the message
administrators' scripts test for). Removing a license held both directly and from a group removes
the direct assignment; the inherited one stays.
"""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.audit import modified_properties, record_audit, target
from dirguard_sandbox.directory_state import Json, graph_time
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles
from dirguard_sandbox.group_licensing import assignment_states, direct_state, refresh_user
from dirguard_sandbox.identity_answers import entity_answer, require
from dirguard_sandbox.license_catalog import (
    SKUS_BY_ID,
    consumed_units,
    describe_licenses,
    license_details,
    subscribed_sku_of,
)
from dirguard_sandbox.odata_query import context_url, list_page, parse_query, project
from dirguard_sandbox.resource_rules import USER_DEFAULT_SELECT
from dirguard_sandbox.routes_users import find_user

_SKU_PROPERTIES = frozenset(
    {
        "id",
        "accountId",
        "accountName",
        "appliesTo",
        "capabilityStatus",
        "consumedUnits",
        "prepaidUnits",
        "servicePlans",
        "skuId",
        "skuPartNumber",
        "subscriptionIds",
    }
)
_DETAIL_PROPERTIES = frozenset({"id", "servicePlans", "skuId", "skuPartNumber"})


def _with_usage(call: Call, record: Json) -> Json:
    return {**record, "consumedUnits": consumed_units(call.state, record["skuId"])}


@handles("GET", "/subscribedSkus")
async def list_subscribed_skus(call: Call) -> Response:
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=_SKU_PROPERTIES,
        type_name="subscribedSku",
    )
    records = [_with_usage(call, record) for record in call.state.subscribed_skus.values()]
    body = list_page(
        records,
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set="subscribedSkus",
        default_select=None,
    )
    return graph_json(body)


@handles("GET", "/subscribedSkus/{subscribedSku-id}")
async def get_subscribed_sku(call: Call) -> Response:
    record = require(call.state.subscribed_skus, call.param("subscribedSku_id"))
    return entity_answer(
        call,
        _with_usage(call, record),
        "subscribedSkus",
        known=_SKU_PROPERTIES,
        type_name="subscribedSku",
    )


@handles("GET", "/users/{user-id}/licenseDetails")
async def list_license_details(call: Call) -> Response:
    user = find_user(call.state, call.param("user_id"))
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=_DETAIL_PROPERTIES,
        type_name="licenseDetails",
    )
    records = [
        license_details(user["id"], assigned) for assigned in user.get("assignedLicenses") or []
    ]
    body = list_page(
        records,
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set=f"users('{user['id']}')/licenseDetails",
        default_select=None,
    )
    return graph_json(body)


@handles("GET", "/users/{user-id}/licenseDetails/{licenseDetails-id}")
async def get_license_details(call: Call) -> Response:
    user = find_user(call.state, call.param("user_id"))
    wanted = call.param("licenseDetails_id")
    for assigned in user.get("assignedLicenses") or []:
        record = license_details(user["id"], assigned)
        if record["id"] == wanted:
            entity_set = f"users('{user['id']}')/licenseDetails"
            return graph_json(
                {"@odata.context": context_url(call.graph_base, entity_set, None) + "/$entity"}
                | record
            )
    raise not_found(wanted)


def guid_list(body: Json, name: str) -> list[object]:
    value = body.get(name)
    if name not in body or not isinstance(value, list):
        raise bad_request(
            f"Property '{name}' is required and must be a list (it may be empty).",
        )
    return value


def additions_of(call: Call, body: Json) -> list[Json]:
    """The ``addLicenses`` of an assignLicense body, checked against the tenant's SKUs."""
    additions: list[Json] = []
    for entry in guid_list(body, "addLicenses"):
        if not isinstance(entry, dict) or not isinstance(entry.get("skuId"), str):
            raise bad_request("Each entry of 'addLicenses' needs a 'skuId'.")
        sku_id = entry["skuId"].lower()
        if sku_id not in SKUS_BY_ID or subscribed_sku_of(call.state, sku_id) is None:
            raise bad_request(
                f"License {entry['skuId']} does not correspond to a valid company License."
            )
        disabled = entry.get("disabledPlans") or []
        plans = {plan_id for plan_id, _ in SKUS_BY_ID[sku_id].service_plans}
        if not isinstance(disabled, list) or not all(plan in plans for plan in disabled):
            raise bad_request(
                f"'disabledPlans' of license {sku_id} must list service plan ids of that SKU."
            )
        additions.append({"disabledPlans": [str(plan) for plan in disabled], "skuId": sku_id})
    return additions


def _additions(call: Call, user: Json, body: Json) -> list[Json]:
    additions = additions_of(call, body)
    if additions and not user.get("usageLocation"):
        raise bad_request("License assignment cannot be done for user with invalid usage location.")
    return additions


def _check_units(call: Call, user: Json, additions: list[Json]) -> None:
    held = {assigned["skuId"] for assigned in user.get("assignedLicenses") or []}
    for entry in additions:
        if entry["skuId"] in held:
            continue
        subscribed = subscribed_sku_of(call.state, entry["skuId"])
        assert subscribed is not None  # checked in _additions
        if consumed_units(call.state, entry["skuId"]) >= subscribed["prepaidUnits"]["enabled"]:
            raise bad_request(
                f"Subscription with SKU {entry['skuId']} does not have any available licenses."
            )


@handles("POST", "/users/{user-id}/assignLicense")
async def assign_license(call: Call) -> Response:
    state = call.state
    user = find_user(state, call.param("user_id"))
    body = await call.body()
    unknown = set(body) - {"addLicenses", "removeLicenses"}
    if unknown:
        raise bad_request(
            f"Property '{sorted(unknown)[0]}' does not exist as a parameter of assignLicense."
        )
    additions = _additions(call, user, body)
    removals = [str(sku_id).lower() for sku_id in guid_list(body, "removeLicenses")]
    current: list[Json] = list(user.get("assignedLicenses") or [])
    states = assignment_states(user)
    direct = [entry for entry in states if entry["assignedByGroup"] is None]
    direct_ids = {entry["skuId"] for entry in direct}
    inherited_ids = {entry["skuId"] for entry in states if entry["assignedByGroup"]}
    for sku_id in removals:
        if sku_id in direct_ids:
            continue
        if sku_id in inherited_ids:
            raise bad_request(
                "User license is inherited from a group membership and it cannot be removed "
                "directly from the user."
            )
        raise bad_request(f"User does not have a corresponding license {sku_id}.")
    _check_units(call, user, additions)
    added_ids = {entry["skuId"] for entry in additions}
    when = graph_time(state.now())
    kept = [
        entry
        for entry in direct
        if entry["skuId"] not in removals and entry["skuId"] not in added_ids
    ]
    same = {(e["skuId"], tuple(e["disabledPlans"])): e for e in direct}
    kept += [
        same.get((entry["skuId"], tuple(entry["disabledPlans"])))
        or direct_state(entry, state="Active", when=when)
        for entry in additions
    ]
    refresh_user(state, user["id"], direct=kept)
    updated: list[Json] = user["assignedLicenses"]
    name = "assignedLicense"
    changes = modified_properties(
        {name: describe_licenses(current)}, {name: describe_licenses(updated)}, [name]
    )
    state.bump(user["id"])
    record_audit(
        state,
        actor=call.actor,
        activity="Change user license",
        category="UserManagement",
        operation_type="Update",
        targets=[target(state, user["id"], user, changes)],
    )
    return graph_json(
        {
            "@odata.context": context_url(call.graph_base, "users", None) + "/$entity",
            **project(user, None, USER_DEFAULT_SELECT),
        }
    )
