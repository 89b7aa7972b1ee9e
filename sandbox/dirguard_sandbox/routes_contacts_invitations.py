"""Organizational contacts (``/contacts``: list and get; Graph has no v1.0 create, contacts come
from Exchange or directory sync) and ``POST /invitations`` (B2B invitations).

An invitation creates a guest user (``userType`` Guest, ``externalUserState``
PendingAcceptance, a ``#EXT#`` userPrincipalName in the initial domain) and answers with its
``inviteRedeemUrl``; inviting the same address again re-sends to the same guest. With
``sendInvitationMessage`` the invitation mail lands in the outbox (``routes_mail_signins``).
The admin path ``POST /_sandbox/invitations/{id}/redeem`` plays the guest accepting.
"""

from __future__ import annotations

import secrets
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dirguard_sandbox.admin_path import admin_refusal
from dirguard_sandbox.audit import Actor, modified_properties, record_audit, target
from dirguard_sandbox.delegated_access import may_invite
from dirguard_sandbox.directory_state import DirectoryState, Json, graph_time, new_id
from dirguard_sandbox.errors import bad_request, insufficient_privileges
from dirguard_sandbox.graph_routing import Call, graph_json, handles
from dirguard_sandbox.identity_answers import entity_answer, require
from dirguard_sandbox.odata_query import list_page, parse_query
from dirguard_sandbox.seed_data import new_user_record
from dirguard_sandbox.seed_licensing_and_logs import new_contact_record

_INVITATION_FIELDS = (
    "invitedUserEmailAddress",
    "inviteRedirectUrl",
    "invitedUserDisplayName",
    "invitedUserType",
    "sendInvitationMessage",
    "invitedUserMessageInfo",
    "resetRedemption",
)


CONTACT_PROPERTIES = frozenset(new_contact_record(object_id="", display_name="", mail="x@y"))


@handles("GET", "/contacts")
async def list_contacts(call: Call) -> Response:
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=CONTACT_PROPERTIES,
        type_name="orgContact",
        orderable=frozenset({"displayName"}),
    )
    body = list_page(
        list(call.state.contacts.values()),
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set="contacts",
        default_select=None,
    )
    return graph_json(body)


@handles("GET", "/contacts/{orgContact-id}")
async def get_contact(call: Call) -> Response:
    record = require(call.state.contacts, call.param("orgContact_id"))
    return entity_answer(call, record, "contacts", known=CONTACT_PROPERTIES, type_name="orgContact")


def _initial_domain(state: DirectoryState) -> str:
    return next(name for name, domain in state.domains.items() if domain["isInitial"])


def _checked_invitation(state: DirectoryState, body: Json) -> tuple[str, str]:
    for name in body:
        if name not in _INVITATION_FIELDS:
            raise bad_request(
                f"Property '{name}' does not exist as a declared property or extension property."
            )
    email = body.get("invitedUserEmailAddress")
    redirect = body.get("inviteRedirectUrl")
    if not isinstance(email, str) or not email.strip():
        raise bad_request("A value is required for property 'invitedUserEmailAddress'.")
    local, _, domain = email.strip().partition("@")
    if not local or "." not in domain:
        raise bad_request(f"The invited user's email address '{email}' is not valid.")
    if not isinstance(redirect, str) or urlsplit(redirect).scheme not in {"http", "https"}:
        raise bad_request(
            "A value is required for property 'inviteRedirectUrl': an absolute http(s) URL."
        )
    if domain.lower() in state.domains:
        raise bad_request(
            f"The invited user's domain '{domain}' is a verified domain of this directory: "
            "create a member user instead."
        )
    if body.get("invitedUserType", "Guest") not in ("Guest", "Member"):
        raise bad_request("'invitedUserType' must be Guest or Member.")
    return email.strip(), redirect


def _existing_guest(state: DirectoryState, email: str) -> Json | None:
    for user in state.users.values():
        if (user.get("mail") or "").lower() == email.lower():
            if user.get("userType") != "Guest":
                raise bad_request(
                    f"'{email}' already belongs to a member of this directory, not a guest."
                )
            return user
    return None


def _create_guest(call: Call, email: str, body: Json) -> Json:
    state = call.state
    local, _, domain = email.partition("@")
    upn = f"{local}_{domain}#EXT#@{_initial_domain(state)}"
    now = graph_time(state.now())
    record = new_user_record(
        object_id=new_id(),
        display_name=str(body.get("invitedUserDisplayName") or local),
        upn=upn,
        created=now,
        mail=email,
        otherMails=[email],
        userType=body.get("invitedUserType", "Guest"),
        externalUserState="PendingAcceptance",
        externalUserStateChangeDateTime=now,
        proxyAddresses=[f"SMTP:{email}"],
    )
    state.users[record["id"]] = record
    state.bump(record["id"])
    written = ["displayName", "mail", "userPrincipalName", "userType", "externalUserState"]
    record_audit(
        state,
        actor=call.actor,
        activity="Add user",
        category="UserManagement",
        operation_type="Add",
        targets=[target(state, record["id"], record, modified_properties({}, record, written))],
    )
    return record


