"""Calendars: the operations on a user's events and the permissions Microsoft's pages accept.

- "List events" (https://learn.microsoft.com/graph/api/user-list-events) and "Get event"
  (https://learn.microsoft.com/graph/api/event-get): Calendars.ReadBasic, Calendars.Read
  (application), Calendars.ReadWrite; delegated access to another user's calendar shared with the
  caller: Calendars.Read.Shared / Calendars.ReadWrite.Shared.
- "Create event" (https://learn.microsoft.com/graph/api/user-post-events), "Delete event"
  (https://learn.microsoft.com/graph/api/event-delete), "event: cancel"
  (https://learn.microsoft.com/graph/api/event-cancel): Calendars.ReadWrite.
- "event: forward" (https://learn.microsoft.com/graph/api/event-forward): Calendars.Read.

The application permission ids are those the Microsoft Graph permissions reference publishes.
"""

from __future__ import annotations

from dirguard_sandbox.permissions_table import AppPermission, Endpoint

CALENDAR_PERMISSIONS: tuple[AppPermission, ...] = (
    AppPermission(
        value="Calendars.Read",
        id="798ee544-9d2d-430c-a058-570e29e34338",
        display_name="Read calendars in all mailboxes",
    ),
    AppPermission(
        value="Calendars.ReadWrite",
        id="ef54d2bf-783f-4e0f-bca1-3210c0444d99",
        display_name="Read and write calendars in all mailboxes",
        implies=("Calendars.Read",),
    ),
)

_READ = ("Calendars.Read", "Calendars.ReadWrite", "Calendars.ReadWrite.Shared")
_WRITE = ("Calendars.ReadWrite", "Calendars.ReadWrite.Shared")
_EVENT = "/users/{user-id}/events/{event-id}"

CALENDAR_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(method="GET", template="/users/{user-id}/events", permissions=_READ),
    Endpoint(method="POST", template="/users/{user-id}/events", permissions=_WRITE),
    Endpoint(method="GET", template=_EVENT, permissions=_READ),
    Endpoint(method="DELETE", template=_EVENT, permissions=_WRITE),
    Endpoint(method="POST", template=f"{_EVENT}/cancel", permissions=_WRITE),
    Endpoint(method="POST", template=f"{_EVENT}/forward", permissions=_READ),
)
