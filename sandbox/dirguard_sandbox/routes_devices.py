"""Devices (``/devices``), Intune managed devices (``/deviceManagement/managedDevices`` and
their ``syncDevice``, ``retire`` and ``wipe`` actions), Windows LAPS backups
(``/directory/deviceLocalCredentials/{deviceId}``) and ``users/{id}/revokeSignInSessions``.

As Microsoft's pages describe them (permissions in ``permissions_devices``):
- "Update device": only ``accountEnabled`` (and a few extension attributes) may be written by an
  app; the answer is 204. "Delete device": 204, the device is gone.
- "managedDevice: syncDevice / retire / wipe": 204 No Content; the service then acts on the
  device; the sandbox records it at once (``lastSyncDateTime`` now; ``managementState``
  ``retirePending`` / ``wipePending``). "wipe" takes ``keepEnrollmentData``,
  ``keepUserData``, ``macOsUnlockCode`` and ``persistEsimDataPlan``.
- "Get deviceLocalCredentialInfo": the passwords come only with ``$select=credentials``; the
  request must carry the ``ocp-client-name`` and ``ocp-client-version`` headers (400 without);
  every read of a password is audited ("Recover device local administrator password").
- "user: revokeSignInSessions": resets ``signInSessionsValidFromDateTime`` to now and answers
  ``{"value": true}``; it does not apply to guests, who sign in at home.
"""

from __future__ import annotations

from starlette.responses import Response

from dirguard_sandbox.audit import modified_properties, record_audit, target
from dirguard_sandbox.directory_state import Json, graph_time
from dirguard_sandbox.errors import bad_request, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.identity_answers import entity_answer, require
from dirguard_sandbox.odata_query import list_page, parse_query
from dirguard_sandbox.routes_users import find_user

_WIPE_FIELDS = frozenset(
    {"keepEnrollmentData", "keepUserData", "macOsUnlockCode", "persistEsimDataPlan"}
)


def _audit(
    call: Call,
    activity: str,
    record: Json,
    kind: str,
    changes: list[Json] | None = None,
    category: str = "Device",
) -> None:
    record_audit(
        call.state,
        actor=call.actor,
        activity=activity,
        category=category,
        operation_type="Update",
        targets=[
            {
                "id": record["id"],
                "displayName": record.get("displayName") or record.get("deviceName"),
                "type": kind,
                "userPrincipalName": None,
                "groupType": None,
                "modifiedProperties": changes or [],
            }
        ],
    )


@handles("GET", "/devices")
async def list_devices(call: Call) -> Response:
    known = frozenset(next(iter(call.state.devices.values()), {"id": ""}))
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=known,
        type_name="device",
        orderable=frozenset({"displayName"}),
    )
    body = list_page(
        list(call.state.devices.values()),
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set="devices",
        default_select=None,
    )
    return graph_json(body)


@handles("GET", "/devices/{device-id}")
async def get_device(call: Call) -> Response:
    record = require(call.state.devices, call.param("device_id"))
    return entity_answer(call, record, "devices", type_name="device")


@handles("PATCH", "/devices/{device-id}")
async def update_device(call: Call) -> Response:
    record = require(call.state.devices, call.param("device_id"))
    body = await call.body()
    unknown = sorted(set(body) - {"accountEnabled"})
    if unknown:
        raise bad_request(f"Property '{unknown[0]}' cannot be updated by this request.")
    if not isinstance(body.get("accountEnabled"), bool):
        raise bad_request("Property 'accountEnabled' must be true or false.")
    old = record["accountEnabled"]
    record["accountEnabled"] = body["accountEnabled"]
    _audit(
        call,
        "Update device",
        record,
        "Device",
        modified_properties({"accountEnabled": old}, record, ["accountEnabled"]),
    )
    return no_content()


@handles("DELETE", "/devices/{device-id}")
async def delete_device(call: Call) -> Response:
    record = call.state.devices.pop(call.param("device_id"), None)
    if record is None:
        raise not_found(call.param("device_id"))
    _audit(call, "Delete device", record, "Device")
    return no_content()


_MANAGED_KNOWN = frozenset(
    {
        "id",
        "deviceName",
        "userId",
        "userPrincipalName",
        "operatingSystem",
        "osVersion",
        "azureADDeviceId",
        "managementState",
        "complianceState",
        "managedDeviceOwnerType",
        "enrolledDateTime",
        "lastSyncDateTime",
        "serialNumber",
    }
)


