"""Console accounts page (administrator): add local accounts, change roles, disable, remove a
second factor."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dirguard.services.console.roles import Role
from dirguard.services.errors import ServiceError
from dirguard.web.access import Administrator
from dirguard.web.context import web_context
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)
BACK = "/admin/accounts"


def _page(request: Request, status: int = 200, **values: object) -> HTMLResponse:
    accounts = web_context(request).accounts.list()
    return render(
        request, "admin_accounts.html", status, accounts=accounts, roles=list(Role), **values
    )


@router.get("/admin/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, who: Administrator) -> HTMLResponse:
    return _page(request)


@router.post("/admin/accounts", response_class=HTMLResponse)
async def add_account(
    request: Request,
    who: Administrator,
    name: Annotated[str, Form(max_length=255)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form(max_length=16)] = "viewer",
) -> Response:
    try:
        await run_in_threadpool(
            web_context(request).accounts.add, name, Role.parse(role), password, by=who.name
        )
    except ServiceError as error:
        return _page(request, 400, error=error.message)
    return RedirectResponse(BACK, status_code=303)


@router.post("/admin/accounts/{name}/role")
def set_role(
    request: Request, who: Administrator, name: str, role: Annotated[str, Form(max_length=16)]
) -> Response:
    web_context(request).accounts.set_role(name, Role.parse(role), by=who.name)
    return RedirectResponse(BACK, status_code=303)


@router.post("/admin/accounts/{name}/disable")
def disable(request: Request, who: Administrator, name: str) -> Response:
    web_context(request).accounts.set_disabled(name, True, by=who.name)
    return RedirectResponse(BACK, status_code=303)


@router.post("/admin/accounts/{name}/enable")
def enable(request: Request, who: Administrator, name: str) -> Response:
    web_context(request).accounts.set_disabled(name, False, by=who.name)
    return RedirectResponse(BACK, status_code=303)


@router.post("/admin/accounts/{name}/reset-totp")
def reset_totp(request: Request, who: Administrator, name: str) -> Response:
    web_context(request).accounts.reset_totp(name, by=who.name)
    return RedirectResponse(BACK, status_code=303)
