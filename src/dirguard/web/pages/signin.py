"""Signing in to the console with a local account, and signing out.

Signing in replaces the visitor's session with a new one (new id, new CSRF token): a session
id planted before sign-in is useless after it. Entra ID sign-in is in :mod:`.signin_entra`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dirguard.web.access import (
    Anyone,
    Viewer,
    browser_session,
    client_address,
    drop_session,
    ensure_session,
    replace_session,
)
from dirguard.web.context import web_context
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """A page of this console to go to after sign-in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _form(request: Request, status: int = 200, **values: object) -> HTMLResponse:
    ensure_session(request)
    oidc = web_context(request).settings.oidc is not None
    return render(request, "signin.html", status_code=status, entra=oidc, **values)


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, who: Anyone, next: str | None = None) -> Response:
    if who is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _form(request, next=safe_next(next))


@router.post("/signin", response_class=HTMLResponse)
async def signin(
    request: Request,
    _who: Anyone,
    name: Annotated[str, Form(max_length=255)],
    password: Annotated[str, Form(max_length=1024)],
    code: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    context = web_context(request)
    result = await run_in_threadpool(
        context.accounts.sign_in, name, password, code or None, address=client_address(request)
    )
    if result.principal is None:
        status = 429 if result.refusal and "too many" in result.refusal else 401
        return _form(
            request,
            status,
            error=result.refusal,
            name=name,
            next=safe_next(next),
            needs_totp=result.needs_totp,
        )
    session = await run_in_threadpool(
        context.sessions.sign_in, browser_session(request), result.principal
    )
    replace_session(request, session)
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/signout")
async def signout(request: Request, _who: Viewer) -> Response:
    session = browser_session(request)
    if session is not None:
        await run_in_threadpool(
            web_context(request).sessions.sign_out, session, address=client_address(request)
        )
    drop_session(request)
    return RedirectResponse("/signin", status_code=303)
