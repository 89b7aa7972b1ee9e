"""Your account: who you are signed in as and how; for a local account, changing its password
and setting up an authenticator app (TOTP)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse

from dirguard.services.errors import ServiceError
from dirguard.web.access import Viewer, client_address
from dirguard.web.context import web_context
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(request: Request, who: Viewer, status: int = 200, **values: object) -> HTMLResponse:
    local = None
    if who.method == "password":
        try:
            local = web_context(request).accounts.get(who.name)
        except ServiceError:
            local = None
    return render(request, "account.html", status, local=local, **values)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, who: Viewer) -> HTMLResponse:
    return _page(request, who)


@router.post("/account/password", response_class=HTMLResponse)
async def change_password(
    request: Request,
    who: Viewer,
    current: Annotated[str, Form(max_length=1024)],
    new: Annotated[str, Form(max_length=1024)],
) -> HTMLResponse:
    accounts = web_context(request).accounts
    check = await run_in_threadpool(
        accounts.check_password, who.name, current, address=client_address(request)
    )
    if not check:
        return _page(request, who, 400, error="the current password is wrong")
    try:
        await run_in_threadpool(accounts.set_password, who.name, new, by=who.name)
    except ServiceError as error:
        return _page(request, who, 400, error=error.message)
    return _page(request, who, message="Your password was changed.")


@router.post("/account/totp", response_class=HTMLResponse)
async def enroll_totp(
    request: Request, who: Viewer, current: Annotated[str, Form(max_length=1024)]
) -> HTMLResponse:
    accounts = web_context(request).accounts
    check = await run_in_threadpool(
        accounts.check_password, who.name, current, address=client_address(request)
    )
    if not check:
        return _page(request, who, 400, error="the current password is wrong")
    uri = await run_in_threadpool(accounts.enroll_totp, who.name, by=who.name)
    return _page(request, who, totp_uri=uri)
