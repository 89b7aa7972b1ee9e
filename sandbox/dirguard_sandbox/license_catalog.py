"""The licenses a sandbox tenant can subscribe to, with Microsoft's own SKU and service plan ids
(as in "Product names and service plan identifiers for licensing"), and the Graph records built
from them: ``subscribedSku``, ``assignedLicense`` and ``licenseDetails``."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

from dirguard_sandbox.directory_state import DirectoryState, Json


@dataclass(frozen=True, kw_only=True)
class Sku:
    sku_id: str
    part_number: str
    service_plans: tuple[tuple[str, str], ...]
    """(servicePlanId, servicePlanName) pairs."""


CATALOG: tuple[Sku, ...] = (
    Sku(
        sku_id="6fd2c87f-b296-42f0-b197-1e91e994b900",
        part_number="ENTERPRISEPACK",
        service_plans=(
            ("efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE"),
            ("5dbe027f-2339-4123-9542-606e4d348a72", "SHAREPOINTENTERPRISE"),
            ("0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "MCOSTANDARD"),
            ("57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1"),
        ),
    ),
    Sku(
        sku_id="078d2b04-f1bd-4111-bbd4-b4b1b354cef4",
        part_number="AAD_PREMIUM",
        service_plans=(
            ("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM"),
            ("8a256a2b-b617-496d-b51b-e76466e88db0", "MFA_PREMIUM"),
        ),
    ),
    Sku(
        sku_id="84a661c4-e949-4bd2-a560-ed7766fcaf2b",
        part_number="AAD_PREMIUM_P2",
        service_plans=(
            ("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM"),
            ("eec0eb4f-6444-4f95-aba0-50c24d67f998", "AAD_PREMIUM_P2"),
            ("8a256a2b-b617-496d-b51b-e76466e88db0", "MFA_PREMIUM"),
        ),
    ),
)
SKUS_BY_ID = {sku.sku_id: sku for sku in CATALOG}


def subscribed_sku_record(
    state: DirectoryState, sku: Sku, *, units: int, subscription: str
) -> Json:
    """A subscribedSku of the tenant (``consumedUnits`` is filled in when it is read)."""
    return {
        "id": f"{state.tenant_id}_{sku.sku_id}",
        "accountId": state.tenant_id,
        "accountName": str(state.organization.get("displayName") or "Sandbox"),
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": 0,
        "prepaidUnits": {"enabled": units, "lockedOut": 0, "suspended": 0, "warning": 0},
        "servicePlans": [
            {
                "appliesTo": "User",
                "provisioningStatus": "Success",
                "servicePlanId": plan_id,
                "servicePlanName": plan_name,
            }
            for plan_id, plan_name in sku.service_plans
        ],
        "skuId": sku.sku_id,
        "skuPartNumber": sku.part_number,
        "subscriptionIds": [subscription],
    }


def subscribed_sku_of(state: DirectoryState, sku_id: str) -> Json | None:
    for record in state.subscribed_skus.values():
        if record["skuId"] == sku_id:
            return record
    return None


def consumed_units(state: DirectoryState, sku_id: str) -> int:
    return sum(
        1
        for user in state.users.values()
        for assigned in user.get("assignedLicenses") or []
        if assigned["skuId"] == sku_id
    )


def license_details(user_id: str, assigned: Json) -> Json:
    """The licenseDetails Graph shows for one of a user's assignedLicenses."""
    sku = SKUS_BY_ID[assigned["skuId"]]
    disabled = set(assigned.get("disabledPlans") or [])
    raw = uuid.UUID(user_id).bytes + uuid.UUID(sku.sku_id).bytes
    return {
        "id": base64.urlsafe_b64encode(raw).rstrip(b"=").decode(),
        "skuId": sku.sku_id,
        "skuPartNumber": sku.part_number,
        "servicePlans": [
            {
                "appliesTo": "User",
                "provisioningStatus": "Disabled" if plan_id in disabled else "Success",
                "servicePlanId": plan_id,
                "servicePlanName": plan_name,
            }
            for plan_id, plan_name in sku.service_plans
        ],
    }


def describe_licenses(assigned: list[Json]) -> list[str]:
    """How a directoryAudit writes a user's licenses (``[SkuName=..., SkuId=..., ...]``)."""
    described = []
    for entry in assigned:
        sku = SKUS_BY_ID.get(entry["skuId"])
        name = sku.part_number if sku else entry["skuId"]
        plans = ", ".join(entry.get("disabledPlans") or [])
        described.append(f"[SkuName={name}, SkuId={entry['skuId']}, DisabledPlans=[{plans}]]")
    return described