def _check_inviter(call: Call) -> None:
    """A signed-in user may invite only as the tenant's allowInvitesFrom lets them."""
    if "scp" not in call.claims:
        return
    state = call.state
    inviter = state.users.get(str(call.claims.get("oid")))
    setting = state.policies["authorizationPolicy"].get("allowInvitesFrom", "everyone")
    roles = [str(role) for role in call.claims.get("wids") or []]
    user_type = inviter.get("userType", "Member") if inviter is not None else "Member"
    if not may_invite(roles, str(user_type), str(setting)):
        raise insufficient_privileges()


@handles("POST", "/invitations")
async def create_invitation(call: Call) -> Response:
    state = call.state
    _check_inviter(call)
    body = await call.body()
    email, redirect = _checked_invitation(state, body)
    guest = _existing_guest(state, email) or _create_guest(call, email, body)
    invitation_id = new_id()
    ticket = secrets.token_urlsafe(16)
    redeem = quote(
        f"https://invitations.microsoft.com/redeem/?tenant={state.tenant_id}"
        f"&user={invitation_id}&ticket={ticket}&ver=2.0",
        safe="",
    )
    send = body.get("sendInvitationMessage", False) is True
    message_info = body.get("invitedUserMessageInfo") or {}
    invitation: Json = {
        "id": invitation_id,
        "invitedUserDisplayName": body.get("invitedUserDisplayName"),
        "invitedUserEmailAddress": email,
        "invitedUserType": guest["userType"],
        "inviteRedeemUrl": f"https://login.microsoftonline.com/redeem?rd={redeem}",
        "inviteRedirectUrl": redirect,
        "resetRedemption": bool(body.get("resetRedemption", False)),
        "sendInvitationMessage": send,
        "status": "PendingAcceptance",
        "invitedUserMessageInfo": {
            "ccRecipients": message_info.get("ccRecipients") or [],
            "customizedMessageBody": message_info.get("customizedMessageBody"),
            "messageLanguage": message_info.get("messageLanguage"),
        },
        "invitedUser": {"id": guest["id"]},
    }
    state.invitations[invitation_id] = invitation
    entry = record_audit(
        state,
        actor=call.actor,
        activity="Invite external user",
        category="UserManagement",
        operation_type="Add",
        targets=[target(state, guest["id"], guest)],
    )
    entry["loggedByService"] = "Invited Users"
    if send:
        organization = state.organization.get("displayName") or "a Microsoft 365 organization"
        state.outbox.append(
            {
                "from": "invites@microsoft.com",
                "sentDateTime": graph_time(state.now()),
                "message": {
                    "subject": f"You're invited to access applications within {organization}",
                    "body": {
                        "contentType": "Text",
                        "content": (message_info.get("customizedMessageBody") or "")
                        + f"\nAccept the invitation: {invitation['inviteRedeemUrl']}",
                    },
                    "toRecipients": [{"emailAddress": {"address": email}}],
                },
            }
        )
    return graph_json(
        {"@odata.context": f"{call.graph_base}/$metadata#invitations/$entity", **invitation},
        201,
    )


def redemption_routes(state: DirectoryState, admin_key: str | None) -> list[Route]:
    """``POST /_sandbox/invitations/{id}/redeem`` on the admin path: the guest accepts, as if they
    had followed the inviteRedeemUrl and signed in (``externalUserState`` becomes Accepted)."""

    async def redeem(request: Request) -> Response:
        refused = admin_refusal(request, admin_key)
        if refused is not None:
            return refused
        invitation = state.invitations.get(request.path_params["invitation_id"])
        if invitation is None:
            return JSONResponse({"error": "no such invitation"}, status_code=404)
        guest = state.users.get(invitation["invitedUser"]["id"])
        if guest is None:
            return JSONResponse({"error": "the invited user no longer exists"}, status_code=409)
        before = dict(guest)
        now = graph_time(state.now())
        guest["externalUserState"] = "Accepted"
        guest["externalUserStateChangeDateTime"] = now
        invitation["status"] = "Completed"
        state.bump(guest["id"])
        guest_actor = Actor(
            user_id=guest["id"],
            user_principal_name=guest["userPrincipalName"],
            display_name=guest["displayName"],
        )
        names = ["externalUserState", "externalUserStateChangeDateTime"]
        entry = record_audit(
            state,
            actor=guest_actor,
            activity="Redeem external user invite",
            category="UserManagement",
            operation_type="Update",
            targets=[target(state, guest["id"], guest, modified_properties(before, guest, names))],
        )
        entry["loggedByService"] = "Invited Users"
        return JSONResponse({"invitation": invitation, "externalUserState": "Accepted"})

    return [Route("/_sandbox/invitations/{invitation_id}/redeem", redeem, methods=["POST"])]
