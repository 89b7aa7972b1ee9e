"""The rules pages: the list (with a TOML import form), one rule (its file, versions, recent
runs, dry-run and run buttons, export), a run's result (counts and each object's changes).

Roles as the API's (:mod:`dirguard.web.api.rules`): viewers and up read; console
administrators import, dry-run and run.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dirguard.services.console.roles import Role
from dirguard.services.errors import Problem, ServiceError
from dirguard.services.rules.engine import run_rule
from dirguard.services.rules.rule_store import (
    export_rule,
    get_rule,
    import_rule,
    list_rules,
    rule_versions,
)
from dirguard.services.rules.run_report import run_details, run_history
from dirguard.services.runtime import Runtime
from dirguard.web.access import Administrator, Viewer
from dirguard.web.context import acting_runtime
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)


def _rule_view(runtime: Runtime, name: str) -> dict[str, Any]:
    return {
        "saved": get_rule(runtime, name),
        "versions": rule_versions(runtime, name),
        "toml": export_rule(runtime, name),
        "runs": run_history(runtime, name, limit=20),
    }


@router.get("/rules", response_class=HTMLResponse)
async def rules_page(request: Request, who: Viewer) -> HTMLResponse:
    runtime = acting_runtime(request, who)
    saved = await run_in_threadpool(list_rules, runtime)
    can_edit = who.role >= Role.ADMINISTRATOR
    return render(request, "rules/list.html", rules=saved, can_edit=can_edit, error=None, text="")


@router.post("/rules/import", response_class=HTMLResponse)
async def import_page(
    request: Request, who: Administrator, toml: Annotated[str, Form(max_length=200_000)]
) -> Response:
    runtime = acting_runtime(request, who)
    try:
        saved = await run_in_threadpool(import_rule, runtime, toml, origin="console import")
    except ServiceError as failure:
        found = await run_in_threadpool(list_rules, runtime)
        return render(
            request,
            "rules/list.html",
            status_code=422 if failure.problem is Problem.CONFLICT else 409,
            rules=found,
            can_edit=True,
            error=failure.message,
            text=toml,
        )
    return RedirectResponse(f"/rules/{saved.rule.name}", status_code=303)


@router.get("/rules/{name}", response_class=HTMLResponse)
async def rule_page(request: Request, who: Viewer, name: str) -> HTMLResponse:
    runtime = acting_runtime(request, who)
    view = await run_in_threadpool(_rule_view, runtime, name)
    can_run = who.role >= Role.ADMINISTRATOR
    return render(request, "rules/rule.html", can_run=can_run, error=None, **view)


@router.get("/rules/{name}/export")
async def export_page(request: Request, who: Viewer, name: str) -> Response:
    runtime = acting_runtime(request, who)
    text = await run_in_threadpool(export_rule, runtime, name)
    return Response(
        text,
        media_type="application/toml",
        headers={"Content-Disposition": f'attachment; filename="{name}.toml"'},
    )


async def _run(request: Request, who: Administrator, name: str, dry_run: bool) -> Response:
    runtime = acting_runtime(request, who)
    try:
        report = await run_in_threadpool(
            lambda: run_rule(runtime, name, dry_run=dry_run, started_by=who.name)
        )
    except ServiceError as failure:
        if failure.problem is Problem.NOT_FOUND:
            raise
        view = await run_in_threadpool(_rule_view, runtime, name)
        return render(
            request, "rules/rule.html", status_code=409, can_run=True, error=failure.message, **view
        )
    return render(request, "rules/run.html", report=report)


@router.post("/rules/{name}/dry-run", response_class=HTMLResponse)
async def dry_run_page(request: Request, who: Administrator, name: str) -> Response:
    return await _run(request, who, name, dry_run=True)


@router.post("/rules/{name}/run", response_class=HTMLResponse)
async def run_page(request: Request, who: Administrator, name: str) -> Response:
    return await _run(request, who, name, dry_run=False)


@router.get("/rule-runs/{run_id}", response_class=HTMLResponse)
async def run_result_page(request: Request, who: Viewer, run_id: int) -> HTMLResponse:
    runtime = acting_runtime(request, who)
    report = await run_in_threadpool(run_details, runtime, run_id)
    return render(request, "rules/run.html", report=report)
