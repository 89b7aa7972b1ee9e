"""The Object page (current state, links by name, timeline, the compare-two-moments picker and
the "restore to this moment" link into the rollback flow), one object's two moments side by
side, and the Compare page: a directory, an OU subtree or one object at two moments, or a
moment against the live directory."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import HTMLResponse

from dirguard.services import console_history
from dirguard.services.change_filter import FilterError, parse_moment
from dirguard.services.compare import CompareRequest, compare, directory_choice
from dirguard.services.errors import ServiceError
from dirguard.web.access import Viewer
from dirguard.web.context import acting_runtime
from dirguard.web.pages.changes import render_row
from dirguard.web.templating import render

router = APIRouter(include_in_schema=False)

Text = Annotated[str | None, Query()]


def _moment(name: str, text: str | None) -> str | None:
    return None if not text or not text.strip() else parse_moment(name, text).isoformat()


@router.get("/objects/{object_id}", response_class=HTMLResponse)
def object_page(
    request: Request, who: Viewer, object_id: int, cursor: Text = None, at: Text = None
) -> HTMLResponse:
    runtime = acting_runtime(request, who)
    error = None
    try:
        when = parse_moment("at", at) if at else None
    except FilterError as bad:
        error, when = bad, None
    view = console_history.object_page(
        runtime, object_id, when, history_cursor=cursor, history_limit=25
    )
    onedrive = None
    from dirguard.services.reports.onedrive import holds_onedrive, onedrive_of

    if holds_onedrive(view.object.resource_type) and not view.object.deleted:
        onedrive = onedrive_of(runtime, view.object.source, view.object.external_id)
    return render(
        request,
        "objects/view.html",
        status_code=422 if error else 200,
        error=error,
        view=view,
        object_id=object_id,
        rows=[render_row(r) for r in view.history.rows],
        at=at,
        now=runtime.clock().strftime("%Y-%m-%dT%H:%M:%S"),
        onedrive=onedrive,
    )


@router.get("/objects/{object_id}/compare", response_class=HTMLResponse)
def object_compare_page(
    request: Request,
    who: Viewer,
    object_id: int,
    from_: Annotated[str, Query(alias="from")],
    to: Text = None,
) -> HTMLResponse:
    runtime = acting_runtime(request, who)
    try:
        before = parse_moment("from", from_)
        after = parse_moment("to", to) if to else runtime.clock()
    except FilterError as error:
        return render(request, "error.html", status_code=422, status=422,
                      title="Unprocessable moment", detail=str(error))  # fmt: skip
    found = console_history.object_moments(runtime, object_id, before, after)
    changed_only = request.query_params.get("all") != "1"
    return render(
        request,
        "objects/compare.html",
        found=found,
        object_id=object_id,
        rows=[r for r in found.rows if r.changed or not changed_only],
        changed_only=changed_only,
        from_text=from_,
        to_text=to or "",
    )


@router.get("/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    who: Viewer,
    from_: Annotated[str | None, Query(alias="from")] = None,
    to: Text = None,
    live: Annotated[bool, Query()] = False,
    directory: Text = None,
    under: Text = None,
    object: Text = None,
    after_object: Annotated[int | None, Query()] = None,
) -> HTMLResponse:
    runtime = acting_runtime(request, who)
    report, error = None, None
    if from_:
        try:
            since = parse_moment("from", from_)
            until = parse_moment("to", to) if to and not live else None
            if not live and until is None:
                raise FilterError("to", "give the later moment, or tick 'the live directory'")
            report = compare(
                runtime,
                CompareRequest(
                    since=since,
                    until=until,
                    live=live,
                    **directory_choice(directory),
                    under=under or None,
                    object=object or None,
                    after_object=after_object,
                    page_objects=None if live else 1000,
                ),
            )
        except (FilterError, ServiceError) as bad:
            error = bad
    params = request.query_params.multi_items()
    return render(
        request,
        "objects/directory_compare.html",
        status_code=422 if isinstance(error, FilterError) else 200,
        report=report,
        error=error,
        values={k: v for k, v in params},
        next_query=urlencode([(k, v) for k, v in params if k != "after_object"]),
        directories=[f"ad:{d.name}" for d in runtime.config.ad.domains]
        + [f"entra:{t.name}" for t in runtime.config.entra.tenants],
    )
