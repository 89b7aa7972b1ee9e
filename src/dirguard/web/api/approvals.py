"""``/api/v1/approvals``: the approval requests the caller asked for or may decide on (every one
for an administrator), one request with its decisions, and approving or rejecting it. Whether
the caller may decide is the request's (named approvers, the manager, Entra groups from the
sign-in); an approval-gated web action's ``POST /api/v1/admin/actions/{key}`` answers 202 with
the request it filed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from dirguard.services.approvals.requests import decide, list_requests, show, visible_to
from dirguard.services.console.roles import Principal, Role
from dirguard.services.errors import Problem, ServiceError
from dirguard.web.access import Viewer
from dirguard.web.api.admin_actions import console_user
from dirguard.web.context import acting_runtime

router = APIRouter()


class DecisionBody(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


Status = Annotated[
    Literal["pending", "rejected", "expired", "executed", "failed", "all"],
    Query(description="Only requests in this state (all: every one)"),
]


@router.get("/approvals", summary="Approval requests the caller asked for or may decide on")
async def approvals(request: Request, who: Viewer, status: Status = "pending") -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    rows = await run_in_threadpool(
        list_requests,
        runtime,
        console_user(who),
        administrator=who.may(Role.ADMINISTRATOR),
        status=None if status == "all" else status,
    )
    return {"requests": rows}


@router.get("/approvals/{request_id}", summary="One approval request and its decisions")
async def approval(request: Request, who: Viewer, request_id: int) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    row = await run_in_threadpool(show, runtime, request_id)
    if not visible_to(row, console_user(who), administrator=who.may(Role.ADMINISTRATOR)):
        raise ServiceError(f"no approval request {request_id}", Problem.NOT_FOUND)
    return row


async def _decide(
    request: Request, who: Principal, request_id: int, approve: bool, note: str | None
) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    decided: dict[str, Any] = await run_in_threadpool(
        decide, runtime, console_user(who), request_id, approve, note
    )
    return decided


@router.post("/approvals/{request_id}/approve", summary="Approve (runs it once enough approved)")
async def approve(
    request: Request, who: Viewer, request_id: int, body: DecisionBody | None = None
) -> dict[str, Any]:
    return await _decide(request, who, request_id, True, body.note if body else None)


@router.post("/approvals/{request_id}/reject", summary="Reject (the request ends)")
async def reject(
    request: Request, who: Viewer, request_id: int, body: DecisionBody | None = None
) -> dict[str, Any]:
    return await _decide(request, who, request_id, False, body.note if body else None)
