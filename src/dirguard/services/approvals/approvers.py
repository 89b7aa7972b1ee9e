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


PEOPLE_SELECT = "userPrincipalName,scoredEmailAddresses"


def _my_people(graph: Any) -> list[set[str]]:
    """The signed-in requester's relevant people, most relevant first (``GET /me/people``,
    delegated People.Read): each person's sign-in name and addresses, case-folded."""
    answer = graph.request(
        "GET", "me/people", params={"$top": "25", "$select": PEOPLE_SELECT}
    ).json()
    return [
        {str(p.get("userPrincipalName") or "").casefold()}
        | {str(e.get("address") or "").casefold() for e in p.get("scoredEmailAddresses", [])}
        for p in answer["value"]
    ]


def _names(record: dict[str, Any] | None) -> set[str]:
    if not record:
        return set()
    return {str(record.get(k) or "").casefold() for k in ("userPrincipalName", "mail")} - {""}


def _colleagues(graph: Any, requester: str) -> list[set[str]]:
    """The requester's place in the organisation chart, nearest first: their manager, their
    direct reports, then the manager's other reports (their peers) — read app-only with
    User.Read.All (``users/{id}/manager``, ``users/{id}/directReports``)."""
    select = {"$select": "id,userPrincipalName,mail"}
    try:
        manager = graph.get(f"users/{requester}/manager", **select)
    except GraphError as error:
        if error.status != 404:
            raise
        manager = None
    found = [_names(manager)] if manager else []
    found += [_names(r) for r in graph.pages(f"users/{requester}/directReports", **select)]
    if manager:
        found += [
            _names(p)
            for p in graph.pages(f"users/{manager['id']}/directReports", **select)
            if requester.casefold() not in _names(p)
        ]
    return found


def suggested(
    runtime: Runtime, requester: str, approvers: list[str], groups: list[str]
) -> tuple[list[str], str | None]:
    """Of the eligible approvers, those the requester works with most, nearest first, and where
    that came from (``people`` or ``organisation``; ``None``: no suggestion).

    The seed grants ``People.Read``, a delegated permission: it reads the relevant people of
    the signed-in user (``GET /me/people``), and only theirs — another user's list needs
    People.Read.All, which dirguard does not ask for. So the requester's own list is read with
    the delegated token of their console sign-in (``[web.oidc] people_read``; held in memory by
    ``services/console/delegated_tokens``). A requester without one (a local account, the CLI,
    a token expired) gets suggestions from the organisation chart instead, read as the
    application (manager, direct reports, peers). A suggestion is never a condition: an
    answer Graph refuses leaves it empty."""
    if not runtime.config.entra.tenants:
        return [], None
    from dirguard.providers.entra.graph_client import GraphClient
    from dirguard.services.console.delegated_tokens import DELEGATED_TOKENS

    try:
        tenant = choose_entra_tenant(runtime.config, runtime.config.notifications.tenant)
        held = DELEGATED_TOKENS.get(requester, runtime.clock())
        if held is not None:
            source = "people"
            client = GraphClient(
                tenant_id=str(tenant.tenant_id),
                credential=held,
                graph_url=tenant.graph_url,
                ca_file=tenant.ca_file,
            )
            with client as graph:
                ranked = _my_people(graph)
        else:
            source = "organisation"
            with runtime.open_entra(tenant) as graph:
                ranked = _colleagues(graph, requester)
        members = {a.casefold() for a in group_addresses(runtime, groups)}
    except (GraphError, ServiceError, KeyError):
        return [], None
    wanted = {a.casefold(): a for a in approvers}
    found: list[str] = []
    for names in ranked:
        hit = next((wanted[n] for n in names if n in wanted), None)
        if hit is None and names & members:
            hit = next(iter(sorted(names & members)))
        if hit is not None and hit not in found:
            found.append(hit)
    return found, (source if found else None)