@handles("GET", "/deviceManagement/managedDevices")
async def list_managed_devices(call: Call) -> Response:
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=_MANAGED_KNOWN,
        type_name="managedDevice",
        orderable=frozenset({"deviceName"}),
    )
    body = list_page(
        list(call.state.managed_devices.values()),
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set="deviceManagement/managedDevices",
        default_select=None,
    )
    return graph_json(body)


@handles("GET", "/deviceManagement/managedDevices/{managedDevice-id}")
async def get_managed_device(call: Call) -> Response:
    record = require(call.state.managed_devices, call.param("managedDevice_id"))
    return entity_answer(
        call,
        record,
        "deviceManagement/managedDevices",
        known=_MANAGED_KNOWN,
        type_name="managedDevice",
    )


@handles("DELETE", "/deviceManagement/managedDevices/{managedDevice-id}")
async def delete_managed_device(call: Call) -> Response:
    record = call.state.managed_devices.pop(call.param("managedDevice_id"), None)
    if record is None:
        raise not_found(call.param("managedDevice_id"))
    _audit(call, "Delete managed device", record, "ManagedDevice", category="DeviceManagement")
    return no_content()


async def _device_action(call: Call, activity: str, state: str | None) -> Response:
    record = require(call.state.managed_devices, call.param("managedDevice_id"))
    if state is not None and record["managementState"] in ("retirePending", "wipePending"):
        raise bad_request(f"The device is already {record['managementState']}.")
    old = record["managementState"]
    if state is None:
        record["lastSyncDateTime"] = graph_time(call.state.now())
    else:
        record["managementState"] = state
    changes = (
        []
        if state is None
        else modified_properties({"managementState": old}, record, ["managementState"])
    )
    _audit(call, activity, record, "ManagedDevice", changes, category="DeviceManagement")
    return no_content()


@handles("POST", "/deviceManagement/managedDevices/{managedDevice-id}/syncDevice")
async def sync_device(call: Call) -> Response:
    return await _device_action(call, "Sync device", None)


@handles("POST", "/deviceManagement/managedDevices/{managedDevice-id}/retire")
async def retire_device(call: Call) -> Response:
    return await _device_action(call, "Retire device", "retirePending")


@handles("POST", "/deviceManagement/managedDevices/{managedDevice-id}/wipe")
async def wipe_device(call: Call) -> Response:
    body = await call.body() if await call.request.body() else {}
    unknown = sorted(set(body) - _WIPE_FIELDS)
    if unknown:
        raise bad_request(f"Property '{unknown[0]}' does not exist as a parameter of wipe.")
    return await _device_action(call, "Wipe device", "wipePending")


@handles("GET", "/directory/deviceLocalCredentials/{deviceLocalCredentialInfo-id}")
async def get_local_credentials(call: Call) -> Response:
    for header in ("ocp-client-name", "ocp-client-version"):
        if not call.request.headers.get(header):
            raise bad_request(f"The request header '{header}' is required.")
    record = require(
        call.state.device_local_credentials, call.param("deviceLocalCredentialInfo_id")
    )
    selected = call.request.query_params.get("$select", "")
    answer = {k: v for k, v in record.items() if k != "credentials"}
    if "credentials" in {s.strip() for s in selected.split(",")}:
        answer["credentials"] = record["credentials"]
        _audit(
            call, "Recover device local administrator password", record, "Device", category="Device"
        )
    context = f"{call.graph_base}/$metadata#directory/deviceLocalCredentials/$entity"
    return graph_json({"@odata.context": context, **answer})


@handles("POST", "/users/{user-id}/revokeSignInSessions")
async def revoke_sign_in_sessions(call: Call) -> Response:
    user = find_user(call.state, call.param("user_id"))
    old = user.get("signInSessionsValidFromDateTime")
    user["signInSessionsValidFromDateTime"] = graph_time(call.state.now())
    record_audit(
        call.state,
        actor=call.actor,
        activity="Invalidate all refresh tokens for user",
        category="UserManagement",
        operation_type="Update",
        targets=[
            target(
                call.state,
                user["id"],
                user,
                modified_properties(
                    {"signInSessionsValidFromDateTime": old},
                    user,
                    ["signInSessionsValidFromDateTime"],
                ),
            )
        ],
    )
    context = f"{call.graph_base}/$metadata#Edm.Boolean"
    return graph_json({"@odata.context": context, "value": True})
