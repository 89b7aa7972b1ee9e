"""What a rule does besides web actions: e-mail someone, call a webhook, cancel or hand over the
user's future meetings.

Mail goes through the notification service (``services/notifications``: a template, the
``[notifications]`` sender mailbox, Graph ``sendMail``, retries and the outbox).

Meetings use Microsoft Graph's calendar on the user's mailbox: ``GET users/{id}/events``, then
for each future meeting the user organizes, ``POST …/events/{id}/cancel`` (the organizer cancels:
attendees get the cancellation, the event leaves the calendar) or ``POST …/events/{id}/forward``
(the meeting request goes to the new owner, who is added to the organizer's copy). Both are
idempotent here: a cancelled meeting is gone from the list, a meeting already forwarded to the
recipient has them among its attendees and is skipped.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from dirguard.core.delegation import Target
from dirguard.core.rules_match import parse_time
from dirguard.providers.base import SourceError
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.runtime import Runtime, choose_entra_tenant


def render(template: str, target: Target, extra: Mapping[str, str]) -> str:
    """``$name`` placeholders filled from the object's fields (first value) and ``extra``
    (``$rule``, ``$changes``); unknown ones are left as written (no code runs in a template)."""
    values: dict[str, str] = {}
    for key, value in target.fields.items():
        first = value[0] if isinstance(value, list | tuple) and value else value
        if isinstance(first, str | int | bool):
            values[key] = str(first)
    values.setdefault("displayName", values.get("sAMAccountName", target.path))
    values.update(extra)
    return string.Template(template).safe_substitute(values)


def _first(target: Target, name: str) -> str | None:
    value = target.fields.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return str(value) if value else None


def manager_address(runtime: Runtime, target: Target, tenant: str | None) -> str | None:
    """The e-mail address of the object's manager: AD's ``manager`` (its ``mail``), or
    Graph's ``users/{id}/manager``; ``None`` when there is none or it has no address."""
    from dirguard.services.admin.actions import directory_actions

    if target.directory == "ad":
        manager_dn = _first(target, "manager")
        if manager_dn is None:
            return None
        name = target.source.partition(":")[2]
        with directory_actions(runtime, "ad", name) as actions:
            try:
                return _first(actions.find(manager_dn), "mail")
            except SourceError:
                return None
    with directory_actions(runtime, "entra", target.source.partition(":")[2]) as actions:
        found = actions.get(f"users/{target.path}/manager", **{"$select": "id,mail"})
    return None if not found else (found.get("mail") or None)


def recipients(runtime: Runtime, target: Target, to: Any, tenant: str | None) -> list[str]:
    """``to`` as addresses: ``manager`` is the object's manager; others are taken as written."""
    wanted = [to] if isinstance(to, str) else list(to or [])
    found: list[str] = []
    for item in wanted:
        if str(item).strip().casefold() == "manager":
            address = manager_address(runtime, target, tenant)
            if address is None:
                raise ServiceError(f"{target.path}: has no manager with an e-mail address")
            found.append(address)
        elif "@" in str(item):
            found.append(str(item).strip())
        else:
            raise ServiceError(f"'to': {item!r} is neither 'manager' nor an e-mail address")
    return found


def call_webhook(
    runtime: Runtime, rule: str, params: Mapping[str, Any], payload: Mapping[str, Any]
) -> str:
    """POST the payload as JSON, signed as the threat alerts' webhooks are (HMAC-SHA256 over
    ``timestamp.body`` in ``X-Dirguard-Signature``, with ``signing_secret``); the answer's
    status, or :class:`ServiceError` naming the receiver without its path (it may hold a
    token)."""
    from pathlib import Path

    from dirguard.config.threats_schema import WebhookChannel
    from dirguard.services.threats.notify import send_webhook

    channel = WebhookChannel(
        url=str(params["url"]),
        signing_secret=params.get("signing_secret"),
        ca_file=Path(str(params["ca_file"])) if params.get("ca_file") else None,
        timeout=float(params.get("timeout", 10)),
        min_severity="info",
    )
    try:
        status = send_webhook(
            runtime.config, channel, dict(payload), runtime.clock(), owner=f"rule {rule}"
        )
    except RuntimeError as error:
        raise ServiceError(str(error)) from None
    return str(status)


EVENT_SELECT = "id,subject,start,end,isOrganizer,isCancelled,attendees,organizer"


def future_meetings(graph: Any, user: str, now: datetime) -> list[dict[str, Any]]:
    """The user's meetings that start after ``now`` and that they organize."""
    events = graph.pages(f"users/{user}/events", **{"$select": EVENT_SELECT})
    found = []
    for event in events:
        start = parse_time((event.get("start") or {}).get("dateTime"))
        if event.get("isOrganizer") and not event.get("isCancelled") and start and start > now:
            found.append(event)
    return sorted(found, key=lambda e: str((e.get("start") or {}).get("dateTime")))


def _attendees(event: Mapping[str, Any]) -> set[str]:
    return {
        str((a.get("emailAddress") or {}).get("address") or "").casefold()
        for a in event.get("attendees") or []
    }


def meetings_plan(
    runtime: Runtime, tenant: str, user: str, mode: str, to: str | None, now: datetime
) -> list[dict[str, Any]]:
    """The meetings the action would cancel or forward (``to``: the new owner's address)."""
    config = choose_entra_tenant(runtime.config, tenant)
    with runtime.open_entra(config) as graph:
        meetings = future_meetings(graph, user, now)
    if mode == "forward":
        assert to is not None
        meetings = [m for m in meetings if to.casefold() not in _attendees(m)]
    return meetings


def meetings_do(
    runtime: Runtime,
    tenant: str,
    user: str,
    mode: str,
    to: str | None,
    meetings: Sequence[Mapping[str, Any]],
    comment: str,
) -> None:
    from dirguard.providers.entra.graph_client import GraphError

    config = choose_entra_tenant(runtime.config, tenant)
    with runtime.open_entra(config) as graph:
        for meeting in meetings:
            path = f"users/{user}/events/{meeting['id']}/{mode}"
            body: dict[str, Any] = {"Comment": comment}
            if mode == "forward":
                body["ToRecipients"] = [{"emailAddress": {"address": to}}]
            try:
                graph.request("POST", path, json=body)
            except GraphError as error:
                raise ServiceError(
                    f"{mode} of {meeting.get('subject')!r}: {error}", Problem.CONFLICT
                ) from None
