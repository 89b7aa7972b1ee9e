"""Organizational contacts, B2B invitations, sign-in logs and sendMail (read back from the outbox
on the admin path) through the sandbox's Graph API."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import httpx

from tests.fixtures.graph_sandbox import RunningSandbox
from tests.sandbox.identity_helpers import register_app
from tests.sandbox.test_identity_sign_in import _device_sign_in

REDIRECT = "https://myapps.microsoft.com"


def _outbox(sandbox: RunningSandbox, key: str | None = None) -> httpx.Response:
    headers = {"x-sandbox-admin-key": sandbox.info.admin_key if key is None else key}
    return httpx.get(
        f"{sandbox.info.login_base}/_sandbox/outbox", headers=headers, verify=sandbox.tls()
    )


def _audits(client: httpx.Client, object_id: str) -> list[dict[str, Any]]:
    values = client.get("/auditLogs/directoryAudits", params={"$top": "999"}).json()["value"]
    return [e for e in values if any(t["id"] == object_id for t in e["targetResources"])]


def test_contacts_are_listed_filtered_and_read(graph_sandbox: RunningSandbox) -> None:
    with graph_sandbox.client(read_only=True) as client:
        contacts = client.get("/contacts").json()["value"]
        fabrikam = client.get(
            "/contacts", params={"$filter": "companyName eq 'Fabrikam'", "$select": "id,mail"}
        ).json()["value"]
        one = client.get(f"/contacts/{contacts[0]['id']}")
        missing = client.get("/contacts/00000000-0000-0000-0000-000000000000")
    assert len(contacts) == len(graph_sandbox.state.contacts) == 5
    assert len(fabrikam) == 1 and set(fabrikam[0]) == {"id", "mail"}
    assert fabrikam[0]["mail"].endswith("@fabrikam.example")
    assert one.status_code == 200 and one.json()["mail"] == contacts[0]["mail"]
    assert missing.status_code == 404


def test_an_invitation_creates_a_pending_guest(graph_sandbox: RunningSandbox) -> None:
    body = {
        "invitedUserEmailAddress": "dana@partner.example",
        "invitedUserDisplayName": "Dana (Partner)",
        "inviteRedirectUrl": REDIRECT,
        "sendInvitationMessage": True,
    }
    with graph_sandbox.client() as client:
        invited = client.post("/invitations", json=body)
        assert invited.status_code == 201, invited.text
        guest_id = invited.json()["invitedUser"]["id"]
        guest = client.get(
            f"/users/{guest_id}",
            params={"$select": "userType,externalUserState,userPrincipalName,mail,displayName"},
        ).json()
        again = client.post("/invitations", json=body)
        audits = _audits(client, guest_id)
    invitation = invited.json()
    assert invitation["status"] == "PendingAcceptance"
    assert invitation["inviteRedirectUrl"] == REDIRECT
    redeem = unquote(invitation["inviteRedeemUrl"])
    assert redeem.startswith("https://login.microsoftonline.com/redeem?rd=")
    assert f"tenant={graph_sandbox.info.tenant_id}" in redeem
    assert guest["userType"] == "Guest"
    assert guest["externalUserState"] == "PendingAcceptance"
    assert guest["userPrincipalName"].startswith("dana_partner.example#EXT#@")
    assert guest["userPrincipalName"].endswith(".onmicrosoft.com")
    assert guest["displayName"] == "Dana (Partner)"
    assert again.status_code == 201
    assert again.json()["invitedUser"]["id"] == guest_id
    assert [(a["activityDisplayName"], a["loggedByService"]) for a in reversed(audits)] == [
        ("Add user", "Core Directory"),
        ("Invite external user", "Invited Users"),
        ("Invite external user", "Invited Users"),
    ]
    sent = [m for m in _outbox(graph_sandbox).json()["messages"] if m["from"].startswith("invites")]
    addresses = [m["message"]["toRecipients"][0]["emailAddress"]["address"] for m in sent]
    assert addresses.count("dana@partner.example") == 2


def test_bad_invitations_are_refused(graph_sandbox: RunningSandbox) -> None:
    member_mail = next(u["mail"] for u in graph_sandbox.state.users.values() if u["mail"])
    member_domain = member_mail.split("@")[1]
    with graph_sandbox.client() as client:
        no_redirect = client.post("/invitations", json={"invitedUserEmailAddress": "a@b.example"})
        no_address = client.post("/invitations", json={"inviteRedirectUrl": REDIRECT})
        own_domain = client.post(
            "/invitations",
            json={"invitedUserEmailAddress": f"new@{member_domain}", "inviteRedirectUrl": REDIRECT},
        )
    with graph_sandbox.client(read_only=True) as client:
        forbidden = client.post(
            "/invitations",
            json={"invitedUserEmailAddress": "x@y.example", "inviteRedirectUrl": REDIRECT},
        )
    assert no_redirect.status_code == 400
    assert "inviteRedirectUrl" in no_redirect.json()["error"]["message"]
    assert no_address.status_code == 400
    assert "invitedUserEmailAddress" in no_address.json()["error"]["message"]
    assert (
        own_domain.status_code == 400 and "verified domain" in own_domain.json()["error"]["message"]
    )
    assert forbidden.status_code == 403


def test_sign_ins_filter_by_time_and_user(graph_sandbox: RunningSandbox) -> None:
    log = graph_sandbox.state.sign_in_log
    middle = sorted(entry["createdDateTime"] for entry in log)[len(log) // 2]
    upn = log[0]["userPrincipalName"]
    with graph_sandbox.client(read_only=True) as client:
        newest = client.get("/auditLogs/signIns", params={"$top": "5"}).json()
        recent = client.get(
            "/auditLogs/signIns",
            params={"$filter": f"createdDateTime ge {middle}", "$top": "999"},
        ).json()["value"]
        theirs = client.get(
            "/auditLogs/signIns",
            params={"$filter": f"userPrincipalName eq '{upn.upper()}'", "$top": "999"},
        ).json()["value"]
        failed = client.get(
            "/auditLogs/signIns", params={"$filter": "status/errorCode ne 0", "$top": "999"}
        )
        one = client.get(f"/auditLogs/signIns/{log[0]['id']}").json()
    times = [entry["createdDateTime"] for entry in newest["value"]]
    assert times == sorted(times, reverse=True) and len(times) == 5
    assert "@odata.nextLink" in newest
    assert {entry["id"] for entry in recent} == {
        entry["id"] for entry in log if entry["createdDateTime"] >= middle
    }
    assert {entry["id"] for entry in theirs} == {
        entry["id"] for entry in log if entry["userPrincipalName"] == upn
    }
    assert failed.status_code == 400  # 'ne' is an advanced query, as on directory objects
    assert one["userPrincipalName"] == upn and "status" in one


def test_send_mail_lands_in_the_outbox(graph_sandbox: RunningSandbox) -> None:
    sender_id = next(u for u, user in graph_sandbox.state.users.items() if user["mail"])
    message = {
        "subject": "Your access review",
        "body": {"contentType": "Text", "content": "Please review your group memberships."},
        "toRecipients": [{"emailAddress": {"address": "kim@partner.example"}}],
    }
    with graph_sandbox.client() as client:
        sent = client.post(f"/users/{sender_id}/sendMail", json={"message": message})
        no_recipient = client.post(
            f"/users/{sender_id}/sendMail", json={"message": {"subject": "nobody"}}
        )
        no_message = client.post(f"/users/{sender_id}/sendMail", json={"saveToSentItems": False})
    with graph_sandbox.client(read_only=True) as client:
        forbidden = client.post(f"/users/{sender_id}/sendMail", json={"message": message})
    assert sent.status_code == 202 and sent.content == b""
    assert no_recipient.status_code == 400
    assert no_recipient.json()["error"]["code"] == "ErrorInvalidRecipients"
    assert no_message.status_code == 400
    assert forbidden.status_code == 403
    outbox = _outbox(graph_sandbox)
    assert outbox.status_code == 200
    mine = [m for m in outbox.json()["messages"] if m.get("userId") == sender_id]
    assert [m["message"]["subject"] for m in mine] == ["Your access review"]
    assert mine[0]["from"] == graph_sandbox.state.users[sender_id]["mail"]
    assert _outbox(graph_sandbox, key="wrong").status_code == 403
    cleared = httpx.delete(
        f"{graph_sandbox.info.login_base}/_sandbox/outbox",
        headers={"x-sandbox-admin-key": graph_sandbox.info.admin_key},
        verify=graph_sandbox.tls(),
    )
    assert cleared.status_code == 204
    assert _outbox(graph_sandbox).json()["messages"] == []


def test_delegated_mail_is_sent_as_the_signed_in_user_only(graph_sandbox: RunningSandbox) -> None:
    info = graph_sandbox.info
    admin_id = next(iter(graph_sandbox.state.passwords))
    other_id = next(u for u, user in graph_sandbox.state.users.items() if u != admin_id)
    message = {
        "subject": "Delegated",
        "toRecipients": [{"emailAddress": {"address": "kim@partner.example"}}],
    }
    with graph_sandbox.client() as client:
        app, _ = register_app(client, "delegated mail")
    signed_in = _device_sign_in(
        graph_sandbox,
        app["appId"],
        info.admin_user_principal_name,
        info.admin_password,
        "https://graph.microsoft.com/Mail.Send",
    )
    assert signed_in.status_code == 200, signed_in.text
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    with httpx.Client(base_url=info.graph_base, verify=graph_sandbox.tls(), headers=headers) as me:
        own = me.post(f"/users/{admin_id}/sendMail", json={"message": message})
        someone_else = me.post(f"/users/{other_id}/sendMail", json={"message": message})
    assert own.status_code == 202
    assert someone_else.status_code == 403
    assert someone_else.json()["error"]["code"] == "ErrorAccessDenied"


def test_redeeming_on_the_admin_path_makes_the_guest_accepted(
    graph_sandbox: RunningSandbox,
) -> None:
    info = graph_sandbox.info
    with graph_sandbox.client() as client:
        invitation = client.post(
            "/invitations",
            json={"invitedUserEmailAddress": "lee@vendor.example", "inviteRedirectUrl": REDIRECT},
        ).json()
        guest_id = invitation["invitedUser"]["id"]
        url = f"{info.login_base}/_sandbox/invitations/{invitation['id']}/redeem"
        refused = httpx.post(
            url, headers={"x-sandbox-admin-key": "wrong"}, verify=graph_sandbox.tls()
        )
        redeemed = httpx.post(
            url, headers={"x-sandbox-admin-key": info.admin_key}, verify=graph_sandbox.tls()
        )
        unknown = httpx.post(
            url.replace(invitation["id"], "00000000-0000-0000-0000-000000000000"),
            headers={"x-sandbox-admin-key": info.admin_key},
            verify=graph_sandbox.tls(),
        )
        guest = client.get(f"/users/{guest_id}", params={"$select": "externalUserState"}).json()
        pending = client.get(
            "/users",
            params={"$filter": "externalUserState eq 'PendingAcceptance'", "$top": "999"},
        ).json()["value"]
        audits = _audits(client, guest_id)
    assert refused.status_code == 403
    assert redeemed.status_code == 200
    assert unknown.status_code == 404
    assert guest["externalUserState"] == "Accepted"
    assert guest_id not in {user["id"] for user in pending}
    accepted = audits[0]
    assert accepted["activityDisplayName"] == "Redeem external user invite"
    assert accepted["initiatedBy"]["user"]["id"] == guest_id
    changed = {p["displayName"]: p for p in accepted["targetResources"][0]["modifiedProperties"]}
    assert changed["ExternalUserState"]["oldValue"] == '["PendingAcceptance"]'
    assert changed["ExternalUserState"]["newValue"] == '["Accepted"]'
