"""``/api/v1``: connections and their consent, rollback plans (create from a selection, list,
show, approve, apply, follow its progress as server-sent events), deleted objects and their
undelete, dirguard's audit log and the permission manifest against each connection.

Viewers read; operators plan; approvers approve, apply and undelete; administrators re-run the
consent check. Every answer comes from a service the CLI calls too.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from dirguard.services import console_views, deleted_objects
from dirguard.services.connection_health import connection_health
from dirguard.services.consent_state import check_and_record, current_states
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rollback import review
from dirguard.services.rollback.apply_jobs import ApplyJobs
from dirguard.services.rollback.plan_cases import make_plan
from dirguard.services.rollback.selection_input import SelectionError, plan_request
from dirguard.web.access import Administrator, Approver, Operator, Viewer
from dirguard.web.context import acting_runtime
from dirguard.web.problems import problem

router = APIRouter()

PROGRESS_POLL_S = 0.5
"""How often the progress stream reads the plan's steps from the store."""
JsonBody = Annotated[dict[str, Any], Body(default_factory=dict)]
Limit = Annotated[int, Query(ge=1, le=1000)]


def apply_jobs(request: Request) -> ApplyJobs:
    """The background applies of this app (one registry per app)."""
    state = request.app.state
    jobs = getattr(state, "apply_jobs", None)
    if jobs is None:
        jobs = state.apply_jobs = ApplyJobs()
    assert isinstance(jobs, ApplyJobs)
    return jobs


@router.get("/connections")
def connections(request: Request, who: Viewer) -> list[dict[str, Any]]:
    """Each configured connection's health: monitor, last pass, lag, errors, consent."""
    return [h.as_dict() for h in connection_health(acting_runtime(request, who))]


@router.get("/consent")
def consent(request: Request, who: Viewer) -> list[dict[str, Any]]:
    """The newest consent check of each configured connection."""
    return [s.as_dict() for s in current_states(acting_runtime(request, who))]


@router.post("/consent/check")
async def consent_check(request: Request, who: Administrator) -> list[dict[str, Any]]:
    """Check every connection's consent now and record it (reads the directories only)."""
    runtime = acting_runtime(request, who)
    return [s.as_dict() for s in await run_in_threadpool(check_and_record, runtime)]


@router.get("/plans")
def list_plans(
    request: Request, who: Viewer, limit: Limit = 50, before: int | None = None
) -> list[dict[str, Any]]:
    """Stored plans, newest first (``before``: an id, for the next page)."""
    plans = review.list_plans(acting_runtime(request, who), limit=min(limit, 500), before=before)
    return [p.as_dict() for p in plans]


@router.post("/plans", status_code=201, response_model=None)
async def create_plan(
    request: Request, who: Operator, body: JsonBody
) -> dict[str, Any] | JSONResponse:
    """Plan a rollback: ``{"kind": "event", "event": 12}``, ``{"kind": "object", "object": ...,
    "at": ...}``, ``{"kind": "actor", "actor": ..., "since": ..., "until"?: ...}`` or
    ``{"kind": "subtree", "base_dn": ..., "since": ...}``; nothing is written to the directory."""
    runtime = acting_runtime(request, who)
    try:
        plan = await run_in_threadpool(make_plan, runtime, plan_request(body))
    except SelectionError as error:
        return problem(422, str(error), kind="invalid-selection", field=error.field)
    except ServiceError as error:
        if error.problem is not Problem.FAILURE:
            raise
        return problem(422, str(error), kind="cannot-plan")  # the selection names nothing
    return (await run_in_threadpool(review.preview, runtime, plan.id)).as_dict()


@router.get("/plans/{plan_id}")
async def show_plan(request: Request, who: Viewer, plan_id: int) -> dict[str, Any]:
    """The plan with its steps, conflicts, what cannot be restored, the rights or elevation
    applying needs, approvals; once applied, each step's verified outcome (the report)."""
    runtime = acting_runtime(request, who)
    return (await run_in_threadpool(review.preview, runtime, plan_id)).as_dict()


@router.post("/plans/{plan_id}/approve")
def approve_plan(request: Request, who: Approver, plan_id: int, body: JsonBody) -> dict[str, Any]:
    """Approve a plan someone else made (four-eyes)."""
    note = str(body.get("note") or "").strip() or None
    return review.approve(acting_runtime(request, who), plan_id, note).as_dict()


@router.post("/plans/{plan_id}/apply", status_code=202)
def apply_plan(request: Request, who: Approver, plan_id: int) -> dict[str, Any]:
    """Start applying the plan; follow ``/plans/{plan_id}/progress``."""
    return apply_jobs(request).start(acting_runtime(request, who), plan_id).as_dict()


def _event(data: dict[str, Any], name: str) -> str:
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n"


@router.get("/plans/{plan_id}/progress")
def plan_progress(request: Request, who: Viewer, plan_id: int) -> StreamingResponse:
    """Server-sent events: a ``progress`` event whenever a step's status changes, ``done`` with
    the plan's final state (``failed`` with the error when the apply could not start)."""
    runtime = acting_runtime(request, who)
    first = review.progress(runtime, plan_id)  # 404 before the stream starts
    jobs = apply_jobs(request)

    async def stream() -> AsyncIterator[str]:
        seen: Any = None
        current = first
        while True:
            shown = current.as_dict()
            if shown != seen:
                seen = shown
                yield _event(shown, "progress")
            job = jobs.get(plan_id)
            if job is not None and job.state == "failed":
                yield _event({**shown, "error": job.error}, "done")
                return
            if current.finished and (job is None or job.state != "running"):
                yield _event(shown, "done")
                return
            if await request.is_disconnected():
                return
            await asyncio.sleep(PROGRESS_POLL_S)
            current = await run_in_threadpool(review.progress, runtime, plan_id)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)


@router.get("/deleted")
def list_deleted(
    request: Request, who: Viewer, limit: Limit = 100, before: int | None = None
) -> list[dict[str, Any]]:
    """Deleted objects, most recently deleted first, with who deleted them."""
    found = deleted_objects.list_deleted(acting_runtime(request, who), limit=limit, before=before)
    return [d.as_dict() for d in found]


@router.post("/deleted/{object_id}/undelete")
async def undelete(
    request: Request, who: Approver, object_id: int, body: JsonBody
) -> dict[str, Any]:
    """Bring the object back with its attributes and group memberships (verified)."""
    runtime = acting_runtime(request, who)
    to_ou = str(body.get("to") or "").strip() or None
    applied = await run_in_threadpool(deleted_objects.undelete_object, runtime, object_id, to_ou)
    return applied.as_dict()


@router.get("/audit")
def audit(
    request: Request,
    who: Viewer,
    actor: str | None = None,
    action: str | None = None,
    limit: Limit = 100,
    before: int | None = None,
) -> list[dict[str, Any]]:
    """What dirguard itself did and for whom, newest first."""
    found = console_views.list_audit(
        acting_runtime(request, who), actor=actor, action=action, limit=limit, before=before
    )
    return [e.as_dict() for e in found]


@router.get("/permissions")
def permissions(request: Request, who: Viewer) -> list[dict[str, Any]]:
    """The manifest per service and mode against what each connection holds."""
    return [c.as_dict() for c in console_views.permission_matrix(acting_runtime(request, who))]
