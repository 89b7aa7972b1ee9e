"""``/api/v1/rules``: desired-state rules — list, show with versions, TOML export and import,
dry run, run, run history with per-object results, delete.

Who may do what (decided on the server for every call): a rule runs as dirguard's service
identity, beyond any delegated scope, so changing one (import, delete) or running one — a dry
run included, which reads the directories with that identity and is kept in the history — is
for **console administrators**; reading rules and their history (what the automation did to
which object) is for every signed-in role from **viewer** up, as the change history is, so
auditors can follow the automation without being able to change it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from dirguard.services.rules.engine import run_rule
from dirguard.services.rules.rule_store import (
    delete_rule,
    export_rule,
    get_rule,
    import_rule,
    list_rules,
    rule_versions,
)
from dirguard.services.rules.run_report import run_details, run_history
from dirguard.web.access import Administrator, Viewer
from dirguard.web.context import acting_runtime

router = APIRouter()
TOML_TYPE = "application/toml"
Limit = Annotated[int, Query(ge=1, le=500, description="At most this many runs, newest first")]


@router.get("/rules", summary="Every rule (version, enabled, schedule, trigger, scope)")
async def rules(request: Request, who: Viewer) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    saved = await run_in_threadpool(list_rules, runtime)
    return {"rules": [s.as_dict() for s in saved]}


@router.get("/rules/{name}", summary="One rule with its versions and its TOML file")
async def rule(request: Request, who: Viewer, name: str) -> dict[str, Any]:
    runtime = acting_runtime(request, who)

    def read() -> dict[str, Any]:
        saved = get_rule(runtime, name)
        return {
            **saved.as_dict(),
            "versions": rule_versions(runtime, name),
            "toml": export_rule(runtime, name),
        }

    return await run_in_threadpool(read)


@router.get(
    "/rules/{name}/export",
    summary="The rule as its TOML file (to keep in git)",
    response_class=Response,
    responses={200: {"content": {TOML_TYPE: {}}}},
)
async def export(request: Request, who: Viewer, name: str) -> Response:
    runtime = acting_runtime(request, who)
    text = await run_in_threadpool(export_rule, runtime, name)
    return Response(
        text,
        media_type=TOML_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{name}.toml"'},
    )


@router.post("/rules/import", summary="Save the rule of a TOML file (a new version if it differs)")
async def import_file(
    request: Request,
    who: Administrator,
    text: Annotated[str, Body(media_type=TOML_TYPE, max_length=200_000)],
) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    saved = await run_in_threadpool(import_rule, runtime, text, origin="API import")
    return saved.as_dict()


@router.delete("/rules/{name}", summary="Delete a rule (its run history stays)", status_code=204)
async def delete(request: Request, who: Administrator, name: str) -> Response:
    runtime = acting_runtime(request, who)
    await run_in_threadpool(delete_rule, runtime, name)
    return Response(status_code=204)


@router.post("/rules/{name}/dry-run", summary="What the rule would change, object by object")
async def dry_run(request: Request, who: Administrator, name: str) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    report = await run_in_threadpool(
        lambda: run_rule(runtime, name, dry_run=True, started_by=who.name)
    )
    return report.as_dict()


@router.post("/rules/{name}/run", summary="Run the rule now (its changes, audited)")
async def run(request: Request, who: Administrator, name: str) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    report = await run_in_threadpool(
        lambda: run_rule(runtime, name, dry_run=False, started_by=who.name)
    )
    return report.as_dict()


@router.get("/rules/{name}/runs", summary="The rule's runs, newest first (without objects)")
async def runs(request: Request, who: Viewer, name: str, limit: Limit = 50) -> dict[str, Any]:
    runtime = acting_runtime(request, who)

    def read() -> list[dict[str, Any]]:
        get_rule(runtime, name)  # an unknown rule: 404, not an empty history
        return run_history(runtime, name, limit=limit)

    return {"runs": await run_in_threadpool(read)}


@router.get("/rule-runs/{run_id}", summary="One run with its per-object results")
async def one_run(request: Request, who: Viewer, run_id: int) -> dict[str, Any]:
    runtime = acting_runtime(request, who)
    report = await run_in_threadpool(run_details, runtime, run_id)
    return report.as_dict()
