"""The Administrator's Entra ID / Microsoft 365 web actions over Microsoft Graph, as the
tenant's Administrator API Access application.

As for AD (``providers/ad/admin_actions.py``): :meth:`EntraActions.plan` reads the object as
Graph shows it now and says what would change; :meth:`EntraActions.perform` sends the plan's
Graph requests in order. The planners themselves are in :mod:`.admin_planners`. Request bodies
may hold a password; the Graph client logs paths only, and nothing here logs a body.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dirguard.core.admin_plan import ActionPlan, Performed
from dirguard.core.delegation import Target
from dirguard.providers.base import SourceError
from dirguard.providers.entra.graph_client import GraphClient, GraphError

USER_SELECT = (
    "id,userPrincipalName,displayName,givenName,surname,mail,department,jobTitle,companyName,"
    "officeLocation,mobilePhone,businessPhones,usageLocation,accountEnabled,userType,"
    "assignedLicenses,externalUserState,onPremisesSyncEnabled"
)
DEVICE_SELECT = (
    "id,deviceId,displayName,accountEnabled,operatingSystem,operatingSystemVersion,trustType,"
    "isCompliant,isManaged"
)
MANAGED_SELECT = (
    "id,deviceName,userId,userPrincipalName,operatingSystem,osVersion,azureADDeviceId,"
    "managementState,complianceState"
)
GROUP_SELECT = (
    "id,displayName,description,mail,mailNickname,groupTypes,securityEnabled,mailEnabled,"
    "isAssignableToRole,visibility"
)


@dataclass(frozen=True, kw_only=True)
class GraphCall:
    """One Graph request of a plan."""

    method: str
    path: str
    body: Mapping[str, Any] | None = None
    api_version: str = "v1.0"
    reveals: str | None = None
    """What secret of the answer is shown to the operator once: ``temporaryAccessPass``, or
    ``laps`` (the first backed-up credential, decoded)."""
    headers: Mapping[str, str] | None = None


class EntraActionRefused(SourceError):
    """The request cannot be carried out as asked; the message names the field or the object."""


def _quoted(text: str) -> str:
    """``text`` inside an OData string literal (quotes doubled)."""
    return text.strip().replace("'", "''")


def _is_guid(text: str) -> bool:
    parts = text.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(
        c in "0123456789abcdefABCDEF" for c in text.replace("-", "")
    )


class EntraActions:
    """Web actions on one tenant."""

    def __init__(self, graph: GraphClient, *, source: str) -> None:
        self.graph = graph
        self.source = source

    # ---- reading ------------------------------------------------------------------------------

    def get(self, path: str, **params: str) -> dict[str, Any] | None:
        try:
            return self.graph.get(path, **params)
        except GraphError as error:
            if error.status == 404:
                return None
            raise self.failure(error) from None

    def collect(
        self, path: str, *, api_version: str = "v1.0", **params: str
    ) -> list[dict[str, Any]]:
        try:
            return list(self.graph.pages(path, api_version=api_version, **params))
        except GraphError as error:
            raise self.failure(error) from None

    def failure(self, error: GraphError) -> SourceError:
        refused = error.status in (401, 403)
        return SourceError(f"{self.source}: {error}", refused=refused)

    def find(self, ref: str) -> Target:
        """The user (by id or UPN), group, device or Intune managed device (by id) named, as
        Graph shows it now, with the administrative units it belongs to (a managed device: its
        primary user's, as Intune scopes a device by its user)."""
        ref = ref.strip()
        if not ref or "/" in ref or "?" in ref or "#" in ref:
            raise EntraActionRefused(f"{ref!r} is not a user id, UPN or group id")
        user = self.get(f"users/{ref}", **{"$select": USER_SELECT})
        if user is not None:
            return self._target("user", user)
        if _is_guid(ref):
            group = self.get(f"groups/{ref}", **{"$select": GROUP_SELECT})
            if group is not None:
                return self._target("group", group)
            device = self.get(f"devices/{ref}", **{"$select": DEVICE_SELECT})
            if device is not None:
                return self._device(device)
            managed = self.get(
                f"deviceManagement/managedDevices/{ref}", **{"$select": MANAGED_SELECT}
            )
            if managed is not None:
                return self._managed(managed)
        raise EntraActionRefused(f"no user or group {ref!r} in {self.source}")

    def _target(self, kind: str, record: dict[str, Any]) -> Target:
        collection = "users" if kind == "user" else "groups"
        units = frozenset(
            str(item["id"])
            for item in self.collect(f"{collection}/{record['id']}/memberOf")
            if item.get("@odata.type") == "#microsoft.graph.administrativeUnit"
        )
        fields = {k: v for k, v in record.items() if not k.startswith("@odata")}
        return Target(
            source=self.source,
            directory="entra",
            object_kind=kind,
            path=str(record["id"]),
            fields=fields,
            admin_units=units,
        )

    def _plain(
        self, kind: str, record: dict[str, Any], units: frozenset[str] = frozenset()
    ) -> Target:
        fields = {k: v for k, v in record.items() if not k.startswith("@odata")}
        return Target(
            source=self.source,
            directory="entra",
            object_kind=kind,
            path=str(record["id"]),
            fields=fields,
            admin_units=units,
        )

    def _device(self, record: dict[str, Any]) -> Target:
        """An Entra device, in the scopes of its Intune primary user (when Intune manages it)."""
        target = self._plain("device", record)
        device_id = str(record.get("deviceId") or "").replace("'", "")
        if not device_id:
            return target
        managed = self.collect(
            "deviceManagement/managedDevices", **{"$filter": f"azureADDeviceId eq '{device_id}'"}
        )
        if not managed:
            return target
        owner = self._managed(managed[0])
        fields = {**owner.fields, **target.fields}
        return Target(
            source=self.source,
            directory="entra",
            object_kind="device",
            path=target.path,
            fields=fields,
            admin_units=owner.admin_units,
        )

    def _managed(self, record: dict[str, Any]) -> Target:
        units: frozenset[str] = frozenset()
        owner_fields: dict[str, Any] = {}
        if record.get("userId"):
            owner = self.get(f"users/{record['userId']}", **{"$select": USER_SELECT})
            if owner is not None:
                holder = self._target("user", owner)
                units, owner_fields = holder.admin_units, dict(holder.fields)
        target = self._plain("managed-device", record, units)
        # A virtual admin unit on the user's department holds the user's devices too.
        merged = {**{k: v for k, v in owner_fields.items() if k != "id"}, **target.fields}
        return Target(
            source=target.source,
            directory="entra",
            object_kind="managed-device",
            path=target.path,
            fields=merged,
            admin_units=units,
        )

    def container(
        self, where: str, params: Mapping[str, Any] | None = None, action: str = ""
    ) -> Target:
        """Where a new user goes, for the scope check: the tenant (``where`` empty or ``-``) or
        an administrative unit (its id), with the new user's own fields (a virtual admin unit
        on ``department`` holds a new user whose department it names; an invited user is a
        ``Guest``)."""
        where = where.strip()
        units: frozenset[str] = frozenset()
        if where and where != "-":
            unit = self.get(f"directory/administrativeUnits/{where}")
            if unit is None:
                raise EntraActionRefused(f"no administrative unit {where!r} in {self.source}")
            units = frozenset({str(unit["id"])})
        fields = {k: v for k, v in (params or {}).items() if k not in ("password",)}
        if action.endswith(".invite"):
            fields.update(userType="Guest", mail=fields.get("email"))
        return Target(
            source=self.source,
            directory="entra",
            object_kind="user",
            path=where or "-",
            fields=fields,
            admin_units=units,
        )

    def search(self, kind: str, text: str = "") -> list[Target]:
        """Users, groups, devices or Intune managed devices whose name starts with ``text``
        (every one when empty). A device brings its primary user's scopes, read per device:
        fine for a help desk's page, not meant for a tenant-wide report."""
        if kind == "managed-device":
            params = {"$select": MANAGED_SELECT}
            if text.strip():
                params["$filter"] = f"startswith(deviceName,'{_quoted(text)}')"
            found = self.collect("deviceManagement/managedDevices", **params)
            return [self._managed(record) for record in found]
        tables = {
            "user": ("users", USER_SELECT),
            "group": ("groups", GROUP_SELECT),
            "device": ("devices", DEVICE_SELECT),
        }
        if kind not in tables:
            raise EntraActionRefused(
                f"kind: {kind!r} is not one of {', '.join(tables)}, managed-device"
            )
        collection, select = tables[kind]
        params = {"$select": select}
        if text.strip():
            params["$filter"] = f"startswith(displayName,'{_quoted(text)}')"
        records = self.collect(collection, **params)
        if kind == "device":
            return [self._device(record) for record in records]
        return [self._target(kind, record) for record in records]

    # ---- planning and writing -----------------------------------------------------------------

    def plan(self, action: str, target: Target, params: Mapping[str, Any]) -> ActionPlan:
        from dirguard.providers.entra.admin_planners import planners

        planner = planners().get(action)
        if planner is None:
            raise EntraActionRefused(f"{action!r} is not an Entra web action here")
        return planner(self, target, params)

    def perform(self, plan: ActionPlan) -> Performed:
        """Send the plan's requests in order; ``{id}`` in a later path is the id the first
        request created (a new user's)."""
        created: str | None = None
        revealed: str | None = None
        for call in plan.calls:
            assert isinstance(call, GraphCall)
            path = call.path.replace("{id}", created or plan.path)
            body = _with_created(call.body, created)
            try:
                answer = self.graph.request(
                    call.method,
                    path,
                    api_version=call.api_version,
                    headers=call.headers,
                    json=body if body is not None else None,
                )
            except GraphError as error:
                done = "" if call is plan.calls[0] else " (the requests before it were made)"
                raise SourceError(
                    f"{self.source}: {call.method} {path}: {error}{done}",
                    refused=error.status in (401, 403),
                ) from None
            data = answer.json() if answer.content else {}
            if (
                created is None
                and call.method == "POST"
                and plan.action.endswith((".create", ".invite"))
            ):
                created = str((data.get("invitedUser") or data).get("id") or "") or None
            if call.reveals:
                revealed = _revealed(call.reveals, data)
        return Performed(path=created or plan.path, revealed=revealed)


def _revealed(kind: str, data: Mapping[str, Any]) -> str | None:
    if kind == "laps":
        credentials = data.get("credentials") or []
        if not credentials:
            return None
        first = credentials[0]
        password = base64.b64decode(str(first.get("passwordBase64") or "")).decode("utf-8")
        return f"{first.get('accountName')}: {password}"
    return str(data.get(kind) or "") or None


def _with_created(body: Mapping[str, Any] | None, created: str | None) -> Any:
    if body is None or created is None:
        return body
    return {
        key: value.replace("{id}", created) if isinstance(value, str) else value
        for key, value in body.items()
    }
