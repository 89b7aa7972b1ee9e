"""The API tokens page: your tokens, a form to make one (shown once), revoke buttons."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dirguard.services.console.roles import Role
from dirguard.services.errors import ServiceError
from dirguard.web.access import Viewer
from dirguard.web.api.tokens import made_by_a_person
from dirguard.web.context import web_context
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)


def _page(request: Request, who: Viewer, status: int = 200, **values: object) -> HTMLResponse:
    context = web_context(request)
    now = context.runtime.clock()
    tokens = [(t, t.state(now)) for t in context.tokens.list(who.name)]
    roles = [r for r in Role if r <= who.role]
    return render(request, "tokens.html", status, tokens=tokens, roles=roles, **values)


@router.get("/tokens", response_class=HTMLResponse)
def tokens_page(request: Request, who: Viewer) -> HTMLResponse:
    return _page(request, who)


@router.post("/tokens", response_class=HTMLResponse)
async def create_token(
    request: Request,
    who: Viewer,
    name: Annotated[str, Form(max_length=255)],
    role: Annotated[str, Form(max_length=16)] = "viewer",
    days: Annotated[int, Form(ge=1, le=366)] = 90,
) -> HTMLResponse:
    context = web_context(request)
    try:
        made_by_a_person(who)
        made = await run_in_threadpool(
            context.tokens.create,
            who,
            name=name,
            role=Role.parse(role),
            lifetime=timedelta(days=days),
        )
    except ServiceError as error:
        return _page(request, who, 400, error=error.message)
    return _page(request, who, 201, new_token=made.token, new_info=made.info)


@router.post("/tokens/{token_id}/revoke")
def revoke_token(request: Request, who: Viewer, token_id: int) -> Response:
    web_context(request).tokens.revoke(who, token_id)
    return RedirectResponse("/tokens", status_code=303)
