"""A user's calendar: ``users/{id}/events`` (list, create, get, delete) and the meeting actions
``cancel`` and ``forward``, as Microsoft documents them.

- "Create event" (https://learn.microsoft.com/graph/api/user-post-events): the mailbox's user is
  the organizer (``isOrganizer`` true on their copy); the attendees are invited (each invitation
  lands in the outbox). Answers 201 with the event.
- "event: cancel" (https://learn.microsoft.com/graph/api/event-cancel): "allows the organizer of a
  meeting to send a cancellation message and cancel the event. The action moves the event to the
  Deleted Items folder" — here it leaves the calendar and a cancellation to the attendees lands
  in the outbox; 202. An attendee calling it gets 400 ("You need to be an organizer to cancel a
  meeting").
- "event: forward" (https://learn.microsoft.com/graph/api/event-forward): "forward the meeting
  request to a new recipient"; the recipient is added to the organizer's copy of the meeting
  (the page says so for an attendee's forward; Exchange does the same for the organizer's);
  the meeting request lands in the outbox; 202. ``ToRecipients`` is required.
- "Delete event" (event-delete): 204.

Only the organizer's copy is kept: attendees' calendars are not modelled. Times are stored as the
request gave them and answered in UTC when given in UTC (no ``Prefer: outlook.timezone``).
"""

from __future__ import annotations

import uuid

from starlette.responses import Response

from dirguard_sandbox.directory_state import DirectoryState, Json, graph_time
from dirguard_sandbox.errors import GraphError, bad_request
from dirguard_sandbox.graph_routing import Call, graph_json, handles, no_content
from dirguard_sandbox.odata_query import context_url, list_page, parse_query, project
from dirguard_sandbox.routes_users import find_user

EVENT_PROPERTIES = frozenset(
    {
        "id",
        "categories",
        "changeKey",
        "createdDateTime",
        "lastModifiedDateTime",
        "attendees",
        "body",
        "bodyPreview",
        "end",
        "hasAttachments",
        "iCalUId",
        "importance",
        "isAllDay",
        "isCancelled",
        "isOnlineMeeting",
        "isOrganizer",
        "location",
        "locations",
        "organizer",
        "responseRequested",
        "sensitivity",
        "showAs",
        "start",
        "subject",
        "type",
        "webLink",
    }
)


def _calendar(state: DirectoryState, user: Json) -> dict[str, Json]:
    return state.events.setdefault(user["id"], {})


def _event(call: Call) -> tuple[Json, dict[str, Json], Json]:
    user = find_user(call.state, call.param("user_id"))
    calendar = _calendar(call.state, user)
    event = calendar.get(call.param("event_id"))
    if event is None:
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )
    return user, calendar, event


def _time(value: object, name: str) -> Json:
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise bad_request(f"'{name}' needs a dateTimeTimeZone: {{dateTime, timeZone}}.")
    return {"dateTime": value["dateTime"], "timeZone": str(value.get("timeZone") or "UTC")}


def _mail(state: DirectoryState, user: Json, to: list[str], subject: str, note: str) -> None:
    state.outbox.append(
        {
            "from": user.get("mail") or user["userPrincipalName"],
            "userId": user["id"],
            "sentDateTime": graph_time(state.now()),
            "saveToSentItems": True,
            "message": {
                "subject": subject,
                "body": {"contentType": "Text", "content": note},
                "toRecipients": [{"emailAddress": {"address": a}} for a in to],
            },
        }
    )


def _addresses(event: Json) -> list[str]:
    return [
        str((a.get("emailAddress") or {}).get("address"))
        for a in event.get("attendees") or []
        if (a.get("emailAddress") or {}).get("address")
    ]


def _recipients(value: object, name: str) -> list[Json]:
    if not isinstance(value, list) or not value:
        raise bad_request(f"'{name}' needs at least one recipient.", code="ErrorInvalidRecipients")
    for item in value:
        address = (item.get("emailAddress") or {}) if isinstance(item, dict) else {}
        if "@" not in str(address.get("address") or ""):
            raise bad_request(
                f"At least one recipient isn't valid: {item!r}.", code="ErrorInvalidRecipients"
            )
    return value


def _with_id(record: Json, item: Json) -> None:
    """Outlook items answer their id whatever ``$select`` says (as the page's examples show)."""
    item.setdefault("id", record["id"])


