"""``auditLogs/signIns`` (list with ``$filter`` on createdDateTime, userPrincipalName and the
other properties, newest first; get) and ``users/{id}/sendMail`` into the tenant's outbox.

Sent mail is not delivered anywhere: it is kept in ``DirectoryState.outbox``, which tests and
people read on the admin path guarded by the admin key (as the fault control is):
``GET /_sandbox/outbox`` lists the messages, ``DELETE /_sandbox/outbox`` empties it. Sending
mail is an Exchange action, so like Graph it writes no directoryAudit. Send As / Send on Behalf
rights and the per-mailbox throttling are :mod:`dirguard_sandbox.mailbox_rights`' (granted on
``/_sandbox/mailbox-permissions``); file attachments must carry base64 ``contentBytes``.
"""

from __future__ import annotations

import base64
import binascii

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dirguard_sandbox.admin_path import admin_refusal
from dirguard_sandbox.directory_state import DirectoryState, Json, graph_time
from dirguard_sandbox.errors import GraphError, bad_request, not_found
from dirguard_sandbox.graph_routing import Call, graph_json, handles
from dirguard_sandbox.mailbox_rights import (
    SEND_AS_DENIED,
    grant,
    mailbox_by_address,
    require_right,
    throttle,
)
from dirguard_sandbox.odata_query import context_url, list_page, parse_query, project
from dirguard_sandbox.routes_users import find_user

FILE_ATTACHMENT = "#microsoft.graph.fileAttachment"
SIGN_IN_PROPERTIES = frozenset(
    {
        "id",
        "appDisplayName",
        "appId",
        "appliedConditionalAccessPolicies",
        "clientAppUsed",
        "conditionalAccessStatus",
        "correlationId",
        "createdDateTime",
        "deviceDetail",
        "ipAddress",
        "isInteractive",
        "location",
        "resourceDisplayName",
        "resourceId",
        "riskDetail",
        "riskEventTypes_v2",
        "riskLevelAggregated",
        "riskLevelDuringSignIn",
        "riskState",
        "status",
        "userDisplayName",
        "userId",
        "userPrincipalName",
    }
)


@handles("GET", "/auditLogs/signIns")
async def list_sign_ins(call: Call) -> Response:
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=SIGN_IN_PROPERTIES,
        type_name="signIn",
        orderable=frozenset({"createdDateTime"}),
    )
    body = list_page(
        list(reversed(call.state.sign_in_log)),
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set="auditLogs/signIns",
        default_select=None,
    )
    return graph_json(body)


@handles("GET", "/auditLogs/signIns/{signIn-id}")
async def get_sign_in(call: Call) -> Response:
    wanted = call.param("signIn_id")
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=SIGN_IN_PROPERTIES,
        type_name="signIn",
    )
    for entry in call.state.sign_in_log:
        if entry["id"] == wanted:
            context = context_url(call.graph_base, "auditLogs/signIns", options.select)
            return graph_json(
                {"@odata.context": context + "/$entity", **project(entry, options.select, None)}
            )
    raise not_found(wanted)


def _recipients(message: Json, name: str, *, required: bool) -> list[Json]:
    value = message.get(name)
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise GraphError(
            400,
            "ErrorInvalidRecipients",
            "At least one recipient isn't valid: the message needs 'toRecipients' with an "
            "'emailAddress' each.",
        )
    for recipient in value:
        address = (recipient.get("emailAddress") or {}) if isinstance(recipient, dict) else {}
        if not isinstance(address.get("address"), str) or "@" not in address["address"]:
            raise GraphError(
                400,
                "ErrorInvalidRecipients",
                f"At least one recipient isn't valid: {recipient!r} in '{name}' has no "
                "emailAddress.address.",
            )
    return value


