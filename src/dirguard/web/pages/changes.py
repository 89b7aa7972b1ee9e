"""The Changes page: the timeline across directories with its filter form, include/exclude
links on every row value (made in the browser from each value's data attributes), saved
searches, newer/older pages by keyset, and new rows arriving live (server-sent events of rendered
rows, read by ``static/changes-live.js``)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from functools import cache
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Query
from jinja2 import Template
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from dirguard.services import console_history
from dirguard.services.change_filter import FIELD_HELP, FIELDS, ChangeFilter, FilterError
from dirguard.services.change_search import ChangeRow
from dirguard.web.access import Viewer
from dirguard.web.api.changes import After, Hold, live_rows, sse_event, start_after
from dirguard.web.context import acting_runtime
from dirguard.web.templating import render, templates

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
LABELS = {
    "directory": "Directory",
    "object": "Object",
    "type": "Type",
    "attribute": "Attribute",
    "actor": "Actor",
    "address": "Source address",
    "op": "Operation",
}


def query(change_filter: ChangeFilter, **extra: str | int | None) -> str:
    """The filter (and ``extra`` parameters) as a query string."""
    params = change_filter.params() + [(k, str(v)) for k, v in extra.items() if v is not None]
    return urlencode(params)


def row_values(row: ChangeRow) -> dict[str, str | None]:
    """Each filter field's value on a row (what its include/exclude links add)."""
    v = row.view
    return {
        "directory": v.source,
        "object": str(row.object_id),
        "type": v.object["type"],
        "attribute": v.attribute,
        "actor": v.actor or "(unknown)",
        "address": v.actor_address,
        "op": v.op,
    }


def shown_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        text = "0x" + value.hex()
    elif isinstance(value, str):
        text = value
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = "; ".join(value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 160 else text[:157] + "…"


def ace_lines(details: object) -> list[str]:
    """A security descriptor change's stored difference as readable lines."""
    if not isinstance(details, dict):
        return []
    lines = []
    for label in ("owner", "group", "dacl_flags", "sacl_flags"):
        pair = details.get(label)
        if isinstance(pair, dict):
            lines.append(f"{label}: {pair.get('old') or '-'} -> {pair.get('new') or '-'}")
    for kind, sign in (("added", "+"), ("removed", "-"), ("moved", "~")):
        for ace in details.get(f"aces_{kind}") or ():
            if isinstance(ace, dict):
                lines.append(f"{ace.get('acl')} {sign} {ace.get('ace')}")
    return lines


templates.env.globals["shown_value"] = shown_value
templates.env.globals["ace_lines"] = ace_lines


@cache
def _row_template() -> Template:
    return templates.get_template("changes/row.html")


def render_row(row: ChangeRow) -> str:
    """One timeline row. Each filter value is a ``data-f``/``data-v`` span: ``static/dirguard.js``
    gives it its include (+) and exclude (−) links from the table's ``data-pick-base`` filter, so
    the server escapes each value once instead of building ~700 links per page."""
    return _row_template().render(row=row, values=row_values(row))


@router.get("/changes", response_class=HTMLResponse)
def changes_page(
    request: Request,
    who: Viewer,
    cursor: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    runtime = acting_runtime(request, who)
    error: FilterError | None = None
    try:
        wanted = ChangeFilter.from_params(request.query_params.multi_items())
        page = console_history.find_changes(runtime, wanted, cursor=cursor, limit=PAGE_SIZE)
    except FilterError as bad:
        error, wanted = bad, ChangeFilter()
        page = console_history.find_changes(runtime, wanted, limit=PAGE_SIZE)
    latest = console_history.latest_event(runtime)
    rows = [render_row(r) for r in page.rows]
    return render(
        request,
        "changes/list.html",
        status_code=422 if error else 200,
        error=error,
        filter=wanted,
        page=page,
        rows=rows,
        fields=FIELDS,
        labels=LABELS,
        help=FIELD_HELP,
        query=query,
        first_page=cursor is None,
        live_url=f"/changes/live?{query(wanted, after=latest)}" if cursor is None else None,
        export_query=query(wanted),
        searches=console_history.list_searches(runtime, who.name),
        raw_params=request.query_params.multi_items(),
    )


@router.get("/changes/live")
def changes_live(request: Request, who: Viewer, after: After, hold: Hold = 30) -> Response:
    """Rendered rows of new matching changes, as server-sent events (``row``)."""
    runtime = acting_runtime(request, who)
    try:
        wanted = ChangeFilter.from_params(request.query_params.multi_items())
    except FilterError as error:
        return Response(str(error), status_code=422, media_type="text/plain")

    async def events() -> AsyncIterator[str]:
        yield "retry: 2000\n\n"
        async for rows in live_rows(request, runtime, wanted, start_after(request, after), hold):
            for r in rows:
                yield sse_event(r.event_id, "row", render_row(r))

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


@router.post("/changes/searches")
def save_search(
    request: Request,
    who: Viewer,
    name: Annotated[str, Form()],
    filter_query: Annotated[str, Form()] = "",
    shared: Annotated[bool, Form()] = False,
) -> Response:
    runtime = acting_runtime(request, who)
    try:
        wanted = ChangeFilter.from_params(parse_qsl(filter_query))
    except FilterError as error:
        return Response(str(error), status_code=422, media_type="text/plain")
    console_history.save_search(runtime, who.name, name, wanted, shared=shared)
    return RedirectResponse(f"/changes?{query(wanted)}", status_code=303)


@router.post("/changes/searches/{search_id}/delete")
def delete_search(request: Request, who: Viewer, search_id: int) -> Response:
    console_history.delete_search(acting_runtime(request, who), who.name, search_id)
    return RedirectResponse("/changes", status_code=303)
