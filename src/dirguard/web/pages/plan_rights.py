"""The plan preview's "rights or elevation it needs", said for the plan's kind of source: for an
AD domain the groups and rights, for an Entra tenant the Microsoft Graph application permissions
(any one of each line, as Microsoft's API pages list them for the writes) and, in read-only mode
with just-in-time elevation, exactly what the elevation application grants — each Graph
permission as an app role assignment to dirguard's application, each directory role as an active
Privileged Identity Management assignment with its expiry — and that it is removed afterwards."""

from __future__ import annotations

from dataclasses import dataclass

from dirguard.providers.entra.grants import ROLE_SUFFIX
from dirguard.providers.entra.rights import EntraRights
from dirguard.services.rollback.guarded_apply import CheckResult
from dirguard.services.runtime import Runtime


@dataclass(frozen=True, kw_only=True)
class PlanRights:
    needs_title: str
    needs: tuple[str, ...]
    grants: tuple[str, ...]


def plan_rights(runtime: Runtime, check: CheckResult | None) -> PlanRights | None:
    if check is None:
        return None
    rights = check.rights
    elevating = check.would == "elevate"
    if not isinstance(rights, EntraRights):
        grants = tuple(
            f"{group}: membership for the bind account, removed when the rollback ends"
            for group in rights.missing_groups
        ) if elevating else ()  # fmt: skip
        return PlanRights(
            needs_title="Groups and rights the steps need",
            needs=rights.needed(),
            grants=grants,
        )
    minutes = next(
        (t.elevation_minutes for t in runtime.config.entra.tenants if t.name == rights.tenant),
        60,
    )
    shown = []
    for grant in rights.missing_groups if elevating else ():
        if grant.endswith(ROLE_SUFFIX):
            role = grant.removesuffix(ROLE_SUFFIX)
            shown.append(
                f"{role}: directory role, an active PIM assignment to dirguard's application"
                f" that expires after {minutes} minutes (removed as soon as the rollback ends)"
            )
        else:
            shown.append(
                f"{grant}: Microsoft Graph application permission, an app role assignment to"
                " dirguard's application (removed when the rollback ends)"
            )
    return PlanRights(
        needs_title="Microsoft Graph application permissions the steps need (any one per line)",
        needs=rights.needed(),
        grants=tuple(shown),
    )
