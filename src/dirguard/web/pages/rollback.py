"""Pages: Overview (connections, health, consent), Rollback (new, plan preview, approve, apply
confirmation, live progress, report, list), Deleted objects, Audit and Permissions.

Buttons a role may not use are not shown, and the routes behind them refuse that role (403):
the page and the server check the same role. Live progress reads the API's server-sent events
(``static/rollback-progress.js``); without script the page reloads itself until the plan ends.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dirguard.services import console_views, deleted_objects
from dirguard.services.connection_health import connection_health
from dirguard.services.console.roles import Principal, Role
from dirguard.services.errors import ServiceError
from dirguard.services.rollback import review
from dirguard.services.rollback.plan_cases import make_plan
from dirguard.services.rollback.selection_input import plan_request
from dirguard.web.access import Approver, Operator, Viewer
from dirguard.web.api.rollback import apply_jobs
from dirguard.web.context import acting_runtime
from dirguard.web.pages.plan_rights import plan_rights
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)

FIELDS = ("kind", "event", "object", "at", "actor", "since", "until", "base_dn", "domain")


def _roles(who: Principal) -> dict[str, bool]:
    return {
        "may_plan": who.may(Role.OPERATOR),
        "may_apply": who.may(Role.APPROVER),
        "may_admin": who.may(Role.ADMINISTRATOR),
    }


def _see_other(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


async def _form(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.get("/overview", response_class=HTMLResponse)
def overview(request: Request, who: Viewer) -> HTMLResponse:
    health = connection_health(acting_runtime(request, who))
    return render(request, "rollback/overview.html", connections=health, **_roles(who))


@router.get("/rollback", response_class=HTMLResponse)
def plans(request: Request, who: Viewer) -> HTMLResponse:
    listed = review.list_plans(acting_runtime(request, who))
    return render(request, "rollback/list.html", plans=listed, **_roles(who))


@router.get("/rollback/new", response_class=HTMLResponse)
def new_plan(request: Request, who: Operator) -> HTMLResponse:
    given = {k: request.query_params.get(k, "") for k in FIELDS}
    given["kind"] = given["kind"] or "event"
    return render(request, "rollback/new.html", given=given, error=None, **_roles(who))


@router.post("/rollback/new", response_class=HTMLResponse)
async def create_plan(request: Request, who: Operator) -> Response:
    fields = await _form(request)
    runtime = acting_runtime(request, who)
    try:
        plan = await run_in_threadpool(make_plan, runtime, plan_request(fields))
    except ServiceError as error:
        given = {k: fields.get(k, "") for k in FIELDS}
        return render(
            request, "rollback/new.html", 400, given=given, error=str(error), **_roles(who)
        )
    return _see_other(f"/rollback/{plan.id}")


@router.get("/rollback/{plan_id}", response_class=HTMLResponse)
async def show_plan(request: Request, who: Viewer, plan_id: int) -> HTMLResponse:
    runtime = acting_runtime(request, who)
    shown = await run_in_threadpool(review.preview, runtime, plan_id)
    job = apply_jobs(request).get(plan_id)
    rights = plan_rights(runtime, shown.check)
    return render(request, "rollback/plan.html", p=shown, job=job, rights=rights, **_roles(who))


@router.post("/rollback/{plan_id}/approve", response_class=HTMLResponse)
async def approve(request: Request, who: Approver, plan_id: int) -> Response:
    note = (await _form(request)).get("note", "").strip() or None
    await run_in_threadpool(review.approve, acting_runtime(request, who), plan_id, note)
    return _see_other(f"/rollback/{plan_id}")


@router.get("/rollback/{plan_id}/apply", response_class=HTMLResponse)
async def confirm_apply(request: Request, who: Approver, plan_id: int) -> HTMLResponse:
    runtime = acting_runtime(request, who)
    shown = await run_in_threadpool(review.preview, runtime, plan_id)
    return render(request, "rollback/confirm.html", p=shown, **_roles(who))


@router.post("/rollback/{plan_id}/apply", response_class=HTMLResponse)
async def apply(request: Request, who: Approver, plan_id: int) -> Response:
    if (await _form(request)).get("confirm") != "yes":
        return _see_other(f"/rollback/{plan_id}/apply")
    apply_jobs(request).start(acting_runtime(request, who), plan_id)
    return _see_other(f"/rollback/{plan_id}/progress")


@router.get("/rollback/{plan_id}/progress", response_class=HTMLResponse)
def progress(request: Request, who: Viewer, plan_id: int) -> HTMLResponse:
    current = review.progress(acting_runtime(request, who), plan_id)
    job = apply_jobs(request).get(plan_id)
    running = job is not None and job.state == "running"
    return render(
        request,
        "rollback/progress.html",
        progress=current,
        job=job,
        live=running or not current.finished,
        **_roles(who),
    )


@router.get("/deleted", response_class=HTMLResponse)
def deleted(request: Request, who: Viewer) -> HTMLResponse:
    found = deleted_objects.list_deleted(acting_runtime(request, who))
    return render(request, "rollback/deleted.html", objects=found, result=None, **_roles(who))


@router.post("/deleted/{object_id}/undelete", response_class=HTMLResponse)
async def undelete(request: Request, who: Approver, object_id: int) -> Response:
    runtime = acting_runtime(request, who)
    to_ou = (await _form(request)).get("to", "").strip() or None
    applied = await run_in_threadpool(deleted_objects.undelete_object, runtime, object_id, to_ou)
    return _see_other(f"/rollback/{applied.plan.id}")


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, who: Viewer) -> HTMLResponse:
    actor = request.query_params.get("actor") or None
    action = request.query_params.get("action") or None
    entries = console_views.list_audit(acting_runtime(request, who), actor=actor, action=action)
    return render(
        request, "rollback/audit.html", entries=entries, actor=actor, action=action, **_roles(who)
    )


@router.get("/permissions", response_class=HTMLResponse)
def permissions(request: Request, who: Viewer) -> HTMLResponse:
    matrix = console_views.permission_matrix(acting_runtime(request, who))
    return render(request, "rollback/permissions.html", connections=matrix, **_roles(who))