@handles("GET", "/users/{user-id}/events")
async def list_events(call: Call) -> Response:
    user = find_user(call.state, call.param("user_id"))
    options = parse_query(
        call.request.query_params,
        call.request.headers,
        known=EVENT_PROPERTIES,
        type_name="event",
        orderable=frozenset({"createdDateTime", "subject"}),
    )
    body = list_page(
        list(_calendar(call.state, user).values()),
        options,
        graph_base=call.graph_base,
        path=call.path,
        entity_set=f"users('{user['id']}')/events",
        default_select=None,
        decorate=_with_id,
    )
    return graph_json(body)


@handles("POST", "/users/{user-id}/events")
async def create_event(call: Call) -> Response:
    state = call.state
    user = find_user(state, call.param("user_id"))
    body = await call.body()
    subject = body.get("subject")
    if not isinstance(subject, str):
        raise bad_request("'subject' is required and must be a string.")
    attendees = body.get("attendees") or []
    if not isinstance(attendees, list):
        raise bad_request("'attendees' must be a list of attendee.")
    now = graph_time(state.now())
    event: Json = {
        "id": f"AAMk{uuid.uuid4().hex}",
        "createdDateTime": now,
        "lastModifiedDateTime": now,
        "changeKey": uuid.uuid4().hex[:16],
        "categories": [],
        "subject": subject,
        "body": body.get("body") or {"contentType": "text", "content": ""},
        "bodyPreview": str((body.get("body") or {}).get("content") or "")[:255],
        "start": _time(body.get("start"), "start"),
        "end": _time(body.get("end"), "end"),
        "location": body.get("location") or {"displayName": ""},
        "attendees": [
            {
                "type": str(a.get("type") or "required"),
                "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": dict(a.get("emailAddress") or {}),
            }
            for a in attendees
            if isinstance(a, dict)
        ],
        "organizer": {
            "emailAddress": {
                "name": user.get("displayName"),
                "address": user.get("mail") or user["userPrincipalName"],
            }
        },
        "isOrganizer": True,
        "isCancelled": False,
        "isAllDay": bool(body.get("isAllDay", False)),
        "type": "singleInstance",
    }
    _calendar(state, user)[event["id"]] = event
    invited = _addresses(event)
    if invited:
        _mail(state, user, invited, subject, "Meeting request")
    context = context_url(call.graph_base, f"users('{user['id']}')/events", None)
    return graph_json({"@odata.context": f"{context}/$entity", **event}, status=201)


@handles("GET", "/users/{user-id}/events/{event-id}")
async def get_event(call: Call) -> Response:
    user, _, event = _event(call)
    options = parse_query(
        call.request.query_params, call.request.headers, known=EVENT_PROPERTIES, type_name="event"
    )
    context = context_url(call.graph_base, f"users('{user['id']}')/events", options.select)
    item = project(event, options.select, None)
    _with_id(event, item)
    return graph_json({"@odata.context": f"{context}/$entity", **item})


@handles("DELETE", "/users/{user-id}/events/{event-id}")
async def delete_event(call: Call) -> Response:
    _, calendar, event = _event(call)
    del calendar[event["id"]]
    return no_content()


@handles("POST", "/users/{user-id}/events/{event-id}/cancel")
async def cancel_event(call: Call) -> Response:
    user, calendar, event = _event(call)
    body = await call.body()
    if not event.get("isOrganizer"):
        raise GraphError(
            400,
            "ErrorAccessDenied",
            "Your request can't be completed. You need to be an organizer to cancel a meeting.",
        )
    del calendar[event["id"]]
    attendees = _addresses(event)
    if attendees:
        comment = str(body.get("Comment") or body.get("comment") or "")
        _mail(call.state, user, attendees, f"Canceled: {event['subject']}", comment)
    return Response(status_code=202)


@handles("POST", "/users/{user-id}/events/{event-id}/forward")
async def forward_event(call: Call) -> Response:
    user, _, event = _event(call)
    body = await call.body()
    recipients = _recipients(body.get("ToRecipients", body.get("toRecipients")), "ToRecipients")
    known = {a.casefold() for a in _addresses(event)}
    for recipient in recipients:
        address = dict(recipient["emailAddress"])
        if str(address["address"]).casefold() not in known:
            event["attendees"].append(
                {
                    "type": "required",
                    "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                    "emailAddress": address,
                }
            )
    event["lastModifiedDateTime"] = graph_time(call.state.now())
    comment = str(body.get("Comment") or body.get("comment") or "")
    to = [str(r["emailAddress"]["address"]) for r in recipients]
    _mail(call.state, user, to, f"FW: {event['subject']}", comment)
    return Response(status_code=202)
