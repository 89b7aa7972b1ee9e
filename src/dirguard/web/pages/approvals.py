"""The approvals pages: the requests waiting for the signed-in person (or asked by them), and
one request with its preview, its decisions and — for an eligible approver while it is pending
— Approve and Reject buttons. The e-mails' links open this page (``?decision=approve``), so
deciding always needs a sign-in and a click on a CSRF-protected form, never a bare GET."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dirguard.services.approvals.requests import decide, list_requests, show, visible_to
from dirguard.services.console.roles import Role
from dirguard.services.errors import Problem, ServiceError
from dirguard.web.access import Viewer
from dirguard.web.api.admin_actions import console_user
from dirguard.web.context import acting_runtime
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/approvals", response_class=HTMLResponse)
async def approvals_page(request: Request, who: Viewer, status: str = "pending") -> HTMLResponse:
    runtime = acting_runtime(request, who)
    chosen = status if status in ("pending", "executed", "rejected", "expired", "failed") else None
    rows = await run_in_threadpool(
        list_requests,
        runtime,
        console_user(who),
        administrator=who.may(Role.ADMINISTRATOR),
        status=chosen,
    )
    return render(request, "approvals/list.html", rows=rows, status=chosen or "all")


@router.get("/approvals/{request_id}", response_class=HTMLResponse)
async def approval_page(
    request: Request, who: Viewer, request_id: int, decision: str | None = None
) -> HTMLResponse:
    runtime = acting_runtime(request, who)
    user = console_user(who)
    row = await run_in_threadpool(show, runtime, request_id)
    if not visible_to(row, user, administrator=who.may(Role.ADMINISTRATOR)):
        raise ServiceError(f"no approval request {request_id}", Problem.NOT_FOUND)
    mine = row["requester"].casefold() == who.name.casefold()
    decided = any(d["by"].casefold() == who.name.casefold() for d in row["decisions"])
    can_decide = (
        row["status"] == "pending"
        and not mine
        and not decided
        and visible_to(row, user, administrator=False)
    )
    return render(
        request,
        "approvals/request.html",
        row=row,
        can_decide=can_decide,
        decision=decision if decision in ("approve", "reject") else None,
        error=None,
    )


@router.post("/approvals/{request_id}", response_class=HTMLResponse)
async def decide_page(
    request: Request,
    who: Viewer,
    request_id: int,
    decision: Annotated[str, Form(max_length=16)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    runtime = acting_runtime(request, who)
    if decision not in ("approve", "reject"):
        raise ServiceError(f"decision {decision!r}: approve or reject", Problem.CONFLICT)
    try:
        await run_in_threadpool(
            decide, runtime, console_user(who), request_id, decision == "approve", note or None
        )
    except ServiceError as failure:
        row = await run_in_threadpool(show, runtime, request_id)
        status = 403 if failure.problem is Problem.PERMISSION else 409
        return render(
            request,
            "approvals/request.html",
            status_code=status,
            row=row,
            can_decide=False,
            decision=None,
            error=failure.message,
        )
    return RedirectResponse(f"/approvals/{request_id}", status_code=303)
