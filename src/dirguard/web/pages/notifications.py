"""The notifications page: the e-mail outbox for console administrators — what went out, what
waits for its next attempt, what failed and why — with a button to send a failed one again."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dirguard.services.errors import ServiceError
from dirguard.services.notifications.outbox import outbox, retry
from dirguard.web.access import Administrator
from dirguard.web.context import acting_runtime
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/notifications", response_class=HTMLResponse)
async def notifications_page(
    request: Request, who: Administrator, status: str = "all"
) -> HTMLResponse:
    runtime = acting_runtime(request, who)
    chosen = status if status in ("pending", "sent", "failed") else None
    entries = await run_in_threadpool(outbox, runtime, status=chosen)
    return render(
        request, "notifications/list.html", entries=entries, status=chosen or "all", error=None
    )


@router.post("/notifications/{notification_id}/retry", response_class=HTMLResponse)
async def retry_page(request: Request, who: Administrator, notification_id: int) -> Response:
    runtime = acting_runtime(request, who)
    try:
        await run_in_threadpool(retry, runtime, notification_id)
    except ServiceError as failure:
        entries = await run_in_threadpool(outbox, runtime)
        return render(
            request,
            "notifications/list.html",
            status_code=409,
            entries=entries,
            status="all",
            error=failure.message,
        )
    return RedirectResponse("/notifications", status_code=303)
