"""The alerts pages: the list by state (Open / Resolved / Dismissed) and severity, one alert
with its changes, actor, source, rule text and what auto-undo did, and the resolve and dismiss
forms (operator and above; the server checks the role on every request)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dirguard.services.console.roles import Role
from dirguard.services.errors import ServiceError
from dirguard.services.threats.alert_cases import list_alerts, set_state, show_alert
from dirguard.web.access import Operator, Viewer
from dirguard.web.api.alerts import query_of
from dirguard.web.context import acting_runtime
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)

STATES = ("open", "resolved", "dismissed", "all")
SEVERITIES = ("info", "low", "medium", "high", "critical")


@router.get("/alerts", response_class=HTMLResponse)
async def alerts_page(
    request: Request, who: Viewer, status: str = "open", severity: str | None = None
) -> HTMLResponse:
    runtime = acting_runtime(request, who)
    error = None
    try:
        found = await run_in_threadpool(
            list_alerts, runtime, query_of(status, severity or None, None, 500)
        )
    except ServiceError as problem:
        found, error = [], problem.message
    return render(
        request,
        "alerts/list.html",
        400 if error else 200,
        alerts=found,
        status=status,
        severity=severity or "",
        states=STATES,
        severities=SEVERITIES,
        error=error,
    )


def _detail(
    request: Request, who: Viewer, alert_id: int, status: int = 200, error: str | None = None
) -> HTMLResponse:
    alert = show_alert(acting_runtime(request, who), alert_id)
    may_act = who.may(Role.OPERATOR) and alert["status"] == "open"
    return render(request, "alerts/detail.html", status, alert=alert, may_act=may_act, error=error)


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
async def alert_page(request: Request, who: Viewer, alert_id: int) -> HTMLResponse:
    return await run_in_threadpool(_detail, request, who, alert_id)


@router.post("/alerts/{alert_id}/{action}")
async def change_state(
    request: Request,
    who: Operator,
    alert_id: int,
    action: str,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    wanted = {"resolve": "resolved", "dismiss": "dismissed"}.get(action)
    if wanted is None:
        return await run_in_threadpool(
            _detail, request, who, alert_id, 404, f"no action {action!r}"
        )
    try:
        await run_in_threadpool(set_state, acting_runtime(request, who), alert_id, wanted, reason)
    except ServiceError as problem:
        return await run_in_threadpool(_detail, request, who, alert_id, 400, problem.message)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)
