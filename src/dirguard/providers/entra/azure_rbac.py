"""Azure RBAC roles of the connection's service principal at subscription scope (seed 001).

Read and written through Azure Resource Manager's ``Microsoft.Authorization`` provider,
api-version 2022-04-01: ``roleDefinitions`` (built-in role names to ids, per subscription) and
``roleAssignments`` (``$filter=principalId eq '...'`` to read; ``PUT .../roleAssignments/{new
guid}`` to assign; ``DELETE`` to remove). Which roles, per mode, comes from the manifest's
``azure-rbac-role`` rows. The HTTP side is the Graph client's (token, retries, error envelope:
ARM's has the same ``{"error": {"code", "message"}}`` shape) pointed at the ARM URL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azure.core.credentials import TokenCredential

from dirguard.providers.entra.graph_client import GraphClient, GraphError
from dirguard.providers.entra.sign_in import ScopedCredential

API_VERSION = "2022-04-01"
ARM_RESOURCE = "https://management.azure.com"
_PROVIDER = "providers/Microsoft.Authorization"


class RbacError(Exception):
    """Resource Manager refused or failed; names the subscription and ARM's code."""


@dataclass(frozen=True, kw_only=True)
class RbacChange:
    subscription_id: str
    role: str
    change: str
    """``added``, ``removed``, ``kept`` or ``missing`` (checked, not assigned)."""


class ArmRbac:
    """Role definitions and assignments at subscription scope, for one caller."""

    def __init__(self, client: GraphClient, arm_url: str) -> None:
        self.client = client
        self.arm_url = arm_url.rstrip("/")

    @classmethod
    def connect(
        cls,
        credential: TokenCredential,
        *,
        arm_url: str,
        ca_file: Path | None,
        tenant: str,
        delegated: bool,
    ) -> ArmRbac:
        """``delegated``: the signed-in administrator (user_impersonation); else app-only."""
        scope = f"{ARM_RESOURCE}/user_impersonation" if delegated else f"{ARM_RESOURCE}/.default"
        client = GraphClient(
            tenant_id=tenant,
            credential=ScopedCredential(credential, [scope]),
            graph_url=arm_url,
            ca_file=ca_file,
        )
        return cls(client, arm_url)

    def close(self) -> None:
        self.client.close()

    def _url(self, subscription_id: str, rest: str) -> str:
        return f"{self.arm_url}/subscriptions/{subscription_id}/{_PROVIDER}/{rest}"

    def _call(self, subscription_id: str, method: str, rest: str, **kwargs: Any) -> Any:
        params = {"api-version": API_VERSION, **kwargs.pop("params", {})}
        try:
            answer = self.client.request(
                method, self._url(subscription_id, rest), params=params, **kwargs
            )
        except GraphError as exc:
            detail = str(exc).split(": ", 1)[-1]
            raise RbacError(
                f"Azure Resource Manager, subscription {subscription_id}: {detail}"
            ) from None
        return answer.json() if answer.content else None

    def _pages(self, subscription_id: str, rest: str, **params: str) -> list[dict[str, Any]]:
        body = self._call(subscription_id, "GET", rest, params=params)
        items: list[dict[str, Any]] = list(body.get("value", []))
        while body.get("nextLink"):
            body = self.client.request("GET", body["nextLink"]).json()
            items.extend(body.get("value", []))
        return items

    def definitions(self, subscription_id: str) -> dict[str, str]:
        """Role name -> role definition id (the full resource id ARM expects in assignments)."""
        return {
            str(d["properties"]["roleName"]): str(d["id"])
            for d in self._pages(subscription_id, "roleDefinitions")
        }

    def held(self, subscription_id: str, principal_id: str) -> dict[str, str]:
        """Role name -> assignment name, for the principal's assignments at the subscription."""
        names = {
            v.rsplit("/", 1)[-1].lower(): k for k, v in self.definitions(subscription_id).items()
        }
        scope = f"/subscriptions/{subscription_id}"
        held: dict[str, str] = {}
        for item in self._pages(
            subscription_id, "roleAssignments", **{"$filter": f"principalId eq '{principal_id}'"}
        ):
            properties = item["properties"]
            if properties.get("scope") not in (scope, "/"):
                continue
            role = names.get(str(properties["roleDefinitionId"]).rsplit("/", 1)[-1].lower())
            if role is not None:
                held[role] = str(item["name"])
        return held

    def ensure(
        self,
        subscription_id: str,
        principal_id: str,
        roles: Sequence[str],
        *,
        assign: bool,
        remove: Iterable[str] = (),
    ) -> list[RbacChange]:
        """Assign each missing role of ``roles`` (only when ``assign``; else report it missing)
        and remove the held roles named in ``remove``."""
        definitions = self.definitions(subscription_id)
        unknown = [r for r in roles if r not in definitions]
        if unknown:
            raise RbacError(
                f"subscription {subscription_id} has no role definition named "
                f"{', '.join(repr(r) for r in unknown)}"
            )
        held = self.held(subscription_id, principal_id)
        changes: list[RbacChange] = []
        for role in roles:
            if role in held:
                change = "kept"
            elif not assign:
                change = "missing"
            else:
                self._call(
                    subscription_id,
                    "PUT",
                    f"roleAssignments/{uuid.uuid4()}",
                    json={
                        "properties": {
                            "roleDefinitionId": definitions[role],
                            "principalId": principal_id,
                            "principalType": "ServicePrincipal",
                        }
                    },
                )
                change = "added"
            changes.append(RbacChange(subscription_id=subscription_id, role=role, change=change))
        for role in remove:
            if role in held and role not in roles:
                self._call(subscription_id, "DELETE", f"roleAssignments/{held[role]}")
                changes.append(
                    RbacChange(subscription_id=subscription_id, role=role, change="removed")
                )
        return changes


def held_everywhere(
    rbac: ArmRbac, subscriptions: Sequence[str], principal_id: str, warnings: list[str]
) -> set[str]:
    """Roles the principal holds in every subscription; each gap is added to ``warnings``."""
    per_subscription: list[set[str]] = []
    for subscription_id in subscriptions:
        try:
            held = set(rbac.held(subscription_id, principal_id))
        except RbacError as exc:
            warnings.append(f"Azure RBAC roles not read: {exc}")
            held = set()
        per_subscription.append(held)
    if not per_subscription:
        return set()
    everywhere = set.intersection(*per_subscription)
    for subscription_id, held in zip(subscriptions, per_subscription, strict=True):
        partial = sorted(set.union(*per_subscription) - held)
        if partial:
            warnings.append(
                f"subscription {subscription_id} lacks Azure role(s) {', '.join(partial)}"
                " that other subscriptions grant"
            )
    return everywhere
