"""Devices: Entra devices (enable, disable, delete: "Update device", "Delete device"), Intune
managed devices ("managedDevice: syncDevice / retire / wipe", "Delete managedDevice") and the
Windows LAPS password ("Get deviceLocalCredentialInfo" with ``$select=credentials``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dirguard.core.admin_plan import ActionPlan, Edit
from dirguard.core.delegation import Target
from dirguard.providers.entra.admin_actions import EntraActionRefused, EntraActions, GraphCall
from dirguard.providers.entra.admin_planners import Planner

LAPS_HEADERS = {"ocp-client-name": "dirguard", "ocp-client-version": "0.1"}
"""The client headers "Get deviceLocalCredentialInfo" requires."""


def _device(target: Target, action: str, kind: str = "device") -> None:
    if target.object_kind != kind:
        raise EntraActionRefused(
            f"{action} works on {kind}s; {target.path} is a {target.object_kind}"
        )


def _plan_device_enabled(
    actions: EntraActions, target: Target, params: Mapping[str, Any], *, on: bool
) -> ActionPlan:
    action = "entra.device.enable" if on else "entra.device.disable"
    _device(target, action)
    if bool(target.fields.get("accountEnabled")) == on:
        return ActionPlan(
            action=action, path=target.path, notes=(f"already {'enabled' if on else 'disabled'}",)
        )
    call = GraphCall(method="PATCH", path=f"devices/{target.path}", body={"accountEnabled": on})
    edit = Edit(field="accountEnabled", before=(str(not on).lower(),), after=(str(on).lower(),))
    return ActionPlan(action=action, path=target.path, edits=(edit,), calls=(call,))


def _plan_device_delete(
    actions: EntraActions, target: Target, params: Mapping[str, Any]
) -> ActionPlan:
    _device(target, "entra.device.delete")
    return ActionPlan(
        action="entra.device.delete",
        path=target.path,
        delete=True,
        notes=(f"{target.fields.get('displayName')} is deleted from Entra ID",),
        calls=(GraphCall(method="DELETE", path=f"devices/{target.path}"),),
    )


def _managed_action(verb: str) -> Planner:
    def plan(actions: EntraActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
        action = f"entra.managed-device.{verb}"
        _device(target, action, "managed-device")
        base = f"deviceManagement/managedDevices/{target.path}"
        state = str(target.fields.get("managementState"))
        if verb in ("retire", "wipe") and state.endswith("Pending"):
            return ActionPlan(action=action, path=target.path, notes=(f"already {state}",))
        if verb == "delete":
            return ActionPlan(
                action=action,
                path=target.path,
                delete=True,
                calls=(GraphCall(method="DELETE", path=base),),
            )
        body = None
        if verb == "wipe":
            body = {
                "keepUserData": bool(params.get("keep_user_data", False)),
                "keepEnrollmentData": bool(params.get("keep_enrollment_data", False)),
            }
        path = f"{base}/{'syncDevice' if verb == 'sync' else verb}"
        edits: tuple[Edit, ...] = ()
        if verb in ("retire", "wipe"):
            edits = (Edit(field="managementState", before=(state,), after=(f"{verb}Pending",)),)
        name = target.fields.get("deviceName")
        return ActionPlan(
            action=action,
            path=target.path,
            edits=edits,
            notes=(f"{name} of {target.fields.get('userPrincipalName')}",),
            calls=(GraphCall(method="POST", path=path, body=body),),
        )

    return plan


def _plan_laps(actions: EntraActions, target: Target, params: Mapping[str, Any]) -> ActionPlan:
    _device(target, "entra.device.reveal-laps")
    reason = str(params.get("reason") or "").strip()
    if len(reason) < 10:
        raise EntraActionRefused("reason: say why you need the password (10 characters or more)")
    device_id = str(target.fields.get("deviceId") or "")
    call = GraphCall(
        method="GET",
        path=f"directory/deviceLocalCredentials/{device_id}?$select=credentials",
        headers=LAPS_HEADERS,
        reveals="laps",
    )
    return ActionPlan(
        action="entra.device.reveal-laps",
        path=target.path,
        edits=(Edit(field="localAdministratorPassword", before=None, after=None, secret=True),),
        notes=(
            f"reason: {reason}",
            "shown once after you confirm; the read is audited here and in Entra ID",
        ),
        calls=(call,),
    )


DEVICE_PLANNERS: dict[str, Planner] = {
    "entra.device.enable": lambda a, t, p: _plan_device_enabled(a, t, p, on=True),
    "entra.device.disable": lambda a, t, p: _plan_device_enabled(a, t, p, on=False),
    "entra.device.delete": _plan_device_delete,
    "entra.managed-device.sync": _managed_action("sync"),
    "entra.managed-device.retire": _managed_action("retire"),
    "entra.managed-device.wipe": _managed_action("wipe"),
    "entra.managed-device.delete": _managed_action("delete"),
    "entra.device.reveal-laps": _plan_laps,
}