@handles("POST", "/users/{user-id}/sendMail")
async def send_mail(call: Call) -> Response:
    state = call.state
    user = find_user(state, call.param("user_id"))
    body = await call.body()
    message = body.get("message")
    if not isinstance(message, dict):
        raise bad_request(
            "A value is required for parameter 'message' of sendMail.", code="ErrorInvalidRequest"
        )
    save = body.get("saveToSentItems", True)
    if not isinstance(save, bool):
        raise bad_request("'saveToSentItems' must be true or false.", code="ErrorInvalidRequest")
    _recipients(message, "toRecipients", required=True)
    for name in ("ccRecipients", "bccRecipients"):
        _recipients(message, name, required=False)
    _check_attachments(message)
    if "scp" in call.claims and call.claims.get("oid") != user["id"]:
        # A user token sends through another mailbox only with Mail.Send.Shared and a Send As
        # or Send on Behalf right on it (mailbox_rights).
        if "Mail.Send.Shared" not in str(call.claims.get("scp", "")).split():
            raise GraphError(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        require_right(state, user["id"], str(call.claims.get("oid")))
    if not user.get("mail"):
        raise GraphError(
            404,
            "MailboxNotEnabledForRESTAPI",
            "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
        )
    sent_from, sender = user["mail"], user["mail"]
    wanted = ((message.get("from") or {}).get("emailAddress") or {}).get("address")
    if isinstance(wanted, str) and wanted.lower() != user["mail"].lower():
        other = mailbox_by_address(state, wanted)
        if other is None or not other.get("mail"):
            raise GraphError(403, "ErrorSendAsDenied", SEND_AS_DENIED)
        right = require_right(state, other["id"], user["id"])
        sent_from = other["mail"]
        sender = sent_from if right == "SendAs" else user["mail"]
    throttle(state, user["id"])
    state.outbox.append(
        {
            "from": sent_from,
            "sender": sender,
            "userId": user["id"],
            "sentDateTime": graph_time(state.now()),
            "saveToSentItems": save,
            "message": message,
        }
    )
    return Response(status_code=202)


def _check_attachments(message: Json) -> None:
    """File attachments as ``sendMail`` takes them: a name and base64 ``contentBytes`` each."""
    attachments = message.get("attachments") or []
    if not isinstance(attachments, list):
        raise bad_request("'attachments' must be a collection.", code="ErrorInvalidRequest")
    for item in attachments:
        if not isinstance(item, dict) or item.get("@odata.type") != FILE_ATTACHMENT:
            continue
        try:
            base64.b64decode(str(item.get("contentBytes", "")), validate=True)
        except binascii.Error:
            raise bad_request(
                f"Attachment {item.get('name')!r}: contentBytes is not base64.",
                code="ErrorInvalidRequest",
            ) from None
        if not item.get("name"):
            raise bad_request("An attachment needs a name.", code="ErrorInvalidRequest")


def outbox_routes(state: DirectoryState, admin_key: str | None) -> list[Route]:
    """The admin path that shows (GET) and empties (DELETE) the outbox; closed without a key."""

    async def outbox(request: Request) -> Response:
        refused = admin_refusal(request, admin_key)
        if refused is not None:
            return refused
        if request.method == "DELETE":
            state.outbox.clear()
            return Response(status_code=204)
        return JSONResponse({"messages": state.outbox})

    async def mailbox_permissions(request: Request) -> Response:
        refused = admin_refusal(request, admin_key)
        if refused is not None:
            return refused
        if request.method == "GET":
            return JSONResponse({"permissions": state.mailbox_permissions})
        body = await request.json()
        try:
            mailbox = find_user(state, str(body.get("mailbox")))
            trustee = find_user(state, str(body.get("trustee")))
            grant(state, mailbox["id"], trustee["id"], list(body.get("rights") or []))
        except GraphError as error:
            return JSONResponse({"error": error.message}, status_code=404)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return Response(status_code=204)

    return [
        Route("/_sandbox/outbox", outbox, methods=["GET", "DELETE"]),
        Route("/_sandbox/mailbox-permissions", mailbox_permissions, methods=["GET", "POST"]),
    ]
