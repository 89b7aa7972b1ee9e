"""What a web action reads from the other directory before it is planned: the tenant's verified
domains for an AD user's remote mailbox, the AD account whose attributes a cloud user's profile
sync copies. Declared on the action (``AdminAction.reads_other``) and read here, as the
Administrator's own service identities in each directory."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dirguard.catalog.permission_model import Service
from dirguard.core.delegation import Target
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime, choose_entra_tenant

Reader = Callable[[Runtime, Target, Mapping[str, Any]], Any]


def _suffix(target: Target) -> str:
    upn = target.fields.get("userPrincipalName")
    value = upn[0] if isinstance(upn, list) and upn else upn
    if not value or "@" not in str(value):
        raise ServiceError(
            f"{target.path} has no userPrincipalName: give it one before its mailbox",
            Problem.CONFLICT,
        )
    return str(value).rsplit("@", 1)[1]


def tenant_domains(runtime: Runtime, target: Target, params: Mapping[str, Any]) -> dict[str, Any]:
    """The tenant's verified domains; the user's UPN suffix must be one, or the action fails
    with the words Exchange's ``Enable-RemoteMailbox`` uses."""
    name = str(params.get("tenant") or "").strip() or None
    tenant = choose_entra_tenant(runtime.config, name)
    if Service.ADMINISTRATOR not in tenant.services:
        raise ServiceError(
            f"{tenant.name}: the tenant does not run the Administrator service", Problem.CONFIG
        )
    with runtime.open_entra(tenant) as graph:
        domains = list(graph.pages("domains"))
    verified = {str(d["id"]).casefold(): d for d in domains if d.get("isVerified")}
    suffix = _suffix(target)
    if suffix.casefold() not in verified:
        raise ServiceError(f"The domain '@{suffix}' is not valid.", Problem.CONFLICT)
    routing = next((d for d in verified if d.endswith(".mail.onmicrosoft.com")), None)
    initial = next((str(d["id"]) for d in domains if d.get("isInitial")), None)
    if routing is None and initial is not None:
        routing = initial.replace(".onmicrosoft.com", ".mail.onmicrosoft.com")
    return {"suffix": suffix, "routing_domain": routing, "tenant": tenant.name}


PROFILE_MAP = {
    "givenName": "givenName",
    "sn": "surname",
    "displayName": "displayName",
    "department": "department",
    "title": "jobTitle",
    "company": "companyName",
    "physicalDeliveryOfficeName": "officeLocation",
    "mobile": "mobilePhone",
    "telephoneNumber": "businessPhones",
}
"""AD attribute -> Entra user property, as Entra Connect maps them."""


def ad_profile(runtime: Runtime, target: Target, params: Mapping[str, Any]) -> dict[str, Any]:
    """The mapped attributes of the cloud user's AD account (matched by userPrincipalName)."""
    from dirguard.providers.ad.admin_actions import ActionRefused
    from dirguard.services.admin.actions import ad_actions

    upn = str(target.fields.get("userPrincipalName") or "")
    domain = runtime.ad_domain(str(params.get("domain") or "").strip() or None)
    with ad_actions(runtime, domain.name) as actions:
        try:
            account = actions.find(upn)
        except ActionRefused:
            raise ServiceError(
                f"no AD account with userPrincipalName {upn!r} in {domain.name}",
                Problem.NOT_FOUND,
            ) from None
    values = {}
    for ad_name, entra_name in PROFILE_MAP.items():
        found = account.fields.get(ad_name) or []
        values[entra_name] = (
            list(found) if entra_name == "businessPhones" else (found[0] if found else None)
        )
    return {"account": account.path, "values": values}


READERS: dict[str, Reader] = {"tenant-domains": tenant_domains, "ad-profile": ad_profile}
