"""``/api/v1/notifications``: the e-mail outbox (sent, pending, failed, with attempts and the
last error) for console administrators, and sending a failed message again."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from dirguard.services.notifications.outbox import outbox, retry
from dirguard.web.access import Administrator
from dirguard.web.context import acting_runtime

router = APIRouter()

Status = Annotated[
    Literal["pending", "sent", "failed", "all"], Query(description="Only messages in this state")
]


@router.get("/notifications", summary="The notification outbox, newest first")
async def notifications(
    request: Request, who: Administrator, status: Status = "all"
) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    entries = await run_in_threadpool(outbox, runtime, status=None if status == "all" else status)
    return {"notifications": [e.as_json() for e in entries]}


@router.post("/notifications/{notification_id}/retry", summary="Send a failed message again")
async def retry_one(request: Request, who: Administrator, notification_id: int) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    done = await run_in_threadpool(retry, runtime, notification_id)
    return dict(done.__dict__)
