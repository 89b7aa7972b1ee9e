"""Who may decide on a request, and where to e-mail them.

The target's manager is read when the request is made: an AD user's ``manager`` (its
``userPrincipalName``) through the Administrator's LDAP connection, an Entra user's
``users/{id}/manager`` through Graph. An Entra group's members are read when they are e-mailed
(``groups/{id}/members``); whether someone belongs to it when they decide comes from the
``groups`` claim of their sign-in.
"""

from __future__ import annotations

from typing import Any

from dirguard.config.approvals_schema import ApprovalPolicy
from dirguard.providers.base import SourceError
from dirguard.providers.entra.graph_client import GraphError
from dirguard.services.admin.actions import ad_actions
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime, choose_entra_tenant


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value else None


def manager_of(runtime: Runtime, directory: str, source: str, target: str) -> str | None:
    """The sign-in name of ``target``'s manager, or ``None`` when it has none."""
    if directory == "ad":
        try:
            with ad_actions(runtime, source) as actions:
                manager_dn = _first(actions.find(target).fields.get("manager"))
                if manager_dn is None:
                    return None
                return _first(actions.find(manager_dn).fields.get("userPrincipalName"))
        except SourceError as error:
            raise ServiceError(f"manager of {target}: {error}", Problem.CONFLICT) from None
    tenant = choose_entra_tenant(runtime.config, source)
    with runtime.open_entra(tenant) as graph:
        try:
            answer = graph.request(
                "GET",
                f"users/{target}/manager",
                params={"$select": "userPrincipalName,mail"},
            ).json()
        except GraphError as error:
            if error.status == 404:
                return None
            raise ServiceError(f"manager of {target}: {error}", Problem.UNAVAILABLE) from None
    return _first(answer.get("userPrincipalName"))


def eligible(
    runtime: Runtime,
    policy: ApprovalPolicy,
    directory: str,
    source: str,
    target: str,
) -> list[str]:
    """The named approvers and (when the policy says so) the target's manager."""
    names = list(dict.fromkeys(policy.approvers))
    if policy.manager:
        manager = manager_of(runtime, directory, source, target)
        if manager is None and not names and not policy.groups:
            raise ServiceError(
                f"{target} has no manager to approve {policy.name!r} requests, and the policy "
                "names nobody else",
                Problem.CONFLICT,
            )
        if manager is not None and manager not in names:
            names.append(manager)
    return names


def group_addresses(runtime: Runtime, groups: list[str]) -> list[str]:
    """The e-mail addresses (else sign-in names) of the members of these Entra groups."""
    if not groups:
        return []
    found: list[str] = []
    tenant = choose_entra_tenant(runtime.config, runtime.config.notifications.tenant)
    with runtime.open_entra(tenant) as graph:
        for group in groups:
            for member in graph.pages(
                f"groups/{group}/members", **{"$select": "mail,userPrincipalName"}
            ):
                address = member.get("mail") or member.get("userPrincipalName")
                if address and address not in found:
                    found.append(str(address))
    return found


def suggested(
    runtime: Runtime, requester: str, approvers: list[str], groups: list[str]
) -> list[str]:
    """Of the eligible approvers, those the requester works with most, most relevant first —
    Graph's ``users/{requester}/people`` (relevance from communication and collaboration; the
    application permission is People.Read.All, People.Read being delegated only). Empty when
    the requester is no user of the tenant or the list cannot be read: a suggestion, never a
    condition."""
    tenants = runtime.config.entra.tenants
    if not tenants:
        return []
    try:
        tenant = choose_entra_tenant(runtime.config, runtime.config.notifications.tenant)
        with runtime.open_entra(tenant) as graph:
            people = graph.request(
                "GET",
                f"users/{requester}/people",
                params={"$top": "25", "$select": "userPrincipalName,scoredEmailAddresses"},
            ).json()["value"]
        members = {a.casefold() for a in group_addresses(runtime, groups)}
    except (GraphError, ServiceError, KeyError):
        return []
    named = {a.casefold() for a in approvers}
    found: list[str] = []
    for person in people:
        names = {str(person.get("userPrincipalName") or "").casefold()} | {
            str(e.get("address") or "").casefold() for e in person.get("scoredEmailAddresses", [])
        }
        if names & (named | members):
            found.append(str(person.get("userPrincipalName")))
    return found
