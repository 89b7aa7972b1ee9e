"""One e-mail through Graph ``POST users/{sender}/sendMail``: the message body Graph takes
(HTML, recipients, file attachments as base64 ``contentBytes``, ``from`` for Send As), and what
an error answer means for a retry.

Graph's rules this follows (https://learn.microsoft.com/en-us/graph/api/user-sendmail and
https://learn.microsoft.com/en-us/graph/outlook-send-mail-from-other-user): an application with
``Mail.Send`` may send as any mailbox, a shared one included, by sending through it; sending from
one mailbox *as* another (``from``) needs Exchange's Send As or Send on Behalf right on it; a
throttled mailbox answers 429 with ``Retry-After``.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dirguard.providers.entra.graph_client import GraphAuthError, GraphError
from dirguard.services.errors import ServiceError
from dirguard.services.runtime import Runtime, choose_entra_tenant

RETRYABLE_STATUSES = frozenset({0, 408, 429, 500, 502, 503, 504})
"""No answer, a timeout, throttling or a server error: worth another attempt later. Anything
else (a recipient Graph refuses, no mailbox, no Send As right) fails until someone fixes it."""


@dataclass(frozen=True, kw_only=True)
class Attachment:
    name: str
    content_type: str
    content: bytes


@dataclass(frozen=True, kw_only=True)
class OutgoingMail:
    tenant: str
    sender: str
    send_as: str | None
    to: Sequence[str]
    subject: str
    html: str
    attachments: Sequence[Attachment] = ()


class DeliveryFailed(Exception):
    """Graph did not take the message; ``retryable`` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


def graph_message(mail: OutgoingMail) -> dict[str, Any]:
    """The ``sendMail`` request body."""
    message: dict[str, Any] = {
        "subject": mail.subject,
        "body": {"contentType": "HTML", "content": mail.html},
        "toRecipients": [{"emailAddress": {"address": a}} for a in mail.to],
    }
    if mail.send_as:
        message["from"] = {"emailAddress": {"address": mail.send_as}}
    if mail.attachments:
        message["attachments"] = [
            {
                "@odata.type": "#microsoft.graph.fileAttachment",
                "name": a.name,
                "contentType": a.content_type,
                "contentBytes": base64.b64encode(a.content).decode("ascii"),
            }
            for a in mail.attachments
        ]
    return {"message": message, "saveToSentItems": False}


def send(runtime: Runtime, mail: OutgoingMail) -> None:
    """Hand ``mail`` to Graph once (no waiting on throttling: the outbox schedules the retry)."""
    try:
        tenant = choose_entra_tenant(runtime.config, mail.tenant)
    except ServiceError as error:  # the tenant left the configuration since it was queued
        raise DeliveryFailed(error.message, retryable=False) from None
    try:
        with runtime.open_entra(tenant) as graph:
            graph.request(
                "POST",
                f"users/{mail.sender}/sendMail",
                json=graph_message(mail),
                throttle_retries=0,
            )
    except GraphAuthError as error:
        raise DeliveryFailed(str(error), retryable=True) from None
    except GraphError as error:
        raise DeliveryFailed(
            str(error),
            retryable=error.status in RETRYABLE_STATUSES,
            retry_after=error.retry_after,
        ) from None
