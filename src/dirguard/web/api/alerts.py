"""``/api/v1/alerts``: the alerts the threat definitions raised (viewer), and resolving or
dismissing one with a reason (operator). The use cases are
:mod:`dirguard.services.threats.alert_cases`; a bad filter or an alert that is not open is a
problem+json."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from dirguard.services.threats.alert_cases import AlertQuery, list_alerts, set_state, show_alert
from dirguard.web.access import Operator, Viewer
from dirguard.web.context import acting_runtime

router = APIRouter()


class StateChange(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


def query_of(status: str, severity: str | None, rule: str | None, limit: int) -> AlertQuery:
    return AlertQuery(
        status=None if status == "all" else status, min_severity=severity, rule=rule, limit=limit
    )


@router.get("/alerts", summary="Alerts, most recent first (open ones by default)")
async def alerts(
    request: Request,
    who: Viewer,
    status: Annotated[str, Query(description="open, resolved, dismissed or all")] = "open",
    severity: Annotated[str | None, Query(description="at least this severity")] = None,
    rule: Annotated[str | None, Query(description="only this rule's alerts")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 200,
) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    found = await run_in_threadpool(list_alerts, runtime, query_of(status, severity, rule, limit))
    return {"alerts": found}


@router.get("/alerts/{alert_id}", summary="One alert with the changes that make it up")
async def alert(request: Request, who: Viewer, alert_id: int) -> dict[str, Any]:
    return await run_in_threadpool(show_alert, acting_runtime(request, who), alert_id)


@router.post("/alerts/{alert_id}/resolve", summary="Resolve an open alert, with why")
async def resolve(
    request: Request, who: Operator, alert_id: int, body: StateChange
) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    return await run_in_threadpool(set_state, runtime, alert_id, "resolved", body.reason)


@router.post("/alerts/{alert_id}/dismiss", summary="Dismiss an open alert, with why")
async def dismiss(
    request: Request, who: Operator, alert_id: int, body: StateChange
) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    return await run_in_threadpool(set_state, runtime, alert_id, "dismissed", body.reason)
