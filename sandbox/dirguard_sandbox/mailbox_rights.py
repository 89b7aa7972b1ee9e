"""Exchange Online's side of ``sendMail``: who may send from which mailbox, and how often.

- **Send As / Send on Behalf** (https://learn.microsoft.com/en-us/graph/outlook-send-mail-from-other-user):
  an application token with ``Mail.Send`` "can send mail as any user in the organization by
  sending the mail normally through the user's mailbox". A user token sends through another
  mailbox only with ``Mail.Send.Shared`` and a Send As or Send on Behalf right on it. A message
  whose ``from`` is another mailbox needs the sending mailbox's owner to hold one of those rights
  on it: with Send As the message is from that mailbox, with Send on Behalf ``sender`` is the
  owner and ``from`` the other mailbox. Without either Exchange refuses the submission
  (``ErrorSendAsDenied``). Rights are granted here as ``Add-RecipientPermission -AccessRights
  SendAs`` / ``Set-Mailbox -GrantSendOnBehalfTo`` would, on the admin path
  ``POST /_sandbox/mailbox-permissions`` ``{"mailbox", "trustee", "rights": ["SendAs"]}``.
- **Throttling** (https://learn.microsoft.com/en-us/graph/throttling-limits#outlook-service-limits):
  10,000 API requests per 10 minutes per application per mailbox; past it Graph answers 429
  ``ApplicationThrottled`` with ``Retry-After``. The limit and window are the tenant's
  ``mail_rate_limit`` / ``mail_rate_window`` so a test can reach them.
"""

from __future__ import annotations

import datetime
import math

from dirguard_sandbox.directory_state import DirectoryState, Json
from dirguard_sandbox.errors import GraphError

RIGHTS = ("SendAs", "SendOnBehalf")
SEND_AS_DENIED = (
    "The user account which was used to submit this request does not have the right to send "
    "mail on behalf of the specified sending account., Cannot submit message."
)


def mailbox_by_address(state: DirectoryState, address: str) -> Json | None:
    lowered = address.lower()
    for user in state.users.values():
        if (user.get("mail") or "").lower() == lowered or (
            user.get("userPrincipalName") or ""
        ).lower() == lowered:
            return user
    return None


def rights_of(state: DirectoryState, mailbox_id: str, trustee_id: str) -> set[str]:
    return set(state.mailbox_permissions.get(mailbox_id, {}).get(trustee_id, []))


def grant(state: DirectoryState, mailbox_id: str, trustee_id: str, rights: list[str]) -> None:
    unknown = sorted(set(rights) - set(RIGHTS))
    if unknown or not rights:
        raise ValueError(f"rights must be some of {', '.join(RIGHTS)}, not {rights!r}")
    held = state.mailbox_permissions.setdefault(mailbox_id, {})
    held[trustee_id] = sorted(set(held.get(trustee_id, [])) | set(rights))


def require_right(state: DirectoryState, mailbox_id: str, trustee_id: str) -> str:
    """The right ``trustee`` sends from ``mailbox`` with (Send As before Send on Behalf), or the
    refusal Exchange gives."""
    held = rights_of(state, mailbox_id, trustee_id)
    for right in RIGHTS:
        if right in held:
            return right
    raise GraphError(403, "ErrorSendAsDenied", SEND_AS_DENIED)


def throttle(state: DirectoryState, mailbox_id: str) -> None:
    """Count one request on ``mailbox``; a 429 once the window holds the limit."""
    now = state.now()
    start = now - datetime.timedelta(seconds=state.mail_rate_window)
    recent = [
        t for t in state.mail_sent.get(mailbox_id, []) if datetime.datetime.fromisoformat(t) > start
    ]
    if len(recent) >= state.mail_rate_limit:
        oldest = datetime.datetime.fromisoformat(recent[0])
        wait = (oldest - start).total_seconds()
        state.mail_sent[mailbox_id] = recent
        raise GraphError(
            429,
            "ApplicationThrottled",
            "Application is over its MailboxConcurrency limit.",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    recent.append(now.isoformat())
    state.mail_sent[mailbox_id] = recent
