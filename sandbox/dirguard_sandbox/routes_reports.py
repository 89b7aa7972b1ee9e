"""Microsoft 365 usage reports and users' OneDrive.

- ``GET /reports/getOffice365ActiveUserDetail(period='D7'|'D30'|'D90'|'D180')``
  (https://learn.microsoft.com/graph/api/reportroot-getoffice365activeuserdetail): "If
  successful, this method returns a 302 Found response that redirects to a preauthenticated
  download URL for the report", whose answer is the CSV (``text/csv``, UTF-8 with a byte order
  mark) with the columns of the office365ActiveUserDetail resource
  (https://learn.microsoft.com/graph/api/resources/office365activeuserdetail). A period other
  than D7, D30, D90, D180 is refused (400). The download URL needs no token and works a few
  minutes; here it is ``/_sandbox/reports/{token}`` on the same host, usable once.
  Licenses come from the users' assigned SKUs' service plans (Exchange, SharePoint — which
  also counts as OneDrive —, Skype for Business, Teams, Yammer); last activity dates from the
  tenant's ``usage_activity`` (what the services would have recorded). The report is as of the
  day before the tenant's today (``Report Refresh Date``), and lists every user who holds a
  license or has activity. User names are shown (the tenant's "concealed names" setting off).
- ``GET /users/{id}/drive`` (https://learn.microsoft.com/graph/api/drive-get): the user's
  OneDrive, ``webUrl`` ``https://{tenant}-my.sharepoint.com/personal/{upn, . and @ as _}/
  Documents``; a user without a SharePoint (OneDrive) plan has none: 404 ``ResourceNotFound``
  "User's mysite not found."
"""

from __future__ import annotations

import csv
import datetime
import io
import secrets

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dirguard_sandbox.directory_state import DirectoryState, Json
from dirguard_sandbox.errors import GraphError, bad_request
from dirguard_sandbox.graph_routing import Call, graph_json, handles
from dirguard_sandbox.routes_users import find_user

PERIODS = {"D7": 7, "D30": 30, "D90": 90, "D180": 180}
PRODUCTS = ("Exchange", "OneDrive", "SharePoint", "Skype For Business", "Yammer", "Teams")
_PLAN_PRODUCTS = {
    "EXCHANGE": ("Exchange",),
    "SHAREPOINT": ("SharePoint", "OneDrive"),
    "MCOSTANDARD": ("Skype For Business",),
    "TEAMS": ("Teams",),
    "YAMMER": ("Yammer",),
}
HEADER = [
    "Report Refresh Date",
    "User Principal Name",
    "Display Name",
    "Is Deleted",
    "Deleted Date",
    *(f"Has {p} License" for p in PRODUCTS),
    *(f"{p} Last Activity Date" for p in PRODUCTS),
    *(f"{p} License Assign Date" for p in PRODUCTS),
    "Assigned Products",
]


def licensed_products(state: DirectoryState, user: Json) -> tuple[set[str], list[str]]:
    """The products the user's SKUs license, and the SKUs' part numbers."""
    products: set[str] = set()
    parts: list[str] = []
    for assigned in user.get("assignedLicenses") or []:
        sku = next(
            (v for v in state.subscribed_skus.values() if v["skuId"] == assigned["skuId"]), None
        )
        if sku is None:
            continue
        parts.append(str(sku["skuPartNumber"]))
        disabled = set(assigned.get("disabledPlans") or [])
        for plan in sku.get("servicePlans", []):
            if plan["servicePlanId"] in disabled:
                continue
            for prefix, names in _PLAN_PRODUCTS.items():
                if str(plan["servicePlanName"]).startswith(prefix):
                    products.update(names)
    return products, parts


def active_user_csv(state: DirectoryState) -> str:
    refresh = (state.now() - datetime.timedelta(days=1)).date().isoformat()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for user in sorted(state.users.values(), key=lambda u: u["userPrincipalName"].lower()):
        products, parts = licensed_products(state, user)
        activity = state.usage_activity.get(user["id"], {})
        if not products and not activity:
            continue
        created = str(user.get("createdDateTime") or "")[:10]
        writer.writerow(
            [
                refresh,
                user["userPrincipalName"],
                user.get("displayName") or "",
                "False",
                "",
                *(str(p in products) for p in PRODUCTS),
                *(activity.get(p, "") for p in PRODUCTS),
                *((created if p in products else "") for p in PRODUCTS),
                "+".join(parts),
            ]
        )
    return "\ufeff" + out.getvalue()


@handles("GET", "/reports/getOffice365ActiveUserDetail(period='{period}')")
async def office365_active_user_detail(call: Call) -> Response:
    period = call.param("period")
    if period not in PERIODS:
        raise bad_request(
            f"Invalid value for period: '{period}'. Use D7, D30, D90 or D180.",
            code="BadRequest",
        )
    token = secrets.token_urlsafe(24)
    call.state.report_downloads[token] = active_user_csv(call.state)
    url = call.request.url
    return Response(
        status_code=302,
        headers={"Location": f"{url.scheme}://{url.netloc}/_sandbox/reports/{token}"},
    )


def download_routes(state: DirectoryState) -> list[Route]:
    """The preauthenticated report downloads (no token: the URL is the capability)."""

    async def download(request: Request) -> Response:
        body = state.report_downloads.pop(request.path_params["token"], None)
        if body is None:
            return Response("The report link has expired.", status_code=404)
        return Response(body.encode("utf-8"), media_type="application/octet-stream")

    return [Route("/_sandbox/reports/{token}", download, methods=["GET"])]


@handles("GET", "/users/{user-id}/drive")
async def get_drive(call: Call) -> Response:
    state = call.state
    user = find_user(state, call.param("user_id"))
    products, _ = licensed_products(state, user)
    if "OneDrive" not in products:
        raise GraphError(404, "ResourceNotFound", "User's mysite not found.")
    initial = [d for d in state.domains if d.endswith(".onmicrosoft.com")] or list(state.domains)
    tenant = (initial[0] if initial else "contoso").split(".")[0]
    personal = user["userPrincipalName"].lower().replace(".", "_").replace("@", "_")
    return graph_json(
        {
            "@odata.context": f"{call.graph_base}/$metadata#drives/$entity",
            "id": f"b!{user['id'].replace('-', '')}",
            "driveType": "business",
            "name": "OneDrive",
            "createdDateTime": user.get("createdDateTime"),
            "webUrl": f"https://{tenant}-my.sharepoint.com/personal/{personal}/Documents",
            "owner": {
                "user": {
                    "id": user["id"],
                    "displayName": user.get("displayName"),
                    "email": user.get("mail"),
                }
            },
        }
    )
