"""Signing in with Microsoft Entra ID (OpenID Connect, authorization code + PKCE).

``/signin/entra`` keeps the flow's state, nonce and PKCE verifier in the visitor's (anonymous)
session and sends the browser to Entra ID; ``/signin/entra/callback`` checks the answer
against them and, when Entra ID and the role mapping agree, replaces the session with a new
signed-in one. The session cookie is ``SameSite=Lax`` so that it comes back with this
top-level redirect from Entra ID.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from dirguard.services.errors import ServiceError
from dirguard.web.access import Anyone, client_address, ensure_session, replace_session
from dirguard.web.context import web_context
from dirguard.web.pages.signin import safe_next
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)
CALLBACK = "/signin/entra/callback"


def _refused(request: Request, status: int, message: str) -> Response:
    ensure_session(request)
    return render(request, "signin.html", status, entra=True, error=message, next="/")


@router.get("/signin/entra")
async def start(request: Request, _who: Anyone, next: str | None = None) -> Response:
    context = web_context(request)
    if context.entra is None:
        return _refused(request, 404, "Entra ID sign-in is not configured ([web.oidc])")
    redirect_uri = context.entra.config.redirect_url or str(request.url_for("entra_callback"))
    try:
        url, flow = await run_in_threadpool(context.entra.begin, redirect_uri)
    except ServiceError as error:
        return _refused(request, 503, error.message)
    session = await run_in_threadpool(ensure_session, request)
    flow["next"] = safe_next(next)
    await run_in_threadpool(context.sessions.save_data, session, {**session.data, "oidc": flow})
    return RedirectResponse(url, status_code=303)


@router.get(CALLBACK, name="entra_callback")
async def callback(
    request: Request,
    _who: Anyone,
    code: str | None = None,
    state: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    context = web_context(request)
    if context.entra is None:
        return _refused(request, 404, "Entra ID sign-in is not configured ([web.oidc])")
    if error is not None or not code or not state:
        detail = error_description or error or "the answer has no code"
        return _refused(request, 401, f"Entra ID did not sign you in: {detail}")
    session = await run_in_threadpool(ensure_session, request)
    flow = session.data.get("oidc")
    try:
        principal = await run_in_threadpool(
            context.entra.complete, flow, code=code, state=state, address=client_address(request)
        )
    except ServiceError as refusal:
        return _refused(request, 403 if "role" in refusal.message else 401, refusal.message)
    target = safe_next(flow.get("next") if isinstance(flow, dict) else None)
    signed_in = await run_in_threadpool(context.sessions.sign_in, session, principal)
    replace_session(request, signed_in)
    return RedirectResponse(target, status_code=303)
