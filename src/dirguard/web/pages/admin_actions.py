"""Pages: the Administrator's web actions — find an object in your scopes, fill in the action's
form, see its preview, confirm.

The preview step keeps the request (a password included) in this process's memory only, under
a random id tied to the browser session, for a few minutes: the confirm form carries the id, not
the password, and nothing secret is stored or sent back to the browser. Confirming runs the
action again on the object as it is then (the service re-checks the delegation).
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dirguard.catalog.admin_actions import ACTIONS_BY_KEY, AdminAction, Risk
from dirguard.services.admin.action_inputs import params_from_form
from dirguard.services.admin.actions import (
    ActionRequest,
    ListedObject,
    list_objects,
    preview_action,
)
from dirguard.services.admin.tenant_facts import tenant_facts
from dirguard.services.console.roles import Role
from dirguard.services.errors import Problem, ServiceError
from dirguard.web.access import Viewer, browser_session
from dirguard.web.api.admin_actions import console_user
from dirguard.web.context import acting_runtime, web_context
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)

PENDING_SECONDS = 300.0


@dataclass(frozen=True)
class _Pending:
    request: ActionRequest
    session: str
    user: str
    expires: float


class PendingActions:
    """Previewed actions waiting for their confirmation (in memory, never stored)."""

    def __init__(self) -> None:
        self._items: dict[str, _Pending] = {}
        self._lock = threading.Lock()

    def put(self, request: ActionRequest, session: str, user: str) -> str:
        key = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            self._items = {k: v for k, v in self._items.items() if v.expires > now}
            self._items[key] = _Pending(request, session, user, now + PENDING_SECONDS)
        return key

    def take(self, key: str, session: str, user: str) -> ActionRequest:
        with self._lock:
            found = self._items.pop(key, None)
        if (
            found is None
            or found.expires < time.monotonic()
            or not secrets.compare_digest(found.session, session)
            or found.user != user
        ):
            raise ServiceError(
                "this preview has expired or belongs to another session: preview again",
                Problem.CONFLICT,
            )
        return found.request


def _pending(request: Request) -> PendingActions:
    state = request.app.state
    if not hasattr(state, "pending_actions"):
        state.pending_actions = PendingActions()
    pending = state.pending_actions
    assert isinstance(pending, PendingActions)
    return pending


def _sources(request: Request) -> list[str]:
    """Store keys (``ad:<domain>``, ``entra:<tenant>``) of the places web actions are on for."""
    from dirguard.catalog.permission_model import Service

    config = web_context(request).runtime.config
    return [f"ad:{d.name}" for d in config.ad.domains if d.admin_bind_upn is not None] + [
        f"entra:{t.name}" for t in config.entra.tenants if Service.ADMINISTRATOR in t.services
    ]


def _declared(key: str) -> AdminAction:
    declared = ACTIONS_BY_KEY.get(key)
    if declared is None:
        raise ServiceError(f"no web action {key!r}", Problem.NOT_FOUND)
    return declared


@router.get("/admin", response_class=HTMLResponse)
async def objects_page(
    request: Request, who: Viewer, source: str = "", kind: str = "user", q: str = ""
) -> Response:
    sources = _sources(request)
    chosen = source if source in sources else (sources[0] if sources else "")
    directory, _, name = chosen.partition(":")
    found: list[ListedObject] = []
    truncated, error = False, None
    if chosen and kind in ("user", "group", "device", "managed-device"):
        try:
            found, truncated = await run_in_threadpool(
                lambda: list_objects(
                    acting_runtime(request, who),
                    console_user(who),
                    name,
                    kind,
                    q[:256],
                    directory=directory,
                )
            )
        except ServiceError as failure:
            error = failure.message
    creatable = [a for a in ACTIONS_BY_KEY.values() if a.creates and a.directory == directory]
    facts, facts_error = None, None
    if directory == "entra":
        try:
            facts = await run_in_threadpool(
                lambda: tenant_facts(
                    acting_runtime(request, who),
                    console_user(who),
                    name,
                    console_admin=who.may(Role.ADMINISTRATOR),
                )
            )
        except ServiceError as failure:
            facts_error = failure.message
    return render(
        request,
        "admin/objects.html",
        sources=sources,
        source=chosen,
        name=name,
        kind=kind,
        q=q,
        objects=found,
        truncated=truncated,
        error=error,
        creatable=creatable,
        facts=facts,
        facts_error=facts_error,
        titles={key: a.title for key, a in ACTIONS_BY_KEY.items()},
    )


@router.get("/admin/act", response_class=HTMLResponse)
def action_form(request: Request, who: Viewer, action: str, source: str, target: str) -> Response:
    return render(
        request,
        "admin/action.html",
        action=_declared(action),
        source=source,
        target=target,
        values={},
        error=None,
    )


@router.post("/admin/act", response_class=HTMLResponse)
async def preview(request: Request, who: Viewer) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    declared = _declared(form.get("action", ""))
    source, target = form.get("source", ""), form.get("target", "")
    shown = {k: v for k, v in form.items() if "password" not in k and k != "csrf_token"}
    try:
        made = ActionRequest(
            action=declared.key,
            source=source,
            target=target,
            params=params_from_form(declared, form),
        )
        result = await run_in_threadpool(
            preview_action, acting_runtime(request, who), console_user(who), made
        )
    except ServiceError as failure:
        status = 403 if failure.problem is Problem.PERMISSION else 409
        return render(
            request,
            "admin/action.html",
            status_code=status,
            action=declared,
            source=source,
            target=target,
            values=shown,
            error=failure.message,
        )
    session = browser_session(request)
    key = _pending(request).put(made, session.id_hash if session else "", who.name)
    return render(
        request,
        "admin/preview.html",
        action=declared,
        preview=result,
        pending=key,
        source=source,
        confirm_name=declared.risk is Risk.DESTRUCTIVE,
        approval=acting_runtime(request, who).config.approvals.policy_for(declared.key),
    )


@router.post("/admin/act/confirm", response_class=HTMLResponse)
async def confirm(
    request: Request,
    who: Viewer,
    pending: Annotated[str, Form(max_length=64)],
    typed_name: Annotated[str, Form(max_length=1024)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    from dirguard.services.approvals.requests import submit

    session = browser_session(request)
    try:
        made = _pending(request).take(pending, session.id_hash if session else "", who.name)
        declared = _declared(made.action)
        if declared.risk is Risk.DESTRUCTIVE and typed_name.strip().casefold() != (
            made.target.strip().casefold()
        ):
            raise ServiceError(
                f"{declared.title} needs the object's name typed to confirm: {made.target}",
                Problem.CONFLICT,
            )
        done = await run_in_threadpool(
            submit, acting_runtime(request, who), console_user(who), made, reason or None
        )
    except ServiceError as failure:
        status = 403 if failure.problem is Problem.PERMISSION else 409
        return render(
            request, "admin/result.html", status_code=status, result=None, error=failure.message
        )
    if done.result is None:  # filed for approval
        filed = done.request or {}
        return RedirectResponse(f"/approvals/{filed.get('id')}", status_code=303)
    return render(request, "admin/result.html", result=done.result, error=None)
