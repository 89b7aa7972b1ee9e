"""The sandbox's calendar (users/{id}/events, cancel, forward) as Microsoft documents it: the
organizer cancels (the event leaves the calendar, attendees get a cancellation), forwarding
adds the recipient to the organizer's copy and sends them the request, an attendee cannot
cancel, and each needs a calendar permission."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.graph_sandbox import RunningSandbox


def _two_users(sandbox: RunningSandbox) -> tuple[dict[str, Any], dict[str, Any]]:
    users = [u for u in sandbox.state.users.values() if u.get("mail")]
    return users[0], users[1]


def _meeting(graph: httpx.Client, user: str, subject: str, attendee: str) -> dict[str, Any]:
    answer = graph.post(
        f"/users/{user}/events",
        json={
            "subject": subject,
            "start": {"dateTime": "2030-01-10T09:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2030-01-10T10:00:00", "timeZone": "UTC"},
            "attendees": [{"emailAddress": {"address": attendee}, "type": "required"}],
        },
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_cancel_and_forward_as_documented(graph_sandbox: RunningSandbox) -> None:
    organizer, other = _two_users(graph_sandbox)
    graph_sandbox.state.outbox.clear()
    with graph_sandbox.client() as graph:
        first = _meeting(graph, organizer["id"], "Budget review", other["mail"])
        assert first["isOrganizer"] is True
        assert first["organizer"]["emailAddress"]["address"] == organizer["mail"]
        second = _meeting(graph, organizer["id"], "Roadmap", other["mail"])
        listed = graph.get(
            f"/users/{organizer['userPrincipalName']}/events",
            params={"$select": "subject,isOrganizer,attendees"},
        )
        assert listed.status_code == 200
        assert {e["subject"] for e in listed.json()["value"]} == {"Budget review", "Roadmap"}
        assert set(listed.json()["value"][0]) == {"id", "subject", "isOrganizer", "attendees"}

        forwarded = graph.post(
            f"/users/{organizer['id']}/events/{first['id']}/forward",
            json={
                "ToRecipients": [{"emailAddress": {"address": "dana@example.com"}}],
                "Comment": "Dana, yours now.",
            },
        )
        assert forwarded.status_code == 202 and forwarded.content == b""
        again = graph.get(f"/users/{organizer['id']}/events/{first['id']}").json()
        assert "dana@example.com" in {a["emailAddress"]["address"] for a in again["attendees"]}

        cancelled = graph.post(
            f"/users/{organizer['id']}/events/{second['id']}/cancel",
            json={"Comment": "Not needed any more"},
        )
        assert cancelled.status_code == 202
        gone = graph.get(f"/users/{organizer['id']}/events/{second['id']}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "ErrorItemNotFound"
        bad = graph.post(f"/users/{organizer['id']}/events/{first['id']}/forward", json={})
        assert bad.status_code == 400
    subjects = [m["message"]["subject"] for m in graph_sandbox.state.outbox]
    assert subjects == ["Budget review", "Roadmap", "FW: Budget review", "Canceled: Roadmap"]
    assert graph_sandbox.state.outbox[2]["message"]["toRecipients"] == [
        {"emailAddress": {"address": "dana@example.com"}}
    ]


def test_an_attendee_cannot_cancel_and_a_read_only_app_cannot_write(
    graph_sandbox: RunningSandbox,
) -> None:
    organizer, other = _two_users(graph_sandbox)
    with graph_sandbox.client() as graph:
        event = _meeting(graph, organizer["id"], "Offsite", other["mail"])
    graph_sandbox.state.events[organizer["id"]][event["id"]]["isOrganizer"] = False
    with graph_sandbox.client() as graph:
        refused = graph.post(f"/users/{organizer['id']}/events/{event['id']}/cancel", json={})
    assert refused.status_code == 400
    assert "You need to be an organizer to cancel a meeting" in refused.json()["error"]["message"]
    with graph_sandbox.client(read_only=True) as graph:
        denied = graph.post(f"/users/{organizer['id']}/events/{event['id']}/cancel", json={})
    assert denied.status_code == 403
