"""Usage reports, people and OneDrive: the operations and the permissions Microsoft's pages accept.

- "reportRoot: getOffice365ActiveUserDetail"
  (https://learn.microsoft.com/graph/api/reportroot-getoffice365activeuserdetail):
  Reports.Read.All (delegated and application).
- "List people" (https://learn.microsoft.com/graph/api/user-list-people): People.Read
  (delegated), People.Read.All (delegated and application); ``/me/people`` needs a user.
- "Get drive" (https://learn.microsoft.com/graph/api/drive-get), ``/users/{id}/drive``:
  Files.Read.All, Files.ReadWrite.All, Sites.Read.All, Sites.ReadWrite.All (application).

The application permission ids are those the Microsoft Graph permissions reference publishes.
"""

from __future__ import annotations

from dirguard_sandbox.permissions_table import AppPermission, Endpoint

REPORTS_PERMISSIONS: tuple[AppPermission, ...] = (
    AppPermission(
        value="Reports.Read.All",
        id="230c1aed-a721-4c5d-9cb4-a90514e508ef",
        display_name="Read all usage reports",
    ),
    AppPermission(
        value="People.Read.All",
        id="b528084d-ad10-4598-8b93-929746b4d7d6",
        display_name="Read all users' relevant people lists",
    ),
    AppPermission(
        value="Files.Read.All",
        id="01d4889c-1287-42c6-ac1f-5d1e02578ef6",
        display_name="Read files in all site collections",
    ),
)

REPORTS_ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        method="GET",
        template="/me/people",
        permissions=("People.Read", "People.Read.All"),
        delegated_only=True,
    ),
    Endpoint(
        method="GET",
        template="/users/{user-id}/people",
        permissions=("People.Read", "People.Read.All"),
    ),
    Endpoint(
        method="GET",
        template="/reports/getOffice365ActiveUserDetail(period='{period}')",
        permissions=("Reports.Read.All",),
    ),
    Endpoint(
        method="GET",
        template="/users/{user-id}/drive",
        permissions=("Files.Read.All", "Files.ReadWrite.All", "Sites.Read.All"),
    ),
)
